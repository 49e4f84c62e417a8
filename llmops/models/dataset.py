"""Knowledge bases (docs/api.md A "Knowledge bases"; seeds 000, 002): datasets, uploaded files,
documents, segments, the full-text inverted index and the query log."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from llmops.models.base import Base, IdMixin, TimestampMixin

DOCUMENT_STATUSES = ("waiting", "parsing", "splitting", "indexing", "completed", "error")
SEGMENT_STATUSES = ("waiting", "indexing", "completed", "error")


class Dataset(IdMixin, TimestampMixin, Base):
    __tablename__ = "dataset"
    __table_args__ = (sa.UniqueConstraint("account_id", "name", name="uq_dataset_account_name"),)

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    icon: Mapped[str] = mapped_column(sa.String(512), nullable=False, default="")
    description: Mapped[str] = mapped_column(sa.String(2000), nullable=False, default="")
    # Bumped whenever the set of searchable segments changes; tags the per-process full-text
    # snapshots (llmops.rag.fulltext) so every process notices at once.
    index_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")


class UploadFile(IdMixin, TimestampMixin, Base):
    """A stored upload; ``key`` is its path under the uploads folder, ``hash`` its SHA-256."""

    __tablename__ = "upload_file"

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    key: Mapped[str] = mapped_column(sa.String(512), nullable=False)
    size: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    extension: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    mime_type: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)


class Document(IdMixin, TimestampMixin, Base):
    """One uploaded file being (or done being) indexed into a dataset; each stage stamps its time."""

    __tablename__ = "document"
    __table_args__ = (
        sa.Index("uq_document_dataset_position", "dataset_id", "position", unique=True),
        sa.Index("ix_document_status_updated", "status", "updated_at"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False)
    dataset_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("dataset.id"), nullable=False)
    upload_file_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("upload_file.id"), nullable=False)
    batch: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    process_type: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="automatic")
    process_rule: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    character_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    token_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    segment_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    completed_segment_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="waiting")
    error: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    is_paused: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    processing_started_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    parsing_completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    splitting_completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    indexing_completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    is_deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    # The claim of the indexing run working on it (``llmops.services.core.claims``): who, until when
    # (renewed while it works), and how many runs in a row ended without releasing it (crashed).
    claimed_by: Mapped[str | None] = mapped_column(sa.String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")


class Segment(TimestampMixin, Base):
    """A chunk of a document. ``id`` is derived from the document id and the chunk's content hash
    (uuid5), so re-running indexing never duplicates segments or their vectors."""

    __tablename__ = "segment"
    __table_args__ = (
        sa.Index("uq_segment_document_position", "document_id", "position", unique=True),
        sa.Index("ix_segment_dataset_enabled", "dataset_id", "enabled", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False)
    dataset_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("dataset.id"), nullable=False)
    document_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("document.id"), nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    content: Mapped[str] = mapped_column(sa.Text, nullable=False)
    content_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    keywords: Mapped[list] = mapped_column(sa.JSON, nullable=False, default=list)
    character_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    token_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    term_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)  # BM25 document length
    hit_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="waiting")
    error: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)


class SegmentTerm(Base):
    """The full-text inverted index: one posting (term, segment, term frequency)."""

    __tablename__ = "segment_term"
    __table_args__ = (sa.Index("ix_segment_term_dataset_term", "dataset_id", "term"),)

    segment_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    dataset_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    tf: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class DatasetQuery(IdMixin, Base):
    """A query run against a dataset (hit testing or an app's retrieval)."""

    __tablename__ = "dataset_query"
    __table_args__ = (sa.Index("ix_dataset_query_dataset_created", "dataset_id", "created_at"),)

    dataset_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("dataset.id"), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("account.id"), nullable=False)
    query: Mapped[str] = mapped_column(sa.Text, nullable=False)
    source: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="hit_testing")
    source_app_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, nullable=False)


class AppDatasetJoin(Base):
    """Which apps (draft or published config) use which datasets; feeds ``app_count``."""

    __tablename__ = "app_dataset_join"

    app_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("app.id"), primary_key=True)
    dataset_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("dataset.id"), primary_key=True)
