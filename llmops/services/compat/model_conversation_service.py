"""Conversations with a model directly, without an app — seed 000's ``/api/conversations`` and
``/api/chat`` (docs/api.md C1) — and its knowledge-base chat and upload.

A model conversation is an ordinary ``Conversation`` (no ``app_id``) plus a ``ModelConversation``
row that gives it seed 000's integer id, its model and the user's own upstream key (encrypted,
``secret_box``). Turns run through ``chat_service`` like every other chat: same prompt building
(history trimmed to the context window), retrieval, streaming, saving and metrics.

Seed 000's stream vocabulary (``stream_events``): ``("message", delta)`` per delta, then one
``("done", "Stream finished")`` and ``("full_response", answer)``; a failure after the stream has
started is ``("error", message)``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app

from llmops.errors import NotFoundError, ValidateError
from llmops.extensions import db
from llmops.models import Conversation, Document, Message, ModelConversation
from llmops.models.base import unix
from llmops.providers.errors import ModelNotFound
from llmops.services.core import model_service, secret_box
from llmops.services.knowledge import dataset_service, document_service, retrieval_service, upload_service
from llmops.services.knowledge.rag_runtime import list_embedding_models
from llmops.services.studio import chat_service

# Seed 000 sent the whole history; we send the latest rounds that fit the model's context window.
HISTORY_ROUNDS = 100
DONE_TEXT = "Stream finished"
MAX_CONVERSATION_ID = 2**31 - 1  # model_conversation.id is a 32-bit INTEGER in PostgreSQL


def _resolve_model(name: str, api_key: str | None):
    """The registry model ``name`` stands for; with the user's own key its provider need not
    have one configured. ``ValidateError`` naming ``model`` when there is none."""
    try:
        return model_service.get_registry().resolve(name, configured_only=api_key is None)[0]
    except ModelNotFound as exc:
        hint = "" if api_key else " (or it needs an api_key: its provider has none configured)"
        raise ValidateError(f"model: unknown model '{name}'{hint}",
                            data={"model": [f"unknown model '{name}'{hint}"]}) from exc


def _conversation_to_dict(row: ModelConversation, conversation: Conversation) -> dict:
    return {"conversation_id": row.id, "title": conversation.name, "model": row.model,
            "api_key": row.api_key_hint or None, "created_time": unix(conversation.created_at)}


def create_conversation(account_id: uuid.UUID, title: str, model: str | None, api_key: str | None) -> dict:
    """Seed 000 "Create a Conversation" → ``{conversation_id, title, model, api_key, created_time}``
    with ``api_key`` masked. ``model`` (a model name, ``provider/model`` or an alias: the first
    model it stands for is kept) defaults to the active language model."""
    name = model or model_service.active_model_name("language")
    spec = _resolve_model(name, api_key)
    conversation = Conversation(id=uuid.uuid4(), app_id=None, account_id=account_id, name=title,
                                invoke_from="model_conversation")
    db.session.add(conversation)
    db.session.flush()
    row = ModelConversation(conversation_id=conversation.id, account_id=account_id, provider=spec.provider,
                            model=spec.name, api_key_ciphertext=secret_box.encrypt(api_key) if api_key else None,
                            api_key_hint=secret_box.mask(api_key) if api_key else "")
    db.session.add(row)
    db.session.commit()
    return _conversation_to_dict(row, conversation)


def get_owned_conversation(account_id: uuid.UUID, number: int) -> tuple[ModelConversation, Conversation]:
    """The account's live conversation ``number``; ``NotFoundError`` otherwise (also for another
    account's: existence is not revealed)."""
    if not 1 <= number <= MAX_CONVERSATION_ID:  # outside the column's range: none can exist
        raise NotFoundError("Conversation not found")
    found = db.session.execute(
        sa.select(ModelConversation, Conversation).join(Conversation, Conversation.id == ModelConversation.conversation_id)
        .where(ModelConversation.id == number, ModelConversation.account_id == account_id,
               Conversation.is_deleted.is_(False))).first()
    if found is None:
        raise NotFoundError("Conversation not found")
    return found[0], found[1]


def list_conversations(account_id: uuid.UUID, limit: int = 100, offset: int = 0) -> list[dict]:
    """Seed 000 "List User Conversations": ``[{conversation_id, title, created_time}]`` oldest
    first (the seed's order); ``limit``/``offset`` page through long lists (never unbounded)."""
    query = (sa.select(ModelConversation.id, Conversation.name, Conversation.created_at)
             .join(Conversation, Conversation.id == ModelConversation.conversation_id)
             .where(ModelConversation.account_id == account_id, Conversation.is_deleted.is_(False))
             .order_by(ModelConversation.id).offset(offset).limit(limit))
    return [{"conversation_id": number, "title": title, "created_time": unix(created)}
            for number, title, created in db.session.execute(query)]


def get_history(account_id: uuid.UUID, number: int, limit: int = 200, offset: int = 0) -> dict:
    """Seed 000 "Get Conversation History": ``{conversation_id, title, model, messages[{role,
    content, message_id}], created_time}``. ``message_id`` counts from 1 in order (the user's
    message of round i is 2i-1, the answer 2i); a round that failed keeps only its question.
    ``limit`` rounds from round ``offset`` (oldest first)."""
    row, conversation = get_owned_conversation(account_id, number)
    rounds = db.session.execute(
        sa.select(Message.query, Message.answer)
        .where(Message.conversation_id == conversation.id, Message.is_deleted.is_(False))
        .order_by(Message.created_at, Message.id).offset(offset).limit(limit)).all()
    messages = []
    for i, (query, answer) in enumerate(rounds, start=offset):
        messages.append({"role": "user", "content": query, "message_id": 2 * i + 1})
        if answer:
            messages.append({"role": "assistant", "content": answer, "message_id": 2 * i + 2})
    return {"conversation_id": row.id, "title": conversation.name, "model": row.model, "messages": messages,
            "created_time": unix(conversation.created_at)}


def delete_conversation(account_id: uuid.UUID, number: int) -> None:
    """Seed 000 "Delete a Conversation": hidden from every endpoint; the stored key is erased.
    The number is never given to another conversation."""
    row, conversation = get_owned_conversation(account_id, number)
    conversation.is_deleted = True
    row.api_key_ciphertext, row.api_key_hint = None, ""
    db.session.commit()


def prepare_turn(account_id: uuid.UUID, number: int, message: str, kb_id: uuid.UUID | None = None,
                 top_k: int = 5) -> chat_service.DebugTurn:
    """A chat turn of conversation ``number``; with ``kb_id`` it first retrieves ``top_k``
    segments of that knowledge base (semantic, seed 000's retrieval) into the prompt.
    Raises ``NotFoundError`` (conversation or knowledge base), ``ValidateError`` (too long)."""
    row, conversation = get_owned_conversation(account_id, number)
    datasets = []
    if kb_id is not None:
        datasets = [str(dataset_service.get_owned_dataset(account_id, kb_id).id)]
    config = chat_service.TurnConfig(
        model_config={"provider": row.provider, "model": row.model, "dialog_round": HISTORY_ROUNDS},
        dataset_ids=datasets, retrieval_config={"retrieval_strategy": "semantic", "k": top_k, "score": 0.0})
    api_key = secret_box.decrypt(row.api_key_ciphertext) if row.api_key_ciphertext else None
    return chat_service.prepare_model_turn(account_id, conversation, config, message, api_key)


def stream_events(turn: chat_service.DebugTurn) -> chat_service.TurnEvents:
    """Run the turn → seed 000's events (see the module docstring). Closing early (the client
    went away) saves the partial answer as ``stop``, as every chat does. The turn is metered
    (reserved now: 429 before the stream when the balance cannot cover it)."""
    events = chat_service.stream_debug_turn(turn)
    return chat_service.TurnEvents(turn, _seed000_events(events))


def _seed000_events(events: chat_service.TurnEvents) -> Iterator[tuple[str, str]]:
    answer: list[str] = []
    try:
        for name, data in events:
            if name == "agent_message":
                if data["answer"]:
                    answer.append(data["answer"])
                    yield "message", data["answer"]
            elif name in ("agent_end", "stop"):
                yield "done", DONE_TEXT
                yield "full_response", "".join(answer)
            elif name in ("error", "timeout"):
                yield "error", data["message"]
    finally:
        events.close()


def retrieve(account_id: uuid.UUID, kb_id: uuid.UUID, query: str, top_k: int) -> list[dict]:
    """Seed 000 "Knowledge Base Retrieval": semantic top ``top_k`` → ``[{content, score (0..1),
    doc_id, doc_name, segment_id}]``, best first; logged as a query of the dataset."""
    dataset = dataset_service.get_owned_dataset(account_id, kb_id)
    records = retrieval_service.retrieve(account_id, [dataset.id], query, "semantic", top_k, 0.0, source="api")
    return [{"content": r["content"], "score": round(float(r["score"]), 4), "doc_id": r["document_id"],
             "doc_name": r["document_name"], "segment_id": r["segment_id"]} for r in records]


def list_knowledge_bases(account_id: uuid.UUID) -> list[dict]:
    """Seed 000 "Get Knowledge Base List": ``[{kb_id, kb_name, embedding_model, ...counts}]``."""
    rows, _ = dataset_service.list_datasets(account_id, 1, 10_000)
    model = default_embedding_model()
    return [{"kb_id": r["id"], "kb_name": r["name"], "embedding_model": model,
             "document_count": r["document_count"], "created_time": r["created_at"]} for r in rows]


def embedding_models() -> list[str]:
    """Seed 000 "Get Supported Embedding Models": the configured models' names."""
    return [m["model"] for m in list_embedding_models()]


def default_embedding_model() -> str:
    return next(m["model"] for m in list_embedding_models() if m["is_default"])


def create_knowledge_base(account_id: uuid.UUID, name: str, embedding_model: str | None) -> dict:
    """Seed 000 "Create Knowledge Base" → ``{kb_id, embedding_model, requested_unavailable}``.

    One embedding model serves every dataset of a deployment (one vector space). A client that
    names another model (seed 000's clients send their old deployment's, e.g. ``zhipu-embedding-3``)
    still gets its knowledge base, on the deployment's model; ``embedding_model`` says which, and
    ``requested_unavailable`` is True so the answer does not pretend otherwise."""
    default = default_embedding_model()
    dataset = dataset_service.create_dataset(account_id, name)
    return {"kb_id": str(dataset.id), "embedding_model": default,
            "requested_unavailable": bool(embedding_model) and embedding_model != default}


def upload_document(account_id: uuid.UUID, kb_id: uuid.UUID, stream: BinaryIO | None, filename: str,
                    mimetype: str = "") -> dict:
    """Seed 000 "Upload Document": store the file read from ``stream`` (``upload_file``), index it
    through the pipeline (the ``indexing`` workers) and wait up to ``SEED000_UPLOAD_WAIT_S`` for it
    → ``{doc_id, status, segment_count, error}``; ``status`` is ``completed``, ``error`` or still in
    progress when the wait ran out.
    Raises what the upload raises (413 size, 415 type, 422 no file), ``NotFoundError`` (kb)."""
    dataset_service.get_owned_dataset(account_id, kb_id)
    upload = upload_service.upload_file(account_id, stream, filename, mimetype)
    created = document_service.create_documents(account_id, kb_id, [uuid.UUID(upload["id"])], "automatic", None)
    document_id = uuid.UUID(created["documents"][0]["id"])
    deadline = time.monotonic() + current_app.config["SEED000_UPLOAD_WAIT_S"]
    while True:
        db.session.expire_all()
        document = db.session.get(Document, document_id)
        if document.status in ("completed", "error") or time.monotonic() >= deadline:
            break
        db.session.rollback()  # do not hold a transaction (or a pooled connection) while waiting
        time.sleep(0.25)
    return {"doc_id": str(document.id), "status": document.status, "segment_count": document.segment_count,
            "completed_segment_count": document.completed_segment_count, "error": document.error}


def list_documents(account_id: uuid.UUID, kb_id: uuid.UUID) -> list[dict]:
    """Seed 000 "Get Document List": ``[{doc_id, kb_id, doc_name, file_type, status, ...}]``."""
    rows, _ = document_service.list_documents(account_id, kb_id, 1, 10_000)
    return [{"doc_id": r["id"], "kb_id": r["dataset_id"], "doc_name": r["name"],
             "file_type": r["name"].rsplit(".", 1)[-1].lower() if "." in r["name"] else "",
             "status": r["status"], "segment_count": r["segment_count"], "error": r["error"]} for r in rows]
