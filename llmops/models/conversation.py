"""Conversations and messages (seed 002 §1.5–1.7)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from llmops.models.base import Base, IdMixin, TimestampMixin

MESSAGE_STATUSES = ("normal", "stop", "error", "timeout")


class Conversation(IdMixin, TimestampMixin, Base):
    """``summary`` is the long-term memory; ``summary_version`` guards concurrent folds."""

    __tablename__ = "conversation"

    app_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("app.id"), nullable=False, index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="New Conversation")
    invoke_from: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="debugger")
    # Open API conversations (``POST /v1/apps/:id/chat``): the caller's own user id, if it sent one.
    end_user_id: Mapped[str | None] = mapped_column(sa.String(255))
    summary: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    summary_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class Message(IdMixin, TimestampMixin, Base):
    """One round: the user's ``query`` and the model's ``answer``.

    ``response_latency`` is milliseconds; ``memory_status`` is ``none``, ``pending`` (a summary
    fold is queued) or ``done``.
    """

    __tablename__ = "message"
    __table_args__ = (
        sa.Index("ix_message_conversation_created", "conversation_id", "created_at"),
        sa.Index("ix_message_memory_pending", "memory_status", "updated_at"),
    )

    app_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("app.id"), nullable=False)
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
    # Sources retrieved for this answer (records of API.md A ``dataset_retrieval``); None when none.
    retrieval_records: Mapped[list | None] = mapped_column(sa.JSON)
    memory_status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="none")
    memory_folded_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
