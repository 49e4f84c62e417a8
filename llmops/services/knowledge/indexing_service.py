"""The document indexing pipeline (one Celery task per document, queue ``indexing``).

parse (unstructured) → clean → split (token-aware, Chinese/English) → embed in batches → write
vectors (Chroma), postings (full-text index) and ``segment`` rows.

* Each stage stamps its time on the document; ``completed_segment_count`` advances batch by
  batch so a progress bar can follow it.
* Resumable: the parsed text is kept in the shared storage (``llmops.storage``) and the stage
  reached is the document's status, so a re-run (redelivery, resume, stuck re-dispatch) continues where it stopped; segments already
  ``completed`` are not embedded again.
* Idempotent: segment ids are uuid5(document id, position + content hash); vectors are upserted
  by segment id and postings replaced, so running twice never duplicates anything.
* Claimed: a run takes the document with a lease (``llmops.services.core.claims``) and renews it while
  it works, so a redelivered or re-dispatched task never runs beside the one holding it; a run
  killed mid-way leaves an expiring lease that ``redispatch_stuck`` takes over. A document whose
  runs keep dying stops after ``INDEXING_MAX_ATTEMPTS`` with an error.
* Cancellable: deleting a document (or its dataset) while it is indexed is noticed between
  stages and after each vector write; the run then removes what it wrote and stops.
* Failures mark the document ``error`` with a readable message and ``stopped_at``; the task
  itself returns normally so the worker carries on with other documents. A service that is down
  (vector store, embedding provider) is not a failure: the document waits in its stage, says
  why in ``error``, and is queued again after ``INDEXING_RETRY_DELAY_S``.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from llmops.errors import AppError
from llmops.extensions import db
from llmops.models import Dataset, Document, Segment, SegmentTerm, UploadFile
from llmops.models.base import utcnow
from llmops.providers.errors import ProviderError
from llmops.rag.cleaning import clean
from llmops.rag.fulltext import term_frequencies
from llmops.rag.loaders import LoaderError, deadline, load_text
from llmops.rag.splitters import TextSplitter
from llmops.rag.vector_store import VectorStoreUnavailable
from llmops.runtime import runtime
from llmops.services.common import enqueue
from llmops.services.core import claims, metering
from llmops.services.knowledge.upload_service import storage_key

INDEX_TASK = "llmops.tasks.indexing.index_document"
ACTIVE_STATUSES = ("waiting", "parsing", "splitting", "indexing")
AUTOMATIC_RULE = {
    "pre_process_rules": [{"id": "remove_extra_space", "enabled": True}, {"id": "remove_url_and_email", "enabled": False}],
    "segment": {"separators": ["\n\n", "\n", "。", "！", "？", ". ", "; ", "，", ", ", " "], "chunk_size": 500,
                "chunk_overlap": 50},
}


def dispatch(document_id: uuid.UUID, countdown: float | None = None) -> None:
    """Queue indexing of one document (a broker failure leaves it for the stuck re-dispatch)."""
    try:
        enqueue(INDEX_TASK, [str(document_id)], "indexing", countdown=countdown)
    except Exception:  # noqa: BLE001
        current_app.logger.exception("could not queue indexing of document %s", document_id)


def parsed_text_key(document_id: uuid.UUID) -> str:
    """The storage key of a document's parsed text (``llmops.storage``: shared by every host)."""
    return f"parsed/{document_id}.txt"


def delete_parsed_text(document_id: uuid.UUID) -> None:
    runtime().storage.delete([parsed_text_key(document_id)])


def segment_id_for(document_id: uuid.UUID, position: int, content_hash: str) -> uuid.UUID:
    return uuid.uuid5(document_id, f"{position}:{content_hash}")


class Cancelled(Exception):
    """The document was deleted (or its dataset) or the run lost its claim: stop quietly."""


def index_document(document_id: uuid.UUID) -> str:
    """Run (or continue) the pipeline for one document under a claim → the status it ended in
    (``claimed`` when another run holds it, ``cancelled`` when it was deleted meanwhile,
    ``waiting`` when a service it needs is down and it was queued again)."""
    document = db.session.get(Document, document_id)
    if document is None or document.is_deleted:
        return "missing"
    if document.status in ("completed", "error") or document.is_paused:
        return document.status
    config = current_app.config
    dataset_id = document.dataset_id
    owner, lease_s = claims.new_owner(), config["INDEXING_LEASE_S"]
    if not claims.take(Document, document_id, owner, lease_s, Document.status.in_(ACTIVE_STATUSES),
                       Document.is_paused.is_(False), Document.is_deleted.is_(False),
                       attempts=Document.attempts + 1):
        return "claimed"
    db.session.refresh(document)
    if document.attempts > config["INDEXING_MAX_ATTEMPTS"]:
        _fail(document_id, f"indexing stopped after {config['INDEXING_MAX_ATTEMPTS']} attempts that were interrupted "
                           f"(the worker stopped while processing it, e.g. killed or out of memory) in the "
                           f"{document.status} stage", owner)
        return "error"
    keeper = claims.LeaseKeeper(Document, document_id, owner, lease_s, still_wanted=Document.is_deleted.is_(False))
    with keeper:
        try:
            status = _run(document, keeper)
        except Cancelled:
            db.session.rollback()
            purge_if_deleted(document_id, dataset_id, owner)
            return "cancelled"
        except (VectorStoreUnavailable, ProviderError) as exc:
            if isinstance(exc, ProviderError) and not exc.retryable:
                _fail(document_id, exc.message, owner)
                return "error"
            _wait_for_service(document_id, owner, getattr(exc, "message", str(exc)))
            return "waiting"
        except (LoaderError, ValueError, AppError) as exc:  # AppError: e.g. the balance cannot pay for embeddings
            _fail(document_id, getattr(exc, "message", str(exc)), owner)
            return "error"
        except Exception as exc:  # noqa: BLE001 — any failure is the document's, not the worker's
            db.session.rollback()
            if purge_if_deleted(document_id, dataset_id, owner):
                return "cancelled"
            current_app.logger.exception("indexing of document %s failed", document_id)
            _fail(document_id, f"internal error while indexing: {exc.__class__.__name__}: {str(exc)[:300]}", owner)
            return "error"
    if status == "completed":
        claims.release(Document, document_id, owner, attempts=0)
    else:  # paused part-way: this run ended normally
        claims.release(Document, document_id, owner, attempts=Document.attempts - 1)
    return status


def _run(document: Document, keeper: claims.LeaseKeeper) -> str:
    if document.status in ("waiting", "parsing") or not runtime().storage.exists(parsed_text_key(document.id)):
        _parse(document)
    _check(document, keeper)
    if document.status == "splitting":
        _split(document)
    if document.status == "indexing" and not _index(document, keeper):
        return "paused"
    return document.status


def _check(document: Document, keeper: claims.LeaseKeeper) -> None:
    """Raise ``Cancelled`` when the document (or its dataset) is gone or the claim was lost."""
    try:
        db.session.refresh(document)
    except sa.orm.exc.ObjectDeletedError:
        raise Cancelled() from None
    if document.is_deleted or keeper.lost.is_set():
        raise Cancelled()


def _wait_for_service(document_id: uuid.UUID, owner: str, message: str) -> None:
    """A service the pipeline needs is down: keep the stage reached, say why on the document,
    release the claim (not counted as an attempt) and queue the document again in a while."""
    db.session.rollback()
    delay = current_app.config["INDEXING_RETRY_DELAY_S"]
    current_app.logger.warning("indexing of document %s waits %s s: %s", document_id, delay, message)
    claims.release(Document, document_id, owner, attempts=Document.attempts - 1,
                   error=f"waiting: {message[:1500]}; indexing resumes by itself when it is back")
    dispatch(document_id, countdown=delay)


def _parse(document: Document) -> None:
    document.status, document.processing_started_at, document.error = "parsing", utcnow(), ""
    db.session.commit()
    upload = db.session.get(UploadFile, document.upload_file_id)
    config = current_app.config
    rules = [r["id"] for r in document.process_rule.get("pre_process_rules", []) if r.get("enabled")]
    with deadline(config["PARSE_TIMEOUT_S"]):  # parsing and cleaning together
        key = storage_key(upload)
        try:
            if not key:  # deleted with the last document made from it
                raise FileNotFoundError(upload.id)
            with runtime().storage.local_path(key) as path:
                text = load_text(path, upload.extension, config["PARSE_MAX_PAGES"],
                                 config["PARSE_MAX_DECOMPRESSED_BYTES"])
        except FileNotFoundError:
            raise LoaderError("the uploaded file is no longer stored") from None
        text = clean(text, rules)
    if not text.strip():
        raise LoaderError("the document has no text left after cleaning")
    runtime().storage.put_bytes(parsed_text_key(document.id), text.encode("utf-8"))
    document.character_count = len(text)
    document.status, document.parsing_completed_at = "splitting", utcnow()
    db.session.commit()


def _split(document: Document) -> None:
    text = runtime().storage.get_bytes(parsed_text_key(document.id)).decode("utf-8")
    rule = document.process_rule.get("segment") or AUTOMATIC_RULE["segment"]
    model = runtime().embedding_model
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
        runtime().vector_store.delete(document.dataset_id, ids=[str(i) for i in stale])
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


def _index(document: Document, keeper: claims.LeaseKeeper) -> bool:
    """Embed and index the segments not yet completed; False when paused part-way.

    Vectors are written, then the document is checked again: a deletion committed in between is
    seen here and undone by ``purge_if_deleted`` (the deleting request leaves a claimed document's
    index to the run holding it), so a cancelled run never leaves vectors behind."""
    model = runtime().embedding_model
    store = runtime().vector_store
    store.ping()  # a store that is down fails here, before any (metered) embedding
    batch_size = current_app.config["EMBEDDING_BATCH_SIZE"]
    while True:
        _check(document, keeper)
        if document.is_paused:
            return False
        batch = db.session.scalars(
            sa.select(Segment).where(Segment.document_id == document.id, Segment.status != "completed")
            .order_by(Segment.position).limit(batch_size)
        ).all()
        if not batch:
            break
        vectors = metering.embed(document.account_id, model, [s.content for s in batch], "documents.index", direct=True)
        _check(document, keeper)
        store.upsert(document.dataset_id, [str(s.id) for s in batch], vectors, [
            {"document_id": str(document.id), "dataset_id": str(document.dataset_id), "enabled": s.enabled and document.enabled}
            for s in batch
        ])
        _check(document, keeper)
        write_postings(batch)
        now = utcnow()
        for segment in batch:
            segment.status, segment.completed_at, segment.error = "completed", now, ""
        document.completed_segment_count = db.session.scalar(
            sa.select(sa.func.count()).where(Segment.document_id == document.id, Segment.status == "completed"))
        document.error = ""
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


def _fail(document_id: uuid.UUID, message: str, owner: str) -> None:
    """Stop the document with ``message`` and release the claim."""
    db.session.rollback()
    db.session.execute(sa.update(Document).where(Document.id == document_id, Document.claimed_by == owner).values(
        status="error", error=message[:2000], stopped_at=utcnow(), updated_at=utcnow(), claimed_by=None,
        lease_expires_at=None, attempts=0))
    db.session.commit()


def remove_index(document_id: uuid.UUID, dataset_id: uuid.UUID) -> int:
    """Delete the document's vectors (both collections), postings and segments, vectors first (a
    crash in between leaves rows for the next attempt to find) → segments removed. Commits."""
    ids = list(db.session.scalars(sa.select(Segment.id).where(Segment.document_id == document_id)))
    if ids:
        store = runtime().vector_store
        for start in range(0, len(ids), 1000):
            store.delete(dataset_id, ids=[str(i) for i in ids[start:start + 1000]])
        db.session.execute(sa.delete(SegmentTerm).where(SegmentTerm.segment_id.in_(ids)))
        db.session.execute(sa.delete(Segment).where(Segment.document_id == document_id))
        if db.session.get(Dataset, dataset_id) is not None:
            mark_index_changed(dataset_id)
    db.session.commit()
    delete_parsed_text(document_id)
    return len(ids)


def purge_if_deleted(document_id: uuid.UUID, dataset_id: uuid.UUID, owner: str) -> bool:
    """When the document (or its dataset) was deleted: remove everything this document put in
    the index, release the claim → True. False when it still exists."""
    document = db.session.get(Document, document_id)
    if document is None:  # its dataset was deleted with its rows: the collection may be back
        if db.session.get(Dataset, dataset_id) is None:
            runtime().vector_store.drop(dataset_id)
        delete_parsed_text(document_id)
        return True
    if not document.is_deleted:
        return False
    remove_index(document_id, dataset_id)
    if db.session.get(Dataset, dataset_id) is None:
        runtime().vector_store.drop(dataset_id)
    claims.release(Document, document_id, owner)
    return True


def redispatch_stuck(older_than_s: int | None = None) -> int:
    """Queue again documents whose indexing stopped without finishing → how many.

    A document is stuck when a run holds it whose lease expired (the worker died), or when no run
    holds it and it has not moved for ``older_than_s`` seconds (its message was lost). Each is
    taken with a conditional UPDATE (the expired claim cleared, ``updated_at`` bumped), so beat
    and a starting worker re-dispatching at once queue it once; a live claim is never touched."""
    if older_than_s is None:
        older_than_s = current_app.config["DOCUMENT_STUCK_AFTER_S"]
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_s)
    stuck = sa.and_(
        Document.status.in_(ACTIVE_STATUSES), Document.is_paused.is_(False), Document.is_deleted.is_(False),
        sa.or_(sa.and_(Document.claimed_by.is_(None), Document.updated_at <= cutoff),
               sa.and_(Document.claimed_by.is_not(None), Document.lease_expires_at < now)))
    return claims.redispatch(Document, stuck, dispatch)
