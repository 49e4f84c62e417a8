"""End users' conversations (course module 05; §5.1 is in ``web_apps.py``)."""

from __future__ import annotations

import uuid

from flask import Blueprint, request
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok, page
from llmops.schemas.web_app import ConversationMessagesQuerySchema, ConversationNameSchema, ConversationPinSchema
from llmops.services.studio import conversation_service

bp = Blueprint("conversations", __name__)


@bp.get("/conversations/<uuid:conversation_id>/messages")
@jwt_required()
def list_messages(conversation_id: uuid.UUID):
    """Course 12: a conversation's messages, newest first (cursor paginated)."""
    query = ConversationMessagesQuerySchema().load(request.args)
    return page(*conversation_service.list_messages(current_account_id(), conversation_id, **query))


@bp.post("/conversations/<uuid:conversation_id>/delete")
@jwt_required()
def delete_conversation(conversation_id: uuid.UUID):
    """Course 12: delete a web-app conversation of the caller."""
    conversation_service.delete_conversation(current_account_id(), conversation_id)
    return ok(message="conversation deleted")


@bp.post("/conversations/<uuid:conversation_id>/messages/<uuid:message_id>/delete")
@jwt_required()
def delete_message(conversation_id: uuid.UUID, message_id: uuid.UUID):
    """Course 12: delete a message of a conversation."""
    conversation_service.delete_message(current_account_id(), conversation_id, message_id)
    return ok(message="message deleted")


@bp.get("/conversations/<uuid:conversation_id>/name")
@jwt_required()
def get_name(conversation_id: uuid.UUID):
    """Course 12: a conversation's name."""
    return ok(conversation_service.get_name(current_account_id(), conversation_id))


@bp.post("/conversations/<uuid:conversation_id>/name")
@jwt_required()
def rename(conversation_id: uuid.UUID):
    """Course 12: rename a conversation."""
    data = ConversationNameSchema().load(json_body())
    conversation_service.rename(current_account_id(), conversation_id, data["name"])
    return ok(message="conversation renamed")


@bp.post("/conversations/<uuid:conversation_id>/is-pinned")
@jwt_required()
def set_pinned(conversation_id: uuid.UUID):
    """Course 12: pin or unpin a conversation."""
    data = ConversationPinSchema().load(json_body())
    conversation_service.set_pinned(current_account_id(), conversation_id, data["is_pinned"])
    return ok(message="conversation pin updated")
