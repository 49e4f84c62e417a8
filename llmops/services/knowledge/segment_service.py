"""Segments of a completed document: list, create, read, update, enable, delete.

A created or updated segment is embedded and indexed at once (vector + full-text postings) in
the request, so it is searchable when the call returns.
"""

from __future__ import annotations

import contextlib
import hashlib

import sqlalchemy as sa

from llmops.errors import FailError, NotFoundError, ServiceUnavailableError
from llmops.extensions import db
from llmops.models import Document, Segment, SegmentTerm
from llmops.models.base import unix, utcnow
from llmops.providers.errors import ProviderError
from llmops.rag.vector_store import VectorStoreUnavailable
from llmops.runtime import runtime
from llmops.services.common import contains, paginate, retry_on_conflict
from llmops.services.core import metering
from llmops.services.knowledge import indexing_service
from llmops.services.knowledge.document_service import get_owned_document


def segment_to_dict(segment: Segment) -> dict:
    return {
        "id": str(segment.id), "document_id": str(segment.document_id), "dataset_id": str(segment.dataset_id),
        "position": segment.position, "content": segment.content, "keywords": segment.keywords,
        "character_count": segment.character_count, "token_count": segment.token_count,
        "hit_count": segment.hit_count, "hash": segment.content_hash, "enabled": segment.enabled,
        "disabled_at": 0 if segment.enabled else unix(segment.updated_at), "status": segment.status,
        "error": segment.error, "created_at": unix(segment.created_at), "updated_at": unix(segment.updated_at),
    }


def _owned_segment(account_id, dataset_id, document_id, segment_id) -> tuple[Document, Segment]:
    document = get_owned_document(account_id, dataset_id, document_id)
    segment = db.session.get(Segment, segment_id)
    if segment is None or segment.document_id != document.id:
        raise NotFoundError("segment not found")
    return document, segment


def list_segments(account_id, dataset_id, document_id, current_page: int, page_size: int,
                  search_word: str = "") -> tuple[list, dict]:
    document = get_owned_document(account_id, dataset_id, document_id)
    query = sa.select(Segment).where(Segment.document_id == document.id)
    if search_word:
        query = query.where(contains(Segment.content, search_word))
    rows, page = paginate(query, (Segment.position,), current_page, page_size)
    return [segment_to_dict(s) for s in rows], page


def get_segment(account_id, dataset_id, document_id, segment_id) -> dict:
    return segment_to_dict(_owned_segment(account_id, dataset_id, document_id, segment_id)[1])


def create_segment(account_id, dataset_id, document_id, content: str, keywords: list[str] | None) -> dict:
    """Append a segment to a completed document, embedded and indexed before returning."""
    content_hash = hashlib.sha256(content.encode()).hexdigest()
    model = runtime().embedding_model
    vector = []

    def write() -> Segment:  # positions are unique per document: a concurrent append retries
        document = get_owned_document(account_id, dataset_id, document_id)
        if document.status != "completed":
            raise FailError("segments can be added only to a completed document")
        position = (db.session.scalar(sa.select(sa.func.max(Segment.position))
                                      .where(Segment.document_id == document.id)) or 0) + 1
        segment = Segment(id=indexing_service.segment_id_for(document.id, position, content_hash),
                          account_id=account_id, dataset_id=document.dataset_id, document_id=document.id,
                          position=position, content=content, content_hash=content_hash, keywords=keywords or [],
                          character_count=len(content), token_count=model.count_tokens(content), status="indexing")
        db.session.add(segment)
        db.session.flush()  # the position is taken here (uq_segment_document_position)
        if not vector:  # embedded once, whatever the retries
            vector.append(_embed(document, model, content))
        _index(document, segment, vector[0])
        # counters move in SQL (``count = count + 1``): concurrent appends each hold a stale copy
        document.segment_count = Document.segment_count + 1
        document.completed_segment_count = Document.completed_segment_count + 1
        document.character_count = Document.character_count + len(content)
        db.session.commit()
        return segment

    return segment_to_dict(retry_on_conflict(write, "this document's segments"))


def update_segment(account_id, dataset_id, document_id, segment_id, changes: dict) -> dict:
    """Change ``content`` and/or ``keywords``; the segment is re-embedded and re-indexed."""
    document, segment = _owned_segment(account_id, dataset_id, document_id, segment_id)
    if "content" in changes:
        document.character_count = Document.character_count + len(changes["content"]) - segment.character_count
        segment.content = changes["content"]
        segment.content_hash = hashlib.sha256(segment.content.encode()).hexdigest()
        segment.character_count = len(segment.content)
        segment.token_count = runtime().embedding_model.count_tokens(segment.content)
    if "keywords" in changes:
        segment.keywords = changes["keywords"]
    _index(document, segment)
    db.session.commit()
    return segment_to_dict(segment)


def set_segment_enabled(account_id, dataset_id, document_id, segment_id, enabled: bool) -> None:
    document, segment = _owned_segment(account_id, dataset_id, document_id, segment_id)
    segment.enabled = enabled
    with _vector_store("the segment was not changed") as store:
        store.set_enabled(document.dataset_id, [str(segment.id)], enabled and document.enabled)
    indexing_service.mark_index_changed(document.dataset_id)
    db.session.commit()


def delete_segment(account_id, dataset_id, document_id, segment_id) -> None:
    document, segment = _owned_segment(account_id, dataset_id, document_id, segment_id)
    with _vector_store("the segment was not deleted") as store:
        store.delete(document.dataset_id, ids=[str(segment.id)])
    db.session.execute(sa.delete(SegmentTerm).where(SegmentTerm.segment_id == segment.id))
    document.segment_count = Document.segment_count - 1
    document.completed_segment_count = Document.completed_segment_count - (1 if segment.status == "completed" else 0)
    document.character_count = Document.character_count - segment.character_count
    db.session.delete(segment)
    indexing_service.mark_index_changed(document.dataset_id)
    db.session.commit()


@contextlib.contextmanager
def _vector_store(what: str):
    """The vector store, its outage turned into ``ServiceUnavailableError`` (503) saying ``what``
    did not happen (the caller's transaction is rolled back)."""
    try:
        yield runtime().vector_store
    except VectorStoreUnavailable as exc:
        raise ServiceUnavailableError(f"{what}: {exc.message}; try again later") from exc


def _embed(document: Document, model, content: str) -> list[float]:
    """The segment's vector; ``ServiceUnavailableError`` (503, naming the embedding model) when the
    provider cannot answer — the caller's transaction is rolled back, nothing is saved."""
    try:
        return metering.embed(document.account_id, model, [content], "segments.index")[0]
    except ProviderError as exc:
        raise ServiceUnavailableError(
            f"the segment was not saved: the embedding model failed ({exc.message}); try again later") from exc


def _index(document: Document, segment: Segment, vector: list[float] | None = None) -> None:
    if vector is None:
        vector = _embed(document, runtime().embedding_model, segment.content)
    with _vector_store("the segment was not saved") as store:
        store.upsert(document.dataset_id, [str(segment.id)], [vector], [
            {"document_id": str(document.id), "dataset_id": str(document.dataset_id),
             "enabled": segment.enabled and document.enabled}])
    indexing_service.write_postings([segment])
    segment.status, segment.completed_at, segment.error = "completed", utcnow(), ""
    indexing_service.mark_index_changed(document.dataset_id)
