"""Seed 000, llm-backend-api (docs/api.md C1): ``/api/users/*``, ``/api/conversations/*``,
``/api/chat/:conversation_id`` and ``/api/rag/*`` with the seed's bodies and status codes.

Auth is our JWT (the token ``/api/users/login`` returns also works on the studio API). Errors are
``{"error": ...}`` (``{"success": false, "message": ...}`` on ``/api/rag/*``), from the one error
handler. Chat streams are real SSE: ``data: {"event": "message", "data": "<delta>"}`` frames, then
one ``done`` and one ``full_response`` (JSON-escaped); keep-alives are SSE comments.

Fixed faults of the seed's sample (docs/api.md C1): conversation ids come from the database and never
collide; every route checks ownership (another user's ids answer 404); a per-conversation
``api_key`` is stored encrypted and only ever returned masked.
"""

from __future__ import annotations

import json
import re

from flask import Blueprint, current_app, jsonify, request
from flask_jwt_extended import jwt_required
from marshmallow import ValidationError

from llmops.api.auth import access_token, body_field_key, current_account_id, login_limit
from llmops.api.responses import json_body, uploaded_file
from llmops.api.sse import sse_response
from llmops.extensions import limiter
from llmops.schemas.compat.llm_backend import (
    ChatSchema,
    CreateConversationSchema,
    DocDeleteSchema,
    HistorySchema,
    KbCreateSchema,
    KbSchema,
    ListSchema,
    LoginSchema,
    RagChatSchema,
    RegisterSchema,
    RetrieveSchema,
)
from llmops.services.compat import model_conversation_service as conversations
from llmops.services.core import account_service
from llmops.services.knowledge import dataset_service, document_service

bp = Blueprint("llm_backend", __name__, url_prefix="/api")

PING = ": ping\n\n"


def _render(event: str, data) -> str:
    """Seed 000's frame: ``data: {"event": ..., "data": ...}``."""
    if isinstance(data, dict):  # an error raised inside the stream
        data = data.get("message", "internal server error")
    return f"data: {json.dumps({'event': event, 'data': data}, ensure_ascii=False)}\n\n"


def _conversation_number(raw: str) -> int:
    """Path ids are integers (the seed's); anything else is the seed's 400."""
    if not re.fullmatch(r"\d{1,18}", raw):
        raise ValidationError({"conversation_id": ["must be an integer"]})
    return int(raw)


# --- users -------------------------------------------------------------------------------------

@bp.post("/users/register")
@limiter.limit(login_limit)
def register():
    """Seed 000: create an account from a username and password."""
    data = RegisterSchema().load(json_body())
    account_service.register_username(data["username"], data["password"], ip=request.remote_addr or "",
                                      invite_code=data["invite_code"])
    return jsonify({"message": "User registered successfully"}), 201


@bp.post("/users/login")
@limiter.limit(login_limit)
@limiter.limit(login_limit, key_func=body_field_key("username"))
def login():
    """Seed 000: sign in with username and password (a long-lived token)."""
    data = LoginSchema().load(json_body())
    account = account_service.username_login(data["username"], data["password"], ip=request.remote_addr or "")
    # one access token valid on the studio API too, living SEED000_TOKEN_EXPIRES (those clients cannot refresh)
    token = access_token(account, expires=current_app.config["SEED000_TOKEN_EXPIRES"])
    return jsonify({"token": token["access_token"], "expire_at": token["expire_at"]})


# --- conversations and chat ----------------------------------------------------------------------

@bp.post("/conversations/create")
@jwt_required()
def create_conversation():
    """Seed 000: create a conversation, optionally with its own upstream model and key."""
    data = CreateConversationSchema().load(json_body())
    return jsonify(conversations.create_conversation(current_account_id(), data["title"], data["model"],
                                                     data["api_key"]))


@bp.get("/conversations/history/<conversation_id>")
@jwt_required()
def conversation_history(conversation_id: str):
    """Seed 000: a conversation's messages."""
    args = HistorySchema().load(request.args)
    return jsonify(conversations.get_history(current_account_id(), _conversation_number(conversation_id),
                                             args["limit"], args["offset"]))


@bp.get("/conversations/list")
@jwt_required()
def list_conversations():
    """Seed 000: the caller's conversations."""
    args = ListSchema().load(request.args)
    return jsonify(conversations.list_conversations(current_account_id(), args["limit"], args["offset"]))


@bp.post("/conversations/del/<conversation_id>")
@jwt_required()
def delete_conversation(conversation_id: str):
    """Seed 000: delete a conversation of the caller."""
    conversations.delete_conversation(current_account_id(), _conversation_number(conversation_id))
    return jsonify({"message": "Conversation deleted successfully"})


@bp.post("/chat/<conversation_id>")
@jwt_required()
def chat(conversation_id: str):
    """Seed 000: chat in a conversation (SSE when stream is true)."""
    number = _conversation_number(conversation_id)
    data = ChatSchema().load(json_body())
    turn = conversations.prepare_turn(current_account_id(), number, data["message"])
    return sse_response(conversations.stream_events(turn), render=_render, ping=PING)


# --- RAG -------------------------------------------------------------------------------------------

@bp.post("/rag/kb/create")
@jwt_required()
def kb_create():
    """Seed 000: create a knowledge base."""
    data = KbCreateSchema().load(json_body())
    created = conversations.create_knowledge_base(current_account_id(), data["kb_name"], data["embedding_model"])
    message = f"知识库创建成功，使用模型: {created['embedding_model']}"
    if created["requested_unavailable"]:
        message += f"（请求的模型 {data['embedding_model']} 在本系统不可用，已使用本系统的嵌入模型）"
    return jsonify({"success": True, "kb_id": created["kb_id"], "embedding_model": created["embedding_model"],
                    "message": message})


@bp.get("/rag/kb/list")
@jwt_required()
def kb_list():
    """Seed 000: the caller's knowledge bases."""
    return jsonify({"success": True, "kbs": conversations.list_knowledge_bases(current_account_id()),
                    "message": "知识库列表获取成功"})


@bp.post("/rag/kb/delete")
@jwt_required()
def kb_delete():
    """Seed 000: delete a knowledge base."""
    data = KbSchema().load(json_body())
    dataset_service.delete_dataset(current_account_id(), data["kb_id"])
    return jsonify({"success": True, "message": "知识库删除成功"})


@bp.post("/rag/doc/upload")
@jwt_required()
def doc_upload():
    """Seed 000: upload a document into a knowledge base (answers when it is indexed)."""
    data = KbSchema().load(request.form)
    result = conversations.upload_document(current_account_id(), data["kb_id"], *uploaded_file("file"))
    if result["status"] == "error":
        response = jsonify({"success": False, "doc_id": result["doc_id"], "status": "error",
                            "message": f"文档处理失败: {result['error']}"})
        response.status_code = 400
        return response
    if result["status"] == "completed":
        message = f"文档上传处理成功，共分割并添加 {result['segment_count']} 个文本块"
    else:
        message = (f"文档已上传，正在后台处理（{result['completed_segment_count']}/{result['segment_count']} 个文本块）；"
                   "可通过 /api/rag/doc/list 查看状态")
    return jsonify({"success": True, "doc_id": result["doc_id"], "status": result["status"],
                    "segment_count": result["segment_count"], "message": message})


@bp.get("/rag/doc/list")
@jwt_required()
def doc_list():
    """Seed 000: the documents of a knowledge base."""
    data = KbSchema().load(request.args)
    return jsonify({"success": True, "docs": conversations.list_documents(current_account_id(), data["kb_id"]),
                    "message": "文档列表获取成功"})


@bp.post("/rag/doc/delete")
@jwt_required()
def doc_delete():
    """Seed 000: delete a document from a knowledge base."""
    data = DocDeleteSchema().load(json_body())
    document_service.delete_document(current_account_id(), data["kb_id"], data["doc_id"])
    return jsonify({"success": True, "message": "文档删除成功"})


@bp.post("/rag/retrieve")
@jwt_required()
def retrieve():
    """Seed 000: the segments of a knowledge base closest to a query."""
    data = RetrieveSchema().load(json_body())
    results = conversations.retrieve(current_account_id(), data["kb_id"], data["query"], data["top_k"])
    return jsonify({"success": True, "results": results, "message": "检索成功"})


@bp.post("/rag/chat")
@jwt_required()
def rag_chat():
    """Seed 000: chat grounded on a knowledge base."""
    data = RagChatSchema().load(json_body())
    turn = conversations.prepare_turn(current_account_id(), data["conversation_id"], data["message"],
                                      kb_id=data["kb_id"], top_k=data["top_k"])
    return sse_response(conversations.stream_events(turn), render=_render, ping=PING)


@bp.get("/rag/models")
@jwt_required()
def rag_models():
    """Seed 000: the models a RAG chat can use."""
    return jsonify({"success": True, "models": conversations.embedding_models(),
                    "message": "支持的Embedding模型列表获取成功"})
