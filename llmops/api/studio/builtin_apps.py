"""App templates (course module 10): categories, templates, add one to the caller's space; icons."""

from __future__ import annotations

from flask import Blueprint, send_file, url_for
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok
from llmops.schemas.builtin_app import AddBuiltinAppSchema
from llmops.services.studio import builtin_app_service

bp = Blueprint("builtin_apps", __name__)


def _icon_url(name: str) -> str:
    return url_for("builtin_apps.icon", name=name, _external=True)


@bp.get("/builtin-apps/categories")
@bp.get("/builtin-apps/app-categories")  # the path of the course document's request example
@jwt_required()
def categories():
    """Course 10: the builtin templates' categories."""
    return ok(builtin_app_service.list_categories())


@bp.get("/builtin-apps")
@jwt_required()
def builtin_apps():
    """Course 10: the builtin app templates."""
    return ok(builtin_app_service.list_builtin_apps(_icon_url))


@bp.post("/builtin-apps/add-builtin-app-to-space")
@jwt_required()
def add_builtin_app_to_space():
    """Course 10: create an app from a builtin template."""
    data = AddBuiltinAppSchema().load(json_body())
    return ok(builtin_app_service.add_to_space(current_account_id(), data["builtin_app_id"], _icon_url),
              "app created from the template")


@bp.get("/builtin-apps/icons/<string:name>")
def icon(name: str):
    """Course 10: a builtin template's icon."""
    response = send_file(builtin_app_service.icon_path(name), mimetype="image/svg+xml", max_age=86400)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
