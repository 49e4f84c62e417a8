"""Accounts: every studio resource is owned by one; invite codes for ``REGISTRATION=invite``.
Each account holds a balance in integer credits (1 credit = 1e-6 USD) and a ledger of every
change to it."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from llmops.models.base import Base, IdMixin, TimestampMixin, utcnow


class Account(IdMixin, TimestampMixin, Base):
    __tablename__ = "account"

    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    email: Mapped[str] = mapped_column(sa.String(255), nullable=False, unique=True)
    # Seed 000's clients log in by user name (``/api/users/*``); studio accounts have none.
    username: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    avatar: Mapped[str] = mapped_column(sa.String(512), nullable=False, default="")
    is_admin: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    last_login_ip: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    # Set by an admin: the account's keys and tokens are refused until it is enabled again.
    disabled_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # Every JWT carries the version it was issued under (``sv``); bumping it revokes them all.
    session_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    # Money, in integer credits (1 credit = 1e-6 USD): ``balance`` is what is left to spend (calls
    # in flight hold their reservation), ``used`` what settled calls have cost so far.
    balance: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0, server_default="0")
    used: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0, server_default="0")


class InviteCode(IdMixin, Base):
    """A single-use code admitting one registration when ``REGISTRATION=invite`` (SHA-256 stored)."""

    __tablename__ = "invite_code"

    code_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    code_hint: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    used_by: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("account.id"))


class AccountOAuth(IdMixin, TimestampMixin, Base):
    """An account's identity at a third-party login provider (``provider`` e.g. ``github``,
    ``openid`` the provider's user id); one account per identity."""

    __tablename__ = "account_oauth"
    __table_args__ = (sa.UniqueConstraint("provider", "openid", name="uq_account_oauth_provider_openid"),)

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    openid: Mapped[str] = mapped_column(sa.String(255), nullable=False)


class AccountLedger(IdMixin, Base):
    """One change of an account's balance, in credits: ``delta`` (+ credit, - debit) and the
    balance after it. ``kind``: ``grant``/``debit`` (an admin, with a reason), ``redeem`` (a code),
    ``signup`` (``NEW_ACCOUNT_CREDIT``), ``usage`` (one settled priced model call; ``request_id``
    is its usage-log row's)."""

    __tablename__ = "account_ledger"
    __table_args__ = (sa.Index("ix_account_ledger_account_created", "account_id", "created_at"),)

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False)
    delta: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    balance_after: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    request_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False, default=utcnow)
