"""The builtin tool catalog: ``providers.yaml`` loaded once, filtered by the settings each
provider ``requires`` (an internet service's key): providers whose settings are unset are hidden.
No Flask imports: callers pass the settings mapping (``current_app.config``)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ICON_DIR = HERE / "icons"
ICON_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}


@functools.cache
def _catalog() -> dict:
    return yaml.safe_load((HERE / "providers.yaml").read_text(encoding="utf-8"))


def _available(provider: dict, settings: Mapping) -> bool:
    return all(settings.get(name) for name in provider.get("requires") or [])


def _tool_dict(tool: dict) -> dict:
    params = [{"name": p["name"], "label": p.get("label", p["name"]), "type": p.get("type", "string"),
               "required": bool(p.get("required", False)), "default": p.get("default"), "min": p.get("min"),
               "max": p.get("max"), "help": p.get("help", ""), "options": p.get("options", [])}
              for p in tool.get("params") or []]
    return {"name": tool["name"], "label": tool.get("label", tool["name"]), "description": tool.get("description", ""),
            "inputs": copy.deepcopy(tool.get("inputs") or []), "params": params}


def _provider_summary(provider: dict) -> dict:
    return {key: provider.get(key, "") for key in ("name", "label", "description", "category", "background")}


def categories() -> list[dict]:
    """Course 2.1: ``[{category, name, icon}]`` (``icon`` is the SVG source)."""
    return [{"category": c["category"], "name": c["name"],
             "icon": (ICON_DIR / c["icon"]).read_text(encoding="utf-8")} for c in _catalog()["categories"]]


def providers(settings: Mapping) -> list[dict]:
    """Course 2.2: the available providers with their tools."""
    return [{**_provider_summary(p), "tools": [_tool_dict(t) for t in p["tools"]], "created_at": p["created_at"]}
            for p in _catalog()["providers"] if _available(p, settings)]


def find(provider_name: str, tool_name: str | None, settings: Mapping) -> tuple[dict, dict | None] | None:
    """(raw provider, raw tool) when the provider is available (and has the tool), else None."""
    for provider in _catalog()["providers"]:
        if provider["name"] == provider_name and _available(provider, settings):
            if tool_name is None:
                return provider, None
            for tool in provider["tools"]:
                if tool["name"] == tool_name:
                    return provider, tool
            return None
    return None


def tool_detail(provider_name: str, tool_name: str, settings: Mapping) -> dict | None:
    """Course 2.3: ``{provider{...}, name, label, description, inputs, params, created_at}``."""
    found = find(provider_name, tool_name, settings)
    if found is None:
        return None
    provider, tool = found
    return {"provider": _provider_summary(provider), **_tool_dict(tool), "created_at": provider["created_at"]}


def provider_summary(provider_name: str) -> dict | None:
    """``{name, label, description, category, background}`` of a provider, available or not."""
    for provider in _catalog()["providers"]:
        if provider["name"] == provider_name:
            return _provider_summary(provider)
    return None


def icon(provider_name: str) -> tuple[Path, str] | None:
    """(file, content type) of a provider's icon (any provider: icons are public)."""
    for provider in _catalog()["providers"]:
        if provider["name"] == provider_name:
            path = ICON_DIR / provider["icon"]
            return path, ICON_TYPES.get(path.suffix, "application/octet-stream")
    return None


def function(tool: dict) -> Callable:
    """The implementation of a raw tool (``functions.<function>``)."""
    from llmops.tools.builtin import functions

    return getattr(functions, tool["function"])


def check_params(tool: dict, params: dict) -> dict[str, str]:
    """Problems of an app author's ``params`` for a raw tool → ``{param: message}`` (empty when fine)."""
    problems: dict[str, str] = {}
    declared = {p["name"]: p for p in tool.get("params") or []}
    for name in params:
        if name not in declared:
            problems[name] = "unknown parameter"
    for name, spec in declared.items():
        value = params.get(name, spec.get("default"))
        if value is None or value == "":
            if spec.get("required"):
                problems[name] = "required"
            continue
        kind = spec.get("type", "string")
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems[name] = "must be a number"
            elif (spec.get("min") is not None and value < spec["min"]) or (
                    spec.get("max") is not None and value > spec["max"]):
                problems[name] = f"must be between {spec.get('min')} and {spec.get('max')}"
        elif kind == "boolean" and not isinstance(value, bool):
            problems[name] = "must be true or false"
        elif kind == "select" and value not in [o["value"] for o in spec.get("options") or []]:
            problems[name] = "must be one of " + ", ".join(str(o["value"]) for o in spec.get("options") or [])
        elif kind == "string" and not isinstance(value, str):
            problems[name] = "must be a string"
    return problems


def effective_params(tool: dict, params: dict) -> dict:
    """The app author's params with the declared defaults filled in."""
    return {**{p["name"]: p.get("default") for p in tool.get("params") or []}, **(params or {})}
