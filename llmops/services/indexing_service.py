"""The document indexing pipeline (one Celery task per document, queue ``indexing``).

parse (unstructured) → clean → split (token-aware, Chinese/English) → embed in batches → write
vectors (Chroma), postings (full-text index) and ``segment`` rows.

* Each stage stamps its time on the document; ``completed_segment_count`` advances batch by
  batch so a progress bar can follow it.
* Resumable: the parsed text is kept on disk and the stage reached is the document's status, so a
  re-run (redelivery, resume, stuck re-dispatch) continues where it stopped; segments already
  ``completed`` are not embedded again.
* Idempotent: segment ids are uuid5(document id, position + content hash); vectors are upserted
  by segment id and postings replaced, so running twice never duplicates anything.
* Failures mark the document ``error`` with a readable message and ``stopped_at``; the task
  itself returns normally so the worker carries on with other documents.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from llmops.extensions import db
from llmops.models import Dataset, Document, Segment, SegmentTerm, UploadFile
from llmops.models.base import utcnow
from llmops.providers.errors import ProviderError
from llmops.rag.cleaning import clean
from llmops.rag.fulltext import term_frequencies
from llmops.rag.loaders import LoaderError, load_text
from llmops.rag.splitters import TextSplitter
from llmops.services import metering
from llmops.services.rag_runtime import get_embedding_model, get_vector_store

INDEX_TASK = "llmops.tasks.indexing.index_document"
ACTIVE_STATUSES = ("waiting", "parsing", "splitting", "indexing")
AUTOMATIC_RULE = {
    "pre_process_rules": [{"id": "remove_extra_space", "enabled": True}, {"id": "remove_url_and_email", "enabled": False}],
    "segment": {"separators": ["\n\n", "\n", "。", "！", "？", ". ", "; ", "，", ", ", " "], "chunk_size": 500,
                "chunk_overlap": 50},
}


def dispatch(document_id: uuid.UUID) -> None:
    """Queue indexing of one document (a broker failure leaves it for the stuck re-dispatch)."""
    try:
        current_app.extensions["celery"].send_task(INDEX_TASK, args=[str(document_id)], queue="indexing")
    except Exception:  # noqa: BLE001
        current_app.logger.exception("could not queue indexing of document %s", document_id)


def parsed_text_path(document_id: uuid.UUID) -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"]) / "parsed" / f"{document_id}.txt"


def segment_id_for(document_id: uuid.UUID, position: int, content_hash: str) -> uuid.UUID:
    return uuid.uuid5(document_id, f"{position}:{content_hash}")


def index_document(document_id: uuid.UUID) -> str:
    """Run (or continue) the pipeline for one document → the status it ended in."""
    document = db.session.get(Document, document_id)
    if document is None or document.is_deleted:
        return "missing"
    if document.status in ("completed", "error") or document.is_paused:
        return document.status
    try:
        if document.status in ("waiting", "parsing") or not parsed_text_path(document.id).exists():
            _parse(document)
        if document.status == "splitting":
            _split(document)
        if document.status == "indexing" and not _index(document):
            return "paused"
        return document.status
    except (LoaderError, ProviderError, ValueError) as exc:
        _fail(document_id, getattr(exc, "message", str(exc)))
        return "error"
    except Exception as exc:  # noqa: BLE001 — any failure is the document's, not the worker's
        current_app.logger.exception("indexing of document %s failed", document_id)
        _fail(document_id, f"internal error while indexing: {exc.__class__.__name__}: {str(exc)[:300]}")
        return "error"


def _parse(document: Document) -> None:
    document.status, document.processing_started_at, document.error = "parsing", utcnow(), ""
    db.session.commit()
    upload = db.session.get(UploadFile, document.upload_file_id)
    text = load_text(upload.key, upload.extension)
    rules = [r["id"] for r in document.process_rule.get("pre_process_rules", []) if r.get("enabled")]
    text = clean(text, rules)
    if not text.strip():
        raise LoaderError("the document has no text left after cleaning")
    path = parsed_text_path(document.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    document.character_count = len(text)
    document.status, document.parsing_completed_at = "splitting", utcnow()
    db.session.commit()


def _split(document: Document) -> None:
    text = parsed_text_path(document.id).read_text(encoding="utf-8")
    rule = document.process_rule.get("segment") or AUTOMATIC_RULE["segment"]
    model = get_embedding_model()
    chunk_size = min(int(rule.get("chunk_size", 500)), model.max_tokens)
    overlap = min(int(rule.get("chunk_overlap", 50)), chunk_size // 2)
    chunks = TextSplitter(model.count_tokens, chunk_size, overlap, rule.get("separators")).split(text)
    if not chunks:
        raise LoaderError("the document produced no segments")
    wanted = {}
    for position, content in enumerate(chunks, start=1):
        content_hash = hashlib.sha256(content.encode()).hexdigest()
        wanted[segment_id_for(document.id, position, content_hash)] = (position, content, content_hash,
                                                                       model.count_tokens(content))
    existing = set(db.session.scalars(sa.select(Segment.id).where(Segment.document_id == document.id)))
    stale = existing - wanted.keys()
    if stale:
        get_vector_store().delete(document.dataset_id, ids=[str(i) for i in stale])
        db.session.execute(sa.delete(SegmentTerm).where(SegmentTerm.segment_id.in_(stale)))
        db.session.execute(sa.delete(Segment).where(Segment.id.in_(stale)))
    for segment_id, (position, content, content_hash, tokens) in wanted.items():
        if segment_id not in existing:
            db.session.add(Segment(
                id=segment_id, account_id=document.account_id, dataset_id=document.dataset_id,
                document_id=document.id, position=position, content=content, content_hash=content_hash,
                character_count=len(content), token_count=tokens, status="waiting",
            ))
    document.segment_count = len(wanted)
    document.token_count = sum(tokens for *_, tokens in wanted.values())
    document.completed_segment_count = len(existing & wanted.keys() & _completed_ids(document.id))
    document.status, document.splitting_completed_at = "indexing", utcnow()
    db.session.commit()


def _completed_ids(document_id: uuid.UUID) -> set:
    return set(db.session.scalars(
        sa.select(Segment.id).where(Segment.document_id == document_id, Segment.status == "completed")))


def _index(document: Document) -> bool:
    """Embed and index the segments not yet completed; False when paused part-way."""
    model = get_embedding_model()
    store = get_vector_store()
    batch_size = current_app.config["EMBEDDING_BATCH_SIZE"]
    while True:
        db.session.refresh(document)
        if document.is_paused or document.is_deleted:
            return False
        batch = db.session.scalars(
            sa.select(Segment).where(Segment.document_id == document.id, Segment.status != "completed")
            .order_by(Segment.position).limit(batch_size)
        ).all()
        if not batch:
            break
        vectors = metering.embed(document.account_id, model, [s.content for s in batch], "documents.index", direct=True)
        store.upsert(document.dataset_id, [str(s.id) for s in batch], vectors, [
            {"document_id": str(document.id), "dataset_id": str(document.dataset_id), "enabled": s.enabled and document.enabled}
            for s in batch
        ])
        write_postings(batch)
        now = utcnow()
        for segment in batch:
            segment.status, segment.completed_at, segment.error = "completed", now, ""
        document.completed_segment_count = db.session.scalar(
            sa.select(sa.func.count()).where(Segment.document_id == document.id, Segment.status == "completed"))
        db.session.commit()
    now = utcnow()
    document.status, document.indexing_completed_at, document.completed_at = "completed", now, now
    document.stopped_at = None
    mark_index_changed(document.dataset_id)  # its segments become searchable now
    db.session.commit()
    return True


def mark_index_changed(dataset_id: uuid.UUID) -> None:
    """Bump the dataset's ``index_version`` in the caller's transaction, so every process rebuilds
    its full-text snapshot; call it whenever the set or content of searchable segments changes."""
    db.session.execute(sa.update(Dataset).where(Dataset.id == dataset_id)
                       .values(index_version=Dataset.index_version + 1))


def write_postings(segments: list[Segment]) -> None:
    """Replace the full-text postings of ``segments`` (same transaction as the caller's)."""
    ids = [s.id for s in segments]
    db.session.execute(sa.delete(SegmentTerm).where(SegmentTerm.segment_id.in_(ids)))
    rows = []
    for segment in segments:
        text = segment.content + " " + " ".join(segment.keywords or [])
        frequencies, length = term_frequencies(text)
        segment.term_count = length
        rows.extend({"segment_id": segment.id, "term": term, "dataset_id": segment.dataset_id, "tf": tf}
                    for term, tf in frequencies.items())
    if rows:
        db.session.execute(sa.insert(SegmentTerm), rows)


def _fail(document_id: uuid.UUID, message: str) -> None:
    db.session.rollback()
    db.session.execute(sa.update(Document).where(Document.id == document_id).values(
        status="error", error=message[:2000], stopped_at=utcnow(), updated_at=utcnow()))
    db.session.commit()


def redispatch_stuck(older_than_s: int | None = None) -> int:
    """Queue again documents left in a pipeline stage longer than ``older_than_s`` → how many."""
    if older_than_s is None:
        older_than_s = current_app.config["DOCUMENT_STUCK_AFTER_S"]
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    ids = db.session.scalars(sa.select(Document.id).where(
        Document.status.in_(ACTIVE_STATUSES), Document.is_paused.is_(False), Document.is_deleted.is_(False),
        Document.updated_at <= cutoff).limit(1000)).all()
    for document_id in ids:
        dispatch(document_id)
    return len(ids)
