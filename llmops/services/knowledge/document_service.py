"""Documents of a dataset: create from uploads, list, progress, rename, enable, pause/resume,
retry, delete (docs/api.md A "Knowledge bases (datasets) and documents")."""

from __future__ import annotations

import copy
import time
import uuid

import sqlalchemy as sa
from flask import current_app

from llmops.errors import FailError, NotFoundError
from llmops.extensions import db
from llmops.models import Document, Segment, UploadFile
from llmops.models.base import unix, utcnow
from llmops.rag.vector_store import VectorStoreUnavailable
from llmops.runtime import runtime
from llmops.services.common import contains, paginate, retry_on_conflict
from llmops.services.core import claims
from llmops.services.knowledge import indexing_service, stored_files
from llmops.services.knowledge.dataset_service import get_owned_dataset
from llmops.services.knowledge.upload_service import get_owned_upload, storage_key


def create_documents(account_id: uuid.UUID, dataset_id: uuid.UUID, upload_file_ids: list[uuid.UUID],
                     process_type: str, rule: dict | None) -> dict:
    """One ``waiting`` document per upload, queued for indexing → ``{documents, batch}``."""
    dataset = get_owned_dataset(account_id, dataset_id)
    uploads = [get_owned_upload(account_id, i) for i in dict.fromkeys(upload_file_ids)]
    for upload in uploads:  # its file went with the last document made from it
        if not storage_key(upload):
            raise NotFoundError(f"upload file {upload.id} not found")
    process_rule = copy.deepcopy(indexing_service.AUTOMATIC_RULE) if process_type == "automatic" else rule
    batch = time.strftime("%Y%m%d%H%M%S") + f"{uuid.uuid4().int % 1_000_000:06d}"
    dataset_key, upload_keys = dataset.id, [(u.id, u.name) for u in uploads]

    def write() -> list[Document]:  # positions are unique per dataset: a concurrent batch retries
        position = (db.session.scalar(sa.select(sa.func.max(Document.position))
                                      .where(Document.dataset_id == dataset_key)) or 0)
        rows = []
        for upload_id, name in upload_keys:
            position += 1
            rows.append(Document(
                account_id=account_id, dataset_id=dataset_key, upload_file_id=upload_id, batch=batch, name=name,
                position=position, process_type=process_type, process_rule=copy.deepcopy(process_rule),
                status="waiting"))
        db.session.add_all(rows)
        db.session.commit()
        return rows

    documents = retry_on_conflict(write, "this dataset's documents")
    for document in documents:
        indexing_service.dispatch(document.id)
    return {"documents": [{"id": str(d.id), "name": d.name, "status": d.status, "created_at": unix(d.created_at)}
                          for d in documents], "batch": batch}


def get_owned_document(account_id: uuid.UUID, dataset_id: uuid.UUID, document_id: uuid.UUID) -> Document:
    document = db.session.get(Document, document_id)
    if (document is None or document.is_deleted or document.account_id != account_id
            or document.dataset_id != dataset_id):
        raise NotFoundError("document not found")
    return document


def _hit_counts(document_ids: list[uuid.UUID]) -> dict:
    if not document_ids:
        return {}
    return dict(db.session.execute(
        sa.select(Segment.document_id, sa.func.coalesce(sa.func.sum(Segment.hit_count), 0))
        .where(Segment.document_id.in_(document_ids)).group_by(Segment.document_id)).all())


def document_to_dict(document: Document, hit_count: int = 0) -> dict:
    return {
        "id": str(document.id), "dataset_id": str(document.dataset_id), "name": document.name,
        "character_count": document.character_count, "token_count": document.token_count,
        "hit_count": int(hit_count), "position": document.position, "enabled": document.enabled,
        "disabled_at": 0 if document.enabled else unix(document.updated_at),
        "is_paused": document.is_paused, "status": document.status, "error": document.error,
        "segment_count": document.segment_count, "completed_segment_count": document.completed_segment_count,
        "batch": document.batch, "created_at": unix(document.created_at), "updated_at": unix(document.updated_at),
    }


def list_documents(account_id: uuid.UUID, dataset_id: uuid.UUID, current_page: int, page_size: int,
                   search_word: str = "") -> tuple[list, dict]:
    get_owned_dataset(account_id, dataset_id)
    query = sa.select(Document).where(Document.dataset_id == dataset_id, Document.is_deleted.is_(False))
    if search_word:
        query = query.where(contains(Document.name, search_word))
    rows, page = paginate(query, (Document.position.desc(),), current_page, page_size)
    hits = _hit_counts([r.id for r in rows])
    return [document_to_dict(r, hits.get(r.id, 0)) for r in rows], page


def get_document(account_id: uuid.UUID, dataset_id: uuid.UUID, document_id: uuid.UUID) -> dict:
    document = get_owned_document(account_id, dataset_id, document_id)
    return document_to_dict(document, _hit_counts([document.id]).get(document.id, 0))


def batch_status(account_id: uuid.UUID, dataset_id: uuid.UUID, batch: str) -> list[dict]:
    """Per document of the batch: status, progress counts and each stage's time."""
    get_owned_dataset(account_id, dataset_id)
    rows = db.session.scalars(sa.select(Document).where(
        Document.dataset_id == dataset_id, Document.batch == batch, Document.is_deleted.is_(False))
        .order_by(Document.position)).all()
    if not rows:
        raise NotFoundError("batch not found")
    uploads = {u.id: u for u in db.session.scalars(
        sa.select(UploadFile).where(UploadFile.id.in_({d.upload_file_id for d in rows if d.upload_file_id})))}
    return [{
        "id": str(d.id), "name": d.name, "status": d.status, "is_paused": d.is_paused,
        **_file_fields(uploads.get(d.upload_file_id)), "position": d.position,
        "segment_count": d.segment_count, "completed_segment_count": d.completed_segment_count,
        "processing_started_at": unix(d.processing_started_at), "parsing_completed_at": unix(d.parsing_completed_at),
        "splitting_completed_at": unix(d.splitting_completed_at), "indexing_completed_at": unix(d.indexing_completed_at),
        "completed_at": unix(d.completed_at), "stopped_at": unix(d.stopped_at), "error": d.error,
        "created_at": unix(d.created_at),
    } for d in rows]


def _file_fields(upload: UploadFile | None) -> dict:
    """The course's batch-progress fields of a document's source file."""
    if upload is None:
        return {"size": 0, "extension": "", "mime_type": ""}
    return {"size": upload.size, "extension": upload.extension, "mime_type": upload.mime_type}


def rename_document(account_id, dataset_id, document_id, name: str) -> dict:
    document = get_owned_document(account_id, dataset_id, document_id)
    document.name = name
    db.session.commit()
    return get_document(account_id, dataset_id, document_id)


def set_enabled(account_id, dataset_id, document_id, enabled: bool) -> None:
    """Enable or disable retrieval of a ``completed`` document."""
    document = get_owned_document(account_id, dataset_id, document_id)
    if document.status != "completed":
        raise FailError("only a completed document can be enabled or disabled")
    document.enabled = enabled
    ids = [str(i) for i in db.session.scalars(
        sa.select(Segment.id).where(Segment.document_id == document.id, Segment.enabled.is_(True)))]
    runtime().vector_store.set_enabled(document.dataset_id, ids, enabled)
    indexing_service.mark_index_changed(document.dataset_id)
    db.session.commit()


def delete_document(account_id, dataset_id, document_id) -> None:
    """Delete the document with its segments, postings and vectors. While an indexing run holds it,
    that run notices the deletion, removes what it wrote and stops; a vector store that is down
    leaves the removal to the orphan sweeper (``index_sweeper``)."""
    document = get_owned_document(account_id, dataset_id, document_id)
    document.is_deleted = True
    db.session.commit()
    stored_files.remove_document_files([(document.id, document.upload_file_id)])  # its files, on any host
    owner = claims.new_owner()
    if not claims.take(Document, document.id, owner, current_app.config["INDEXING_LEASE_S"],
                       Document.is_deleted.is_(True)):
        return  # the indexing run holding it cleans up
    try:
        indexing_service.remove_index(document.id, document.dataset_id)
    except VectorStoreUnavailable:
        db.session.rollback()
        current_app.logger.warning("vector store down: the index of deleted document %s is left to the sweeper",
                                   document.id)
    finally:
        claims.release(Document, document.id, owner)


def pause_document(account_id, dataset_id, document_id) -> None:
    document = get_owned_document(account_id, dataset_id, document_id)
    if document.status not in indexing_service.ACTIVE_STATUSES:
        raise FailError("only a document being indexed can be paused")
    document.is_paused = True
    db.session.commit()


def resume_document(account_id, dataset_id, document_id) -> None:
    """Continue from the stage the document stopped in."""
    document = get_owned_document(account_id, dataset_id, document_id)
    if not document.is_paused:
        raise FailError("the document is not paused")
    document.is_paused = False
    db.session.commit()
    indexing_service.dispatch(document.id)


def retry_document(account_id, dataset_id, document_id) -> None:
    """Start over cleanly: drop segments, postings, vectors and stage times, then re-queue."""
    document = get_owned_document(account_id, dataset_id, document_id)
    busy = FailError("the document is being indexed")
    if document.status in indexing_service.ACTIVE_STATUSES and not document.is_paused:
        raise busy
    owner = claims.new_owner()
    if not claims.take(Document, document.id, owner, current_app.config["INDEXING_LEASE_S"]):
        raise busy  # a paused run is still finishing its batch
    document = db.session.get(Document, document.id)
    indexing_service.remove_index(document.id, document.dataset_id)
    for field in ("processing_started_at", "parsing_completed_at", "splitting_completed_at", "indexing_completed_at",
                  "completed_at", "stopped_at"):
        setattr(document, field, None)
    document.status, document.error, document.is_paused = "waiting", "", False
    document.segment_count = document.completed_segment_count = document.attempts = 0
    document.updated_at = utcnow()
    document.claimed_by = document.lease_expires_at = None
    db.session.commit()
    indexing_service.dispatch(document.id)
