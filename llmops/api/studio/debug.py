"""Debug chat, its messages and long-term memory (seed 002 §1.3–1.7)."""

from __future__ import annotations

import uuid

from flask import Blueprint, request
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok, page
from llmops.api.sse import sse_response
from llmops.schemas.app import DebugChatSchema, LongTermMemoryUpdateSchema
from llmops.schemas.common import MessagePaginationQuerySchema
from llmops.services.studio import chat_service, memory_service

bp = Blueprint("debug", __name__)


@bp.post("/apps/<uuid:app_id>/debug")
@jwt_required()
def debug_chat(app_id: uuid.UUID):
    """Debug chat with the draft config (blocking, or SSE with agent events when stream is true)."""
    data = DebugChatSchema().load(json_body())
    turn = chat_service.prepare_debug_turn(current_account_id(), app_id, data["query"])
    if data["stream"]:
        return sse_response(chat_service.stream_debug_turn(turn))
    return ok(chat_service.complete_debug_turn(turn))


@bp.post("/apps/<uuid:app_id>/debug/tasks/<uuid:task_id>/stop")
@jwt_required()
def stop_debug_task(app_id: uuid.UUID, task_id: uuid.UUID):
    """Stop a running debug chat task."""
    chat_service.stop_debug_task(current_account_id(), app_id, task_id)
    return ok(message="stop requested")


@bp.get("/apps/<uuid:app_id>/messages")
@jwt_required()
def list_messages(app_id: uuid.UUID):
    """The debug conversation's messages, newest first (paginated)."""
    query = MessagePaginationQuerySchema().load(request.args)
    return page(*chat_service.list_messages(current_account_id(), app_id, **query))


@bp.post("/apps/<uuid:app_id>/messages/<uuid:message_id>/delete")
@jwt_required()
def delete_message(app_id: uuid.UUID, message_id: uuid.UUID):
    """Delete a message of the debug conversation."""
    chat_service.delete_message(current_account_id(), app_id, message_id)
    return ok(message="debug message deleted")


@bp.post("/apps/<uuid:app_id>/debug-conversation/delete")
@jwt_required()
def delete_debug_conversation(app_id: uuid.UUID):
    """Clear the debug conversation (history and memory)."""
    chat_service.delete_debug_conversation(current_account_id(), app_id)
    return ok(message="debug conversation deleted")


@bp.get("/apps/<uuid:app_id>/long-term-memory")
@jwt_required()
def get_long_term_memory(app_id: uuid.UUID):
    """The debug conversation's long-term memory summary."""
    return ok(memory_service.get_long_term_memory(current_account_id(), app_id))


@bp.post("/apps/<uuid:app_id>/long-term-memory")
@jwt_required()
def update_long_term_memory(app_id: uuid.UUID):
    """Replace the debug conversation's long-term memory summary."""
    data = LongTermMemoryUpdateSchema().load(json_body())
    memory_service.update_long_term_memory(current_account_id(), app_id, data["summary"])
    return ok(message="long-term memory updated")
