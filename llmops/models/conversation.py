"""Conversations and messages (seed 002 §1.5–1.7)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from llmops.models.base import Base, IdMixin, TimestampMixin

MESSAGE_STATUSES = ("normal", "stop", "error", "timeout")


class Conversation(IdMixin, TimestampMixin, Base):
    """``summary`` is the long-term memory; ``summary_version`` guards concurrent folds.

    ``account_id`` is the app's owner (who pays); ``created_by`` the end user of a web-app
    conversation (``invoke_from = web_app``), who alone sees it."""

    __tablename__ = "conversation"
    __table_args__ = (sa.Index("ix_conversation_app_created_by", "app_id", "created_by"),)

    # None for a model conversation (seed 000's ``/api/conversations``): no app, see ``ModelConversation``.
    app_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("app.id"), index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="New Conversation")
    invoke_from: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="debugger")
    # Open API conversations (``POST /v1/apps/:id/chat``): the caller's own user id, if it sent one.
    end_user_id: Mapped[str | None] = mapped_column(sa.String(255))
    summary: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    summary_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("account.id"))
    is_pinned: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class Message(IdMixin, TimestampMixin, Base):
    """One round: the user's ``query`` and the model's ``answer``.

    ``response_latency`` is milliseconds; ``memory_status`` is ``none``, ``pending`` (a summary
    fold is queued), ``done`` or ``failed`` (its fold's runs died ``MEMORY_MAX_ATTEMPTS`` times in a
    row: the round stays out of the summary).
    """

    __tablename__ = "message"
    __table_args__ = (
        sa.Index("ix_message_conversation_created", "conversation_id", "created_at"),
        sa.Index("ix_message_memory_pending", "memory_status", "updated_at"),
        sa.Index("ix_message_app_created", "app_id", "created_at"),
    )

    app_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("app.id"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversation.id"), nullable=False
    )
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False)
    task_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    query: Mapped[str] = mapped_column(sa.Text, nullable=False)
    answer: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    provider: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    model: Mapped[str] = mapped_column(sa.String(128), nullable=False, default="")
    prompt_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    answer_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    total_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    usage_estimated: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    response_latency: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    first_token_latency: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="normal")
    error: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # Sources retrieved for this answer (records of docs/api.md A ``dataset_retrieval``); None when none.
    retrieval_records: Mapped[list | None] = mapped_column(sa.JSON)
    memory_status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="none")
    memory_folded_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # The claim of the fold working on this round (``llmops.services.core.claims``).
    claimed_by: Mapped[str | None] = mapped_column(sa.String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # Fold runs that took this round and never ended (killed workers); reset when a run ends.
    memory_attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class ModelConversation(Base):
    """A conversation with a model directly, without an app (seed 000's ``/api/conversations``).

    ``id`` is the integer ``conversation_id`` seed 000's clients use: allocated by the database, so
    two conversations never share one (the seed drew random six-digit numbers). The upstream API
    key a client may give is kept only encrypted (``llmops.services.core.secret_box``); ``api_key_hint``
    is its masked form for display.
    """

    __tablename__ = "model_conversation"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("conversation.id"), nullable=False, unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    model: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    api_key_ciphertext: Mapped[str | None] = mapped_column(sa.Text)
    api_key_hint: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
