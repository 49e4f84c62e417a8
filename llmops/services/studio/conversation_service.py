"""End users' conversations (course module 05): messages, rename, auto-name, pin, delete.

A conversation is the caller's when it is a web-app conversation they started (``created_by``)
or the debug conversation of one of their apps; anything else (another account's, a deleted
app's) is ``NotFoundError``.

Auto-name: when a web-app conversation's first round ends, its name becomes a deterministic
fallback (the start of the query) at once, and a Celery task (queue ``memory``) asks the app's
model for a short title and replaces the fallback with it, unless the user renamed it meanwhile.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app

from llmops.errors import NotFoundError, QuotaExceededError
from llmops.extensions import db
from llmops.models import App, Conversation, Message
from llmops.models.base import unix, utcnow
from llmops.providers.tokens import estimate_messages_tokens
from llmops.services.common import enqueue, paginate
from llmops.services.core import metering, model_service
from llmops.services.studio import chat_service

DEFAULT_NAME = "New Conversation"
AUTO_NAME_TASK = "llmops.tasks.conversations.auto_name"
NAME_MAX_CHARS = 40
NAME_INSTRUCTIONS = (
    "Write a short title (at most eight words) for a conversation that starts with the user's "
    "message below, in the language of that message. Answer with the title only, no quotes."
)


def get_owned_conversation(account_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
    """The caller's live conversation of a live app (see the module docstring), else ``NotFoundError``."""
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None or conversation.is_deleted or conversation.app_id is None:
        raise NotFoundError("conversation not found")
    app = db.session.get(App, conversation.app_id)
    if conversation.invoke_from == "web_app":
        mine = conversation.created_by == account_id
    else:
        mine = conversation.invoke_from == "debugger" and conversation.account_id == account_id
    if app is None or app.is_deleted or not mine:
        raise NotFoundError("conversation not found")
    return conversation


def list_messages(account_id: uuid.UUID, conversation_id: uuid.UUID, current_page: int, page_size: int,
                  created_at: int = 0) -> tuple[list[dict], dict]:
    """§5.2: the conversation's rounds, newest first, soft-deleted excluded; ``created_at``
    (Unix seconds, 0 = none) keeps rounds created in or before that second."""
    conversation = get_owned_conversation(account_id, conversation_id)
    query = sa.select(Message).where(Message.conversation_id == conversation.id, Message.is_deleted.is_(False))
    if created_at:
        query = query.where(Message.created_at < datetime.fromtimestamp(created_at + 1, UTC).replace(tzinfo=None))
    rows, page = paginate(query, (Message.created_at.desc(), Message.id.desc()), current_page, page_size)
    return [course_message(m) for m in rows], page


def course_message(message: Message) -> dict:
    """A message with the course's fields (§5.2) beside ours: ``latency`` in seconds,
    ``total_token_count``, ``image_urls``, ``agent_thoughts``."""
    data = chat_service.message_to_dict(message)
    data.setdefault("latency", round(message.response_latency / 1000, 3))
    data.setdefault("total_token_count", message.total_tokens)
    data.setdefault("image_urls", [])
    data.setdefault("agent_thoughts", [])
    return data


def delete_conversation(account_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """§5.3: soft-delete the conversation and its messages (a debug conversation is replaced by
    a fresh one at the next debug round)."""
    conversation = get_owned_conversation(account_id, conversation_id)
    conversation.is_deleted = True
    db.session.execute(sa.update(Message).where(Message.conversation_id == conversation.id)
                       .values(is_deleted=True, updated_at=utcnow()))
    app = db.session.get(App, conversation.app_id)
    if app.debug_conversation_id == conversation.id:
        app.debug_conversation_id = None
    db.session.commit()


def delete_message(account_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID) -> None:
    """§5.4: soft-delete one round of the conversation (``NotFoundError`` unless both ids match)."""
    conversation = get_owned_conversation(account_id, conversation_id)
    message = db.session.get(Message, message_id)
    if message is None or message.is_deleted or message.conversation_id != conversation.id:
        raise NotFoundError("message not found")
    message.is_deleted = True
    db.session.commit()


def get_name(account_id: uuid.UUID, conversation_id: uuid.UUID) -> dict:
    """§5.5 → ``{name}``."""
    return {"name": get_owned_conversation(account_id, conversation_id).name}


def rename(account_id: uuid.UUID, conversation_id: uuid.UUID, name: str) -> None:
    """§5.6 (the name is stripped)."""
    conversation = get_owned_conversation(account_id, conversation_id)
    conversation.name = name.strip()
    db.session.commit()


def set_pinned(account_id: uuid.UUID, conversation_id: uuid.UUID, is_pinned: bool) -> None:
    """§5.7."""
    conversation = get_owned_conversation(account_id, conversation_id)
    conversation.is_pinned = is_pinned
    db.session.commit()


def conversation_to_dict(conversation: Conversation) -> dict:
    """§5.1's item (``id``, ``name``, ``summary``, ``created_at``) plus ``is_pinned``, ``updated_at``."""
    return {"id": str(conversation.id), "name": conversation.name, "summary": conversation.summary,
            "is_pinned": conversation.is_pinned, "updated_at": unix(conversation.updated_at),
            "created_at": unix(conversation.created_at)}


def fallback_name(query: str) -> str:
    """The deterministic name: the query's words, cut to ``NAME_MAX_CHARS`` characters."""
    text = " ".join(query.split())
    return text if len(text) <= NAME_MAX_CHARS else text[:NAME_MAX_CHARS - 1].rstrip() + "…"


def start_auto_name(conversation_id: uuid.UUID, message_id: uuid.UUID) -> None:
    """After a new conversation's first round: the fallback name at once (if the conversation
    still has the default name), then the model's title from the worker. Never raises."""
    try:
        message = db.session.get(Message, message_id)
        if message is None:
            return
        updated = db.session.execute(
            sa.update(Conversation).where(Conversation.id == conversation_id, Conversation.name == DEFAULT_NAME)
            .values(name=fallback_name(message.query))
        ).rowcount
        db.session.commit()
        if updated:
            enqueue(AUTO_NAME_TASK, [str(conversation_id), str(message_id)], "memory")
    except Exception:  # noqa: BLE001 — naming is a nicety: the fallback (or default) name stays
        db.session.rollback()
        current_app.logger.exception("could not start naming conversation %s", conversation_id)


def auto_name(conversation_id: uuid.UUID, message_id: uuid.UUID) -> str | None:
    """Replace the fallback name with the model's short title → the new name, or None when the
    conversation was renamed or deleted meanwhile, or the model gave nothing usable (the
    fallback stays). Raises ``ProviderError`` (the task retries, then gives up)."""
    message = db.session.get(Message, message_id)
    conversation = db.session.get(Conversation, conversation_id)
    if message is None or conversation is None or conversation.is_deleted:
        return None
    expected = fallback_name(message.query)
    if conversation.name != expected:
        return None
    name = title_from_model(message.provider, message.model, message.query, account_id=message.account_id)
    if not name:
        return None
    db.session.rollback()
    updated = db.session.execute(
        sa.update(Conversation).where(Conversation.id == conversation_id, Conversation.name == expected)
        .values(name=name)
    ).rowcount
    db.session.commit()
    return name if updated else None


def title_from_model(provider: str, model: str, query: str, account_id: uuid.UUID | None = None) -> str:
    """The model's title for a conversation starting with ``query``, cleaned (one line, no quotes
    or trailing punctuation, at most ``NAME_MAX_CHARS``); "" when unusable. Raises ``ProviderError``.
    With ``account_id`` the call is metered (surface ``ai``); "" when the account cannot pay."""
    messages = [{"role": "system", "content": NAME_INSTRUCTIONS}, {"role": "user", "content": query[:1000]}]
    charge = None
    if account_id is not None:
        try:
            charge = metering.reserve(account_id, model_service.get_model(provider, model),
                                      estimate_messages_tokens(messages), 24, surface="ai",
                                      endpoint="conversation.name", model=model, direct=True)
        except QuotaExceededError:
            return ""
    client = model_service.get_chat_client(provider)
    try:
        result = client.complete(model, messages, temperature=0.2, max_tokens=24)
    except BaseException as exc:
        if charge is not None:
            charge.settle(0, 0, False, "error", 502, str(exc)[:500])
        raise
    if charge is not None:
        charge.settle(result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.estimated, "success")
    lines = [line for line in result.content.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    title = re.sub(r"^(title|标题)\s*[:：]\s*", "", lines[0].strip(), flags=re.IGNORECASE)
    title = title.strip(" \"'“”‘’`*#.。!！")
    return fallback_name(title) if title else ""

