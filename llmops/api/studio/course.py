"""The course front end's routes (the course platform's API, modules 01, 03, 04, 07, 09, 12):
thin aliases over the services our own studio routes use, in the course's paths and shapes."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, request, send_file, url_for
from flask_jwt_extended import jwt_required

from llmops.api.auth import api_key_required, current_account_id
from llmops.api.responses import json_body, ok, page, uploaded_file
from llmops.api.sse import json_or_sse, sse_response
from llmops.api.studio.auth import account_dict
from llmops.schemas.common import PaginationQuerySchema
from llmops.schemas.course import (
    AvatarSchema,
    CourseApiKeyCreateSchema,
    CourseApiKeyUpdateSchema,
    CourseChatSchema,
    CourseDraftConfigSchema,
    CourseMessagesQuerySchema,
    OpenApiChatSchema,
    SummarySchema,
)
from llmops.schemas.dataset import DocumentRenameSchema
from llmops.services.core import account_service, model_service
from llmops.services.gateway import api_key_service, gateway_service
from llmops.services.knowledge import document_service, upload_service
from llmops.services.studio import app_service, chat_service, memory_service

bp = Blueprint("course", __name__)
APP = "/apps/<uuid:app_id>"


# --- 01 apps: draft config, debug chat, messages, long-term memory -------------------------------

@bp.get(f"{APP}/draft-app-config")
@jwt_required()
def get_draft_app_config(app_id: uuid.UUID):
    """Course 1.4: the draft config in the course's shape."""
    return ok(app_service.get_course_draft_config(current_account_id(), app_id))


@bp.post(f"{APP}/draft-app-config")
@jwt_required()
def update_draft_app_config(app_id: uuid.UUID):
    """Course 1.5: change the draft config (any subset of its fields)."""
    changes = CourseDraftConfigSchema().load(json_body())
    app_service.update_draft_config(current_account_id(), app_id, changes, dataset_field="datasets")
    return ok(message="app draft configuration updated")


@bp.post(f"{APP}/conversations")
@jwt_required()
def debug_chat(app_id: uuid.UUID):
    """Course 1.11: always an event stream."""
    data = CourseChatSchema().load(json_body())
    turn = chat_service.prepare_debug_turn(current_account_id(), app_id, data["query"])
    return sse_response(chat_service.stream_debug_turn(turn))


@bp.post(f"{APP}/conversations/tasks/<uuid:task_id>/stop")
@jwt_required()
def stop_debug_chat(app_id: uuid.UUID, task_id: uuid.UUID):
    """Course 1.11: stop a running debug chat task."""
    chat_service.stop_debug_task(current_account_id(), app_id, task_id)
    return ok(message="stop requested")


@bp.get(f"{APP}/conversations/messages")
@jwt_required()
def debug_messages(app_id: uuid.UUID):
    """Course 1.11: the debug conversation's messages, newest first (cursor paginated)."""
    query = CourseMessagesQuerySchema().load(request.args)
    return page(*chat_service.list_messages(current_account_id(), app_id, **query))


@bp.post(f"{APP}/conversations/delete-debug-conversation")
@jwt_required()
def delete_debug_conversation(app_id: uuid.UUID):
    """Course 1.11: clear the debug conversation (history and memory)."""
    chat_service.delete_debug_conversation(current_account_id(), app_id)
    return ok(message="debug conversation deleted")


@bp.get(f"{APP}/summary")
@jwt_required()
def get_summary(app_id: uuid.UUID):
    """Course 1.9: the debug conversation's long-term memory summary."""
    return ok(memory_service.get_long_term_memory(current_account_id(), app_id))


@bp.post(f"{APP}/summary")
@jwt_required()
def update_summary(app_id: uuid.UUID):
    """Course 1.10: replace the debug conversation's long-term memory summary."""
    data = SummarySchema().load(json_body())
    memory_service.update_long_term_memory(current_account_id(), app_id, data["summary"])
    return ok(message="long-term memory updated")


# --- 03 uploads (HTTP 200: the course front end accepts nothing else) ------------------------------

@bp.post("/upload-files/file")
@jwt_required()
def upload_file():
    """Course 03: upload a file (answers its id, name and URL)."""
    return ok(upload_service.upload_file(current_account_id(), *uploaded_file("file")), "file uploaded")


@bp.post("/upload-files/image")
@jwt_required()
def upload_image():
    """Course 03: upload an image (checked by content; answers its URL)."""
    name = upload_service.upload_image(current_account_id(), *uploaded_file("file"))
    return ok({"image_url": url_for("course.get_image", name=name, _external=True)}, "image uploaded")


@bp.get("/upload-files/images/<string:name>")
def get_image(name: str):
    """An uploaded image, by its unguessable name (``<img src>`` sends no Authorization header)."""
    data, content_type = upload_service.image_bytes(name)
    response = Response(data, mimetype=content_type)
    response.cache_control.max_age = 86400
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- 04 datasets -------------------------------------------------------------------------------------

@bp.post("/datasets/<uuid:dataset_id>/documents/<uuid:document_id>/name")
@jwt_required()
def rename_document(dataset_id: uuid.UUID, document_id: uuid.UUID):
    """Course 4: rename a document."""
    data = DocumentRenameSchema().load(json_body())
    return ok(document_service.rename_document(current_account_id(), dataset_id, document_id, data["name"]),
              "document renamed")


# --- 07 account ----------------------------------------------------------------------------------------

@bp.post("/account/avatar")
@jwt_required()
def update_avatar():
    """Change the account's avatar URL (course 05)."""
    data = AvatarSchema().load(json_body())
    return ok(account_dict(account_service.update_avatar(current_account_id(), data["avatar"])), "avatar updated")


# --- 09 open API: keys (course shape) and chat ----------------------------------------------------------

@bp.get("/openapi/api-keys")
@jwt_required()
def list_api_keys():
    """Course 09: the account's API keys (paginated)."""
    query = PaginationQuerySchema().load(request.args)
    return page(*api_key_service.list_api_keys(current_account_id(), **query))


@bp.post("/openapi/api-keys")
@jwt_required()
def create_api_key():
    """Course 9.1; ``api_key`` in the answer is the plain key, shown this once (lists mask it)."""
    data = CourseApiKeyCreateSchema().load(json_body())
    key = api_key_service.create_api_key(current_account_id(), remark=data["remark"], active=data["is_active"])
    return ok({**key, "api_key": key["key"]}, "API key created: copy it now, it is not shown again")


@bp.post("/openapi/api-keys/<uuid:key_id>")
@jwt_required()
def update_api_key(key_id: uuid.UUID):
    """Course 09: change a key's remark or state."""
    data = CourseApiKeyUpdateSchema().load(json_body())
    return ok(api_key_service.update_api_key(current_account_id(), key_id, data), "API key updated")


@bp.post("/openapi/api-keys/<uuid:key_id>/is-active")
@jwt_required()
def set_api_key_active(key_id: uuid.UUID):
    """Course 09: enable or disable an API key."""
    data = CourseApiKeyUpdateSchema(only=("is_active",)).load(json_body())
    api_key_service.set_api_key_active(current_account_id(), key_id, data["is_active"])
    return ok(message="API key updated")


@bp.post("/openapi/api-keys/<uuid:key_id>/delete")
@jwt_required()
def delete_api_key(key_id: uuid.UUID):
    """Course 09: delete an API key."""
    api_key_service.delete_api_key(current_account_id(), key_id)
    return ok(message="API key deleted")


@bp.post("/openapi/chat")
@api_key_required
def openapi_chat(principal):
    """Course 9.6: API-key auth; a turn of the published app ``app_id`` of the key's account."""
    data = OpenApiChatSchema().load(json_body())
    return json_or_sse(gateway_service.course_app_chat(principal, **data), json=ok)


# --- 12 language models ----------------------------------------------------------------------------------

@bp.get("/language-models/<string:provider>/icon")
def provider_icon(provider: str):
    """Course 12.3 (no auth, as there: ``<img src>``)."""
    path, content_type = model_service.provider_icon(provider)
    return send_file(path, mimetype=content_type, max_age=86400)


@bp.get("/language-models/<string:provider>/<path:model>")
@jwt_required()
def language_model(provider: str, model: str):
    """Course 07: one language model's details and parameters."""
    return ok(model_service.get_language_model(provider, model))
