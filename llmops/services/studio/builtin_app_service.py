"""App templates (course module 10): YAML files under ``llmops/builtin_apps`` (see its README).

Templates are read once per process. A template's ``app_config`` is in the course API's draft
shape; provider/model left out mean the deployment's default language model.
"""

from __future__ import annotations

import copy
import functools
import uuid
from collections.abc import Callable
from pathlib import Path

import yaml
from marshmallow import ValidationError

from llmops.errors import NotFoundError
from llmops.schemas.course import CourseDraftConfigSchema
from llmops.services.studio import app_service

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "builtin_apps"
TEMPLATE_FIELDS = ("id", "category", "name", "icon", "description", "created_at", "app_config")


@functools.cache
def _catalog() -> tuple[tuple[dict, ...], dict[str, dict]]:
    """(categories, templates by id) from the YAML files; a malformed file raises at first use."""
    categories = tuple(yaml.safe_load((BUILTIN_DIR / "categories.yaml").read_text(encoding="utf-8")))
    known = {c["category"] for c in categories}
    templates: dict[str, dict] = {}
    for path in sorted((BUILTIN_DIR / "templates").glob("*.yaml")):
        template = yaml.safe_load(path.read_text(encoding="utf-8"))
        missing = [f for f in TEMPLATE_FIELDS if f not in template]
        if missing or template["category"] not in known or not (BUILTIN_DIR / "icons" / template["icon"]).is_file():
            raise ValueError(f"{path.name}: missing {missing} or unknown category/icon")
        template["id"] = str(uuid.UUID(str(template["id"])))
        try:
            draft_values(template["app_config"], "local", "any")
        except ValidationError as exc:
            raise ValueError(f"{path.name}: app_config {exc.messages}") from exc
        templates[template["id"]] = template
    return categories, templates


def list_categories() -> list[dict]:
    """Course 10.1 → ``[{category, name}]``."""
    return [{"category": c["category"], "name": c["name"]} for c in _catalog()[0]]


def list_builtin_apps(icon_url: Callable[[str], str]) -> list[dict]:
    """Course 10.2 → ``[{id, category, name, icon, description, model_config{provider, model},
    created_at}]``; ``icon_url(file)`` makes an icon's public URL."""
    default = app_service.default_config()["model_config"]
    items = []
    for template in _catalog()[1].values():
        model_config = template["app_config"].get("model_config") or {}
        items.append({
            "id": template["id"], "category": template["category"], "name": template["name"],
            "icon": icon_url(template["icon"]), "description": template["description"],
            "model_config": {"provider": model_config.get("provider") or default["provider"],
                             "model": model_config.get("model") or default["model"]},
            "created_at": int(template["created_at"]),
        })
    return items


def add_to_space(account_id: uuid.UUID, builtin_app_id: uuid.UUID, icon_url: Callable[[str], str]) -> dict:
    """Course 10.3: a new app of the account with the template's profile and draft config → ``{id}``;
    ``NotFoundError`` naming ``builtin_app_id`` for an unknown template."""
    template = _catalog()[1].get(str(builtin_app_id))
    if template is None:
        raise NotFoundError("app template not found", data={"builtin_app_id": ["no template with this id"]})
    app = app_service.create_app(account_id, template["name"], icon_url(template["icon"]), template["description"],
                                 config=draft_values(template["app_config"]))
    return {"id": str(app.id)}


def draft_values(app_config: dict, provider: str | None = None, model: str | None = None) -> dict:
    """A template's course-shaped ``app_config`` as draft changes, through the course API's own
    schema (``POST /apps/:id/draft-app-config``); a template naming no model gets ``provider`` /
    ``model`` (default: the deployment's default language model)."""
    config = copy.deepcopy(app_config)
    model_config = config.setdefault("model_config", {})
    if not (model_config.get("provider") and model_config.get("model")):
        default = app_service.default_config()["model_config"] if provider is None else {}
        model_config["provider"] = provider or default["provider"]
        model_config["model"] = model or default["model"]
    return CourseDraftConfigSchema().load(config)


def icon_path(name: str) -> Path:
    """The file of a template icon (only files of ``builtin_apps/icons``); ``NotFoundError`` otherwise."""
    icons = {p.name: p for p in (BUILTIN_DIR / "icons").glob("*.svg")}
    if name not in icons:
        raise NotFoundError("icon not found")
    return icons[name]
