"""Accounts: every studio resource is owned by one."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from llmops.models.base import Base, IdMixin, TimestampMixin


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
