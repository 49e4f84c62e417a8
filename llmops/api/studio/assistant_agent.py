"""The assistant agent (course module 13): chat (SSE), stop, messages, delete-conversation."""

from __future__ import annotations

import uuid

from flask import Blueprint, request
from flask_jwt_extended import jwt_required

from llmops.api.auth import current_account_id
from llmops.api.responses import json_body, ok, page
from llmops.api.sse import sse_response
from llmops.schemas.course import CourseMessagesQuerySchema
from llmops.schemas.tool import AssistantChatSchema
from llmops.services.studio import assistant_agent_service, chat_service

bp = Blueprint("assistant_agent", __name__)


@bp.post("/assistant-agent/chat")
@jwt_required()
def chat():
    """Course 13: chat with the assistant agent that builds apps and datasets (SSE agent events)."""
    data = AssistantChatSchema().load(json_body())
    turn = assistant_agent_service.prepare_turn(current_account_id(), data["query"])
    return sse_response(chat_service.stream_debug_turn(turn))


@bp.post("/assistant-agent/chat/<uuid:task_id>/stop")
@jwt_required()
def stop(task_id: uuid.UUID):
    """Course 13: stop a running assistant-agent chat."""
    assistant_agent_service.stop(current_account_id(), task_id)
    return ok(message="stop requested")


@bp.get("/assistant-agent/messages")
@jwt_required()
def messages():
    """Course 13: the assistant-agent conversation's messages, newest first (cursor paginated)."""
    query = CourseMessagesQuerySchema().load(request.args)
    return page(*assistant_agent_service.list_messages(current_account_id(), **query))


@bp.post("/assistant-agent/delete-conversation")
@jwt_required()
def delete_conversation():
    """Course 13: clear the assistant-agent conversation."""
    assistant_agent_service.delete_conversation(current_account_id())
    return ok(message="assistant conversation deleted")
