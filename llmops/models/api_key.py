"""The gateway's tables (docs/api.md A "API keys, usage, models, admin"; seeds 003, 004): API keys
(shown once, stored as a SHA-256 hash), usage logs and daily roll-ups, redeem codes, active models."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from llmops.models.base import Base, IdMixin, TimestampMixin


class ApiKey(IdMixin, TimestampMixin, Base):
    """An account's key for ``/v1``, a sub-limit of its account. ``quota`` (the key's own cap)
    and ``used_quota`` are in credits (1 credit = 1e-6 USD); ``quota`` None means only the
    account's balance limits it. ``models`` is an allow-list of model names (empty: every
    model). ``rpm``/``tpm``/``max_streams`` None means no limit."""

    __tablename__ = "api_key"

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False, index=True)
    remark: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    key_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    key_hint: Mapped[str] = mapped_column(sa.String(32), nullable=False, default="")
    quota: Mapped[int | None] = mapped_column(sa.BigInteger)
    used_quota: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0, server_default="0")
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    models: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    rpm: Mapped[int | None] = mapped_column(sa.Integer)
    tpm: Mapped[int | None] = mapped_column(sa.Integer)
    max_streams: Mapped[int | None] = mapped_column(sa.Integer)
    app_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("app.id"))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class UsageLog(IdMixin, Base):
    """One model call from any surface (``surface``: gateway, debug, app_api, memory, seed000,
    voice, seed003, vision, embedding, ...): tokens (``estimated`` when the upstream sent none),
    the cost charged in credits (``cost_credits``; ``cost_usd`` the same in USD), latency and
    time to first token in ms, final status. Written in batches by the ``usage`` queue;
    ``request_id`` makes a re-delivered batch harmless."""

    __tablename__ = "usage_log"
    __table_args__ = (
        sa.Index("ix_usage_log_key_created", "api_key_id", "created_at"),
        sa.Index("ix_usage_log_account_created", "account_id", "created_at"),
    )

    request_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    endpoint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    model: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    provider: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    is_stream: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    prompt_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    completion_tokens: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    estimated: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    cost_usd: Mapped[float] = mapped_column(sa.Float, nullable=False, default=0.0)
    cost_credits: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0, server_default="0")
    surface: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="gateway", server_default="gateway")
    latency_ms: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    first_token_ms: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    status_code: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=200)
    error: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False)


class UsageDaily(Base):
    """Per key, model and UTC day: the roll-up of ``usage_log`` kept after the log's retention."""

    __tablename__ = "usage_daily"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    api_key_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    model: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False, index=True)
    requests: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    errors: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    prompt_tokens: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    completion_tokens: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    cost_usd: Mapped[float] = mapped_column(sa.Float, nullable=False, default=0.0)
    latency_p50_ms: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class RedeemCode(IdMixin, Base):
    """A single-use code that adds ``quota`` credits (1 credit = 1e-6 USD) to the balance of the
    account that redeems it; only its SHA-256 is stored (the plain code is shown once, to the
    admin who generated it)."""

    __tablename__ = "redeem_code"

    code_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    quota: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False)
    redeemed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    redeemed_by_key_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    redeemed_by_account_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)


MODEL_KINDS = ("language", "vision", "embedding")  # ActiveModel.kind, ModelPrice.kind


class ActiveModel(Base):
    """The active default model per kind (language, vision, embedding), set by an admin
    (``POST /admin/models/active``); every process reads it from here."""

    __tablename__ = "active_model"

    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    model: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False)


class ModelPrice(Base):
    """A model an admin added under a provider, or a new price for a listed one (``POST
    /admin/models``): prices in USD per 1M tokens (= credits per token), sizes in tokens."""

    __tablename__ = "model_price"

    provider: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    model: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="language")
    input_price: Mapped[float] = mapped_column(sa.Float, nullable=False)
    output_price: Mapped[float] = mapped_column(sa.Float, nullable=False)
    context_window: Mapped[int | None] = mapped_column(sa.Integer)
    max_output: Mapped[int | None] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False)


class QuotaHold(Base):
    """A metered call between its reservation and its usage row (``llmops.quota``, embedded
    profile; the Redis ledger keeps the same in Redis): ``open`` while the call runs (``record``:
    the usage row to write if its process dies), ``settled`` once its cost is taken and its usage
    row is buffered (``record``: that row). Deleted when the row is written; the reconciliation
    job (``usage_service.reconcile``) settles and writes what is past ``expires_at``."""

    __tablename__ = "quota_hold"

    request_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    reserved: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    state: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="open")
    record: Mapped[str] = mapped_column(sa.Text, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False, index=True)
