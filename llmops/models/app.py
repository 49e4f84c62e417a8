"""Apps and their configurations (seed 002 §01).

An app points at up to two live configurations: the draft being edited and the published one.
Publishing freezes the draft into a new numbered ``published`` row; older published rows stay
as the publish history.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from llmops.models.base import Base, IdMixin, TimestampMixin


class App(IdMixin, TimestampMixin, Base):
    __tablename__ = "app"
    __table_args__ = (sa.Index("ix_app_account_created", "account_id", "created_at"),)

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    icon: Mapped[str] = mapped_column(sa.String(512), nullable=False, default="")
    description: Mapped[str] = mapped_column(sa.String(800), nullable=False, default="")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="draft")
    drafted_app_config_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    published_app_config_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    debug_conversation_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    # The web app's access token (course §1.19/1.20, §15): made at the first publish, replaced on demand.
    token: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class AppConfig(IdMixin, TimestampMixin, Base):
    """One configuration of an app; ``status`` is ``drafted`` or ``published``."""

    __tablename__ = "app_config"
    __table_args__ = (
        sa.Index("ix_app_config_app_status", "app_id", "status", "version"),
        # one number per published version of an app (drafts all have version 0)
        sa.Index("uq_app_config_app_version", "app_id", "version", unique=True,
                 sqlite_where=sa.text("status = 'published'"), postgresql_where=sa.text("status = 'published'")),
    )

    app_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("app.id"), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="drafted")
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    model_config: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    memory_mode: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="none")
    preset_prompt: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    dataset_ids: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    retrieval_config: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    opening_statement: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # The course front end's keys (stored and returned as given; see app_service.COURSE_DEFAULTS).
    tools: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    workflows: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    opening_questions: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    speech_to_text: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    text_to_speech: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    suggested_after_answer: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    review_config: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
