"""Apps, configurations and publishing (seed 002 §01, docs/api.md A "Apps")."""

from __future__ import annotations

import uuid

from flask import Blueprint, request
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok, page
from llmops.schemas.app import AppConfigUpdateSchema, AppCreateSchema, AppUpdateSchema, FallbackHistorySchema
from llmops.schemas.common import PaginationQuerySchema, SearchPaginationQuerySchema
from llmops.services.core import model_service
from llmops.services.studio import app_service

bp = Blueprint("apps", __name__)


@bp.get("/apps")
@jwt_required()
def list_apps():
    """The account's apps, searchable by name (paginated)."""
    query = SearchPaginationQuerySchema().load(request.args)
    return page(*app_service.list_apps(current_account_id(), **query))


@bp.post("/apps")
@jwt_required()
def create_app():
    """Create an app; it starts with a draft config on the active language model."""
    data = AppCreateSchema().load(json_body())
    app = app_service.create_app(current_account_id(), **data)
    return ok({"id": str(app.id)}, "app created", 201)


@bp.get("/apps/<uuid:app_id>")
@jwt_required()
def get_app(app_id: uuid.UUID):
    """An app with its status and draft/published config ids."""
    return ok(app_service.get_app_detail(current_account_id(), app_id))


@bp.post("/apps/<uuid:app_id>")
@jwt_required()
def update_app(app_id: uuid.UUID):
    """Change an app's name, icon or description."""
    data = AppUpdateSchema().load(json_body())
    app = app_service.update_app(current_account_id(), app_id, data)
    return ok(app_service.app_to_dict(app), "app updated")


@bp.post("/apps/<uuid:app_id>/delete")
@jwt_required()
def delete_app(app_id: uuid.UUID):
    """Delete an app."""
    app_service.delete_app(current_account_id(), app_id)
    return ok(message="app deleted")


@bp.post("/apps/<uuid:app_id>/copy")
@jwt_required()
def copy_app(app_id: uuid.UUID):
    """Copy an app with its draft config."""
    app = app_service.copy_app(current_account_id(), app_id)
    return ok({"id": str(app.id), "app_id": str(app.id)}, "app copied", 201)


@bp.post("/apps/<uuid:app_id>/config")
@jwt_required()
def update_draft_config(app_id: uuid.UUID):
    """Change the draft config (seed 002's shape): model, prompt, memory, datasets, retrieval."""
    data = AppConfigUpdateSchema().load(json_body())
    app_service.update_draft_config(current_account_id(), app_id, data)
    return ok(message="app draft configuration updated")


@bp.post("/apps/<uuid:app_id>/publish")
@jwt_required()
def publish(app_id: uuid.UUID):
    """Publish the draft as a new version."""
    config = app_service.publish(current_account_id(), app_id)
    return ok({"id": str(config.id), "version": config.version}, "app published")


@bp.post("/apps/<uuid:app_id>/cancel-publish")
@jwt_required()
def cancel_publish(app_id: uuid.UUID):
    """Unpublish an app: its API and web app stop answering."""
    app_service.cancel_publish(current_account_id(), app_id)
    return ok(message="app unpublished")


@bp.get("/apps/<uuid:app_id>/publish-histories")
@jwt_required()
def publish_histories(app_id: uuid.UUID):
    """An app's published versions, newest first (paginated)."""
    query = PaginationQuerySchema().load(request.args)
    return page(*app_service.publish_histories(current_account_id(), app_id, **query))


@bp.post("/apps/<uuid:app_id>/fallback-history")
@jwt_required()
def fallback_history(app_id: uuid.UUID):
    """Make an earlier published version the draft again."""
    data = FallbackHistorySchema().load(json_body())
    app_service.fallback_history(current_account_id(), app_id, data["app_config_version_id"])
    return ok(message="draft restored from the published version")


@bp.get("/language-models")
@jwt_required()
def language_models():
    """The language models by provider, with their parameters and features."""
    return ok(model_service.list_language_models(request.host_url))
