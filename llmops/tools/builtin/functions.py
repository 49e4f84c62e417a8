"""Implementations of the builtin tools (``providers.yaml``'s ``function`` names).

Each takes ``(inputs, params, context)`` — what the model filled, what the app author set, and
the run's ``ToolContext`` — and returns the observation text. Raising ``ToolError`` (or any
exception) makes the error the observation; the agent goes on.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import math
import uuid
from html.parser import HTMLParser
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import simpleeval
from flask import current_app

from llmops.tools import http
from llmops.tools.runtime import ToolContext, ToolError

MAX_EXPRESSION_CHARS = 500
MAX_POWER = 10_000


def current_time(inputs: dict, params: dict, context: ToolContext) -> str:
    """``{timezone?}`` → ``2026-12-01T16:30:00+08:00 (Tuesday, Asia/Shanghai)``."""
    name = (inputs.get("timezone") or params.get("default_timezone") or "UTC").strip()
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolError(f"unknown timezone {name!r}: use an IANA name such as Europe/Paris") from exc
    now = dt.datetime.now(zone).replace(microsecond=0)
    return f"{now.isoformat()} ({now.strftime('%A')}, {name})"


def _safe_power(a, b):
    if abs(b) > MAX_POWER or (abs(a) > 1 and abs(b) * math.log10(abs(a)) > 300):
        raise ToolError("the power is too large")
    return a ** b


def calculator(inputs: dict, params: dict, context: ToolContext) -> str:
    """``{expression}`` evaluated by ``simpleeval`` (numbers, + - * / // % **, parentheses and a
    few math functions; no names, attributes or calls beyond those) → the number."""
    expression = str(inputs.get("expression") or "").strip()
    if not expression:
        raise ToolError("give an expression")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    expression = expression.replace("^", "**").replace("×", "*").replace("÷", "/")
    functions = {name: getattr(math, name) for name in ("sqrt", "sin", "cos", "tan", "log", "log10", "exp", "floor",
                                                         "ceil", "factorial")}
    functions.update({"abs": abs, "round": round, "min": min, "max": max})
    operators = dict(simpleeval.DEFAULT_OPERATORS)
    operators[ast.Pow] = _safe_power
    evaluator = simpleeval.SimpleEval(operators=operators, functions=functions,
                                      names={"pi": math.pi, "e": math.e})
    try:
        value = evaluator.eval(expression)
    except ToolError:
        raise
    except ZeroDivisionError as exc:
        raise ToolError("division by zero") from exc
    except (simpleeval.InvalidExpression, SyntaxError, TypeError, ValueError, OverflowError) as exc:
        raise ToolError(f"not a valid arithmetic expression: {exc}") from exc
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError("the expression is not a number")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return str(round(value, 12) if isinstance(value, float) else value)


def dataset_retrieval(inputs: dict, params: dict, context: ToolContext) -> str:
    """``{query}`` searched in the app's knowledge bases (its retrieval settings; ``k`` param)."""
    from llmops.services.knowledge import retrieval_service  # services import tools, not the reverse at load time

    query = str(inputs.get("query") or "").strip()
    if not query:
        raise ToolError("give a query")
    if not context.dataset_ids:
        return "The app has no knowledge base bound: nothing to search."
    settings = {"retrieval_strategy": "semantic", "k": 4, "score": 0.0, **(context.retrieval_config or {})}
    k = int(params.get("k") or settings["k"])
    records = retrieval_service.retrieve(context.account_id, [uuid.UUID(str(d)) for d in context.dataset_ids],
                                         query[:200], settings["retrieval_strategy"], max(1, min(k, 10)),
                                         float(settings["score"]), source="app", app_id=context.app_id, log=False)
    context.records.extend(records)
    if not records:
        return "No passage of the knowledge bases matches the query."
    return "\n\n".join(f"[{r['document_name']}] {r['content']}" for r in records)


def url_fetch(inputs: dict, params: dict, context: ToolContext) -> str:
    """``{url}`` read when its host is in the ``allowed_hosts`` param (and public); HTML → text."""
    url = str(inputs.get("url") or "").strip()
    hosts = [h.strip() for h in str(params.get("allowed_hosts") or "").split(",") if h.strip()]
    if not hosts:
        raise ToolError("no host is allowed: set the tool's allowed_hosts")
    config = current_app.config
    result = http.request("GET", url, timeout_s=config["TOOL_HTTP_TIMEOUT_S"],
                          max_bytes=config["TOOL_MAX_RESPONSE_BYTES"], allow_private=config["API_TOOLS_ALLOW_PRIVATE"],
                          allowed_hosts=hosts)
    if result.status >= 400:
        raise ToolError(f"the URL answered HTTP {result.status}")
    text = result.text
    if "html" in result.content_type:
        text = _html_text(text)
    return text


class _TextParser(HTMLParser):
    """Collects an HTML page's text outside ``script``/``style``/``noscript``."""

    SKIP = ("script", "style", "noscript")

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def _html_text(html: str) -> str:
    """The readable text of an HTML page, one text node per line."""
    parser = _TextParser()
    parser.feed(html)
    return "\n".join(parser.parts)


def _service(method: str, url: str, **kwargs) -> dict:
    """A call to an internet service the operator configured (trusted URL: no address check)."""
    config = current_app.config
    try:
        response = httpx.request(method, url, timeout=config["TOOL_HTTP_TIMEOUT_S"], trust_env=False, **kwargs)
    except httpx.HTTPError as exc:
        raise ToolError(f"the service could not be reached ({exc.__class__.__name__})") from exc
    if len(response.content) > config["TOOL_MAX_RESPONSE_BYTES"]:
        raise ToolError("the service's answer is too large")
    if response.status_code >= 400:
        raise ToolError(f"the service answered HTTP {response.status_code}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError as exc:
        raise ToolError("the service did not answer JSON") from exc


def google_serper(inputs: dict, params: dict, context: ToolContext) -> str:
    """``{query}`` → the top results of ``POST {SERPER_BASE_URL}/search`` (``X-API-KEY``)."""
    config = current_app.config
    data = _service("POST", f"{config['SERPER_BASE_URL'].rstrip('/')}/search",
                    headers={"X-API-KEY": config["SERPER_API_KEY"]}, json={"q": str(inputs.get("query") or "")})
    lines = []
    if isinstance(data.get("answerBox"), dict):
        box = data["answerBox"]
        lines.append(str(box.get("answer") or box.get("snippet") or ""))
    for item in (data.get("organic") or [])[:5]:
        lines.append(f"{item.get('title', '')} — {item.get('link', '')}\n{item.get('snippet', '')}")
    return "\n\n".join(line for line in lines if line) or "No result."


def current_weather(inputs: dict, params: dict, context: ToolContext) -> str:
    """``{city}`` → ``GET {OPENWEATHER_BASE_URL}/data/2.5/weather?q=&appid=&units=metric``."""
    config = current_app.config
    data = _service("GET", f"{config['OPENWEATHER_BASE_URL'].rstrip('/')}/data/2.5/weather",
                    params={"q": str(inputs.get("city") or ""), "appid": config["OPENWEATHER_API_KEY"],
                            "units": "metric"})
    main, wind = data.get("main") or {}, data.get("wind") or {}
    conditions = ", ".join(w.get("description", "") for w in data.get("weather") or [])
    return json.dumps({"city": data.get("name"), "conditions": conditions, "temperature_c": main.get("temp"),
                       "feels_like_c": main.get("feels_like"), "humidity_percent": main.get("humidity"),
                       "wind_m_s": wind.get("speed")}, ensure_ascii=False)


def dalle3(inputs: dict, params: dict, context: ToolContext) -> str:
    """``{prompt}`` → ``POST {IMAGE_GENERATION_BASE_URL}/images/generations`` → the image URL."""
    config = current_app.config
    data = _service("POST", f"{config['IMAGE_GENERATION_BASE_URL'].rstrip('/')}/images/generations",
                    headers={"Authorization": f"Bearer {config['IMAGE_GENERATION_API_KEY']}"},
                    json={"model": "dall-e-3", "prompt": str(inputs.get("prompt") or ""), "n": 1,
                          "size": params.get("size") or "1024x1024", "style": params.get("style") or "vivid"})
    images = data.get("data") or []
    if not images or not images[0].get("url"):
        raise ToolError("the service returned no image")
    return images[0]["url"]
