"""Builtin tools (course 2.1–2.4) and the tools an app binds (draft ``tools``, course 1.7/1.8):
checking them on save, showing them in the course's shape, and binding them for an agent run.

An app's tool reference is ``{type: builtin_tool|api_tool, provider_id, tool_id, params}``:
builtin tools are named (provider name, tool name; ``params`` checked against the tool's
declared params), API tools by the account's provider id and tool id (or operation name).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from flask import current_app

from llmops.errors import NotFoundError, ValidateError
from llmops.services.studio import api_tool_service
from llmops.tools.builtin import catalog
from llmops.tools.openapi import inputs_of
from llmops.tools.runtime import BoundTool, ToolContext

FUNCTION_NAME = re.compile(r"[^A-Za-z0-9_-]")


def list_categories() -> list[dict]:
    """Course 2.1."""
    return catalog.categories()


def list_builtin_tools() -> list[dict]:
    """Course 2.2: providers whose required settings are set (the others are hidden)."""
    return catalog.providers(current_app.config)


def get_builtin_tool(provider: str, tool: str) -> dict:
    """Course 2.3 (``NotFoundError`` for an unknown or hidden provider/tool)."""
    detail = catalog.tool_detail(provider, tool, current_app.config)
    if detail is None:
        raise NotFoundError("builtin tool not found")
    return detail


def builtin_icon(provider: str) -> tuple[Path, str]:
    """Course 2.4: (file, content type) of the provider's icon."""
    found = catalog.icon(provider)
    if found is None:
        raise NotFoundError("builtin tool provider not found")
    return found


def check_app_tools(account_id: uuid.UUID, refs: list[dict], field: str = "tools") -> list[dict]:
    """The draft's ``tools`` checked → the references to store (builtin params with defaults).
    ``ValidateError`` names the bad entry (``tools[i].tool_id``, ``tools[i].params.size``, ...):
    an unknown or hidden builtin tool, another account's or a deleted API tool, bad params, a
    duplicate, or more than ``AGENT_MAX_TOOLS``."""
    maximum = current_app.config["AGENT_MAX_TOOLS"]
    if len(refs) > maximum:
        raise ValidateError(f"{field}: at most {maximum} tools", data={field: [f"at most {maximum} tools"]})
    problems: dict[str, list[str]] = {}
    stored, seen = [], set()
    for i, ref in enumerate(refs):
        where = f"{field}[{i}]"
        kind, provider_id, tool_id = ref["type"], str(ref["provider_id"]), str(ref["tool_id"])
        params = ref.get("params") or {}
        if kind == "builtin_tool":
            found = catalog.find(provider_id, tool_id, current_app.config)
            if found is None:
                problems[f"{where}.tool_id"] = [f"unknown builtin tool {provider_id}/{tool_id}"]
                continue
            bad = catalog.check_params(found[1], params)
            for name, message in bad.items():
                problems[f"{where}.params.{name}"] = [message]
            params = catalog.effective_params(found[1], params)
        else:
            found_api = api_tool_service.find_tool(account_id, provider_id, tool_id)
            if found_api is None:
                problems[f"{where}.tool_id"] = [f"unknown API tool {provider_id}/{tool_id}"]
                continue
            tool_id, params = str(found_api[1].id), {}
        key = (kind, provider_id, tool_id)
        if key in seen:
            problems[f"{where}.tool_id"] = ["the tool is bound twice"]
        seen.add(key)
        stored.append({"type": kind, "provider_id": provider_id, "tool_id": tool_id, "params": params})
    if problems:
        first = next(iter(problems))
        raise ValidateError(f"{first}: {problems[first][0]}", data=problems)
    return stored


def course_tool(account_id: uuid.UUID, ref: dict) -> dict | None:
    """A stored reference in the course's draft shape ``{type, provider{id, name, label, icon,
    description}, tool{id, name, label, description, params}}``; None when the tool is gone."""
    provider_id, tool_id = str(ref.get("provider_id", "")), str(ref.get("tool_id", ""))
    if ref.get("type") == "builtin_tool":
        found = catalog.find(provider_id, tool_id, current_app.config)
        if found is None:
            return None
        provider, tool = found
        icon = _icon_url(provider_id)
        return {"type": "builtin_tool",
                "provider": {"id": provider_id, "name": provider_id, "label": provider.get("label", provider_id),
                             "icon": icon, "description": provider.get("description", "")},
                "tool": {"id": tool_id, "name": tool_id, "label": tool.get("label", tool_id),
                         "description": tool.get("description", ""), "params": ref.get("params") or {}}}
    found_api = api_tool_service.find_tool(account_id, provider_id, tool_id)
    if found_api is None:
        return None
    api_provider, api_tool = found_api
    return {"type": "api_tool",
            "provider": {"id": str(api_provider.id), "name": api_provider.name, "label": api_provider.name,
                         "icon": api_provider.icon, "description": api_provider.description},
            "tool": {"id": str(api_tool.id), "name": api_tool.name, "label": api_tool.name,
                     "description": api_tool.description, "params": {}}}


def _icon_url(provider: str) -> str:
    from flask import has_request_context, url_for

    return url_for("tools.builtin_icon", provider=provider, _external=True) if has_request_context() else ""


def bind_tools(context: ToolContext, refs: list[dict]) -> list[BoundTool]:
    """The app's tool references as ``BoundTool``\\ s for one run (references to tools that are
    gone or hidden are dropped, as the course does); names made unique for the model."""
    tools: list[BoundTool] = []
    names: set[str] = set()
    for ref in refs or []:
        bound = _bind(context, ref)
        if bound is None:
            continue
        base = FUNCTION_NAME.sub("_", bound.name)[:60] or "tool"
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        bound.name = name
        names.add(name)
        tools.append(bound)
    return tools


def _bind(context: ToolContext, ref: dict) -> BoundTool | None:
    provider_id, tool_id = str(ref.get("provider_id", "")), str(ref.get("tool_id", ""))
    if ref.get("type") == "builtin_tool":
        found = catalog.find(provider_id, tool_id, current_app.config)
        if found is None:
            return None
        tool = found[1]
        function = catalog.function(tool)
        params = catalog.effective_params(tool, ref.get("params") or {})
        inputs = tool.get("inputs") or []
        return BoundTool(name=tool["name"], description=tool.get("description", ""), inputs=inputs,
                         invoke=lambda arguments: function(arguments, params, context), type="builtin_tool",
                         provider_id=provider_id, tool_id=tool_id)
    found_api = api_tool_service.find_tool(context.account_id, provider_id, tool_id)
    if found_api is None:
        return None
    api_provider, api_tool = found_api
    spec = api_tool_service.tool_spec(api_provider, api_tool)
    return BoundTool(name=api_tool.name, description=api_tool.description, inputs=inputs_of(api_tool.parameters),
                     invoke=lambda arguments: api_tool_service.call_api_tool(spec, arguments),
                     type="api_tool", provider_id=str(api_provider.id), tool_id=str(api_tool.id))
