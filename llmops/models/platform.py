"""Platform tables: shared state for the embedded profile and provider overrides."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from llmops.models.base import Base, TimestampMixin


class StateEntry(Base):
    """Key/value with expiry: token revocations, stop flags (``STATE_STORE_URL=database``)."""

    __tablename__ = "state_entry"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False, index=True)


class ProviderOverride(TimestampMixin, Base):
    """A database override of a provider in the YAML registry (base URL, key variable, enabled)."""

    __tablename__ = "provider_override"

    provider: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    base_url: Mapped[str | None] = mapped_column(sa.String(512))
    api_key_env: Mapped[str | None] = mapped_column(sa.String(128))
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
