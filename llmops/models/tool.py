"""Custom API tools (course module 02) and the recorded steps of agent runs (course 1.13's
``agent_thoughts``)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from llmops.models.base import Base, IdMixin, TimestampMixin


class ApiToolProvider(IdMixin, TimestampMixin, Base):
    """An account's API tool provider: an OpenAPI schema (the course's simplified one or OpenAPI 3)
    and the headers sent with every call. ``headers_ciphertext`` is the headers' JSON list
    (``[{key, value}]``) encrypted with ``services.secret_box``; reads show values masked."""

    __tablename__ = "api_tool_provider"
    __table_args__ = (sa.UniqueConstraint("account_id", "name", name="uq_api_tool_provider_account_name"),)

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    icon: Mapped[str] = mapped_column(sa.String(512), nullable=False, default="")
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    openapi_schema: Mapped[str] = mapped_column(sa.Text, nullable=False)
    headers_ciphertext: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")


class ApiTool(IdMixin, TimestampMixin, Base):
    """One operation of a provider's schema: ``name`` is its ``operationId``, ``parameters`` the
    list ``[{name, in, type, required, description}]`` the model fills."""

    __tablename__ = "api_tool"
    __table_args__ = (sa.UniqueConstraint("provider_id", "name", name="uq_api_tool_provider_name"),)

    provider_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("api_tool_provider.id", ondelete="CASCADE"),
                                                   nullable=False, index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    url: Mapped[str] = mapped_column(sa.String(2048), nullable=False)
    method: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    parameters: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)


class MessageAgentThought(IdMixin, TimestampMixin, Base):
    """One step of an agent run: ``event`` is ``agent_thought`` (the model chose tools),
    ``agent_action`` (one tool call: ``tool``, ``tool_input``, ``observation``),
    ``dataset_retrieval`` or ``agent_message`` (the answer). ``latency`` is seconds;
    tokens are the step's model call (0 for a tool call)."""

    __tablename__ = "message_agent_thought"
    __table_args__ = (sa.Index("ix_message_agent_thought_message_position", "message_id", "position"),)

    message_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("message.id"), nullable=False)
    conversation_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    event: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    thought: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    observation: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    tool: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    tool_input: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    answer: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    prompt_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    answer_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    total_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    latency: Mapped[float] = mapped_column(sa.Float, nullable=False, default=0.0)
