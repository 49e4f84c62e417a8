"""Web apps (course §1.19–1.20, module 15, §5.1): a published app's token and its end users' chat."""

from __future__ import annotations

import uuid

from flask import Blueprint, request
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok
from llmops.api.sse import sse_response
from llmops.schemas.web_app import ConversationListQuerySchema, WebAppChatSchema
from llmops.services.studio import web_app_service

bp = Blueprint("web_apps", __name__)

# A token is 16 letters and digits; longer paths are refused by the route itself (404).
TOKEN = "<string(maxlength=64):token>"


@bp.get("/apps/<uuid:app_id>/published-config")
@jwt_required()
def published_config(app_id: uuid.UUID):
    """Course 15: the published config's web-app settings and token."""
    return ok(web_app_service.get_published_config(current_account_id(), app_id))


@bp.route("/apps/<uuid:app_id>/published-config/regenerate-web-app-token", methods=["GET", "POST"])
@jwt_required()
def regenerate_web_app_token(app_id: uuid.UUID):
    """Course 15: a new web-app token (the old link stops working)."""
    return ok(web_app_service.regenerate_token(current_account_id(), app_id), "web app token regenerated")


@bp.get(f"/web-apps/{TOKEN}")
@jwt_required()
def get_web_app(token: str):
    """Course 15: a published web app's public settings."""
    return ok(web_app_service.get_web_app(token))


@bp.post(f"/web-apps/{TOKEN}/chat")
@jwt_required()
def web_app_chat(token: str):
    """Course 15: chat with a web app (SSE agent events)."""
    data = WebAppChatSchema().load(json_body())
    return sse_response(web_app_service.chat(current_account_id(), token, data["query"], data["conversation_id"]))


@bp.post(f"/web-apps/{TOKEN}/chat/<uuid:task_id>/stop")
@jwt_required()
def stop_web_app_chat(token: str, task_id: uuid.UUID):
    """Course 15: stop a running web-app chat."""
    web_app_service.stop(current_account_id(), token, task_id)
    return ok(message="web app chat stopped")


@bp.get(f"/web-apps/{TOKEN}/conversations")
@jwt_required()
def list_conversations(token: str):
    """Course 15: the caller's conversations with a web app."""
    query = ConversationListQuerySchema().load(request.args)
    return ok(web_app_service.list_conversations(current_account_id(), token, query["is_pinned"]))
