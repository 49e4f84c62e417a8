"""Documents of a dataset: create from uploads, list, progress, rename, enable, pause/resume,
retry, delete (docs/api.md A "Knowledge bases (datasets) and documents")."""

from __future__ import annotations

import copy
import time
import uuid

import sqlalchemy as sa

from llmops.errors import FailError, NotFoundError
from llmops.extensions import db
from llmops.models import Document, Segment, SegmentTerm, UploadFile
from llmops.models.base import unix, utcnow
from llmops.services import indexing_service
from llmops.services.dataset_service import get_owned_dataset
from llmops.services.pagination import contains, paginate
from llmops.services.rag_runtime import get_vector_store
from llmops.services.upload_service import get_owned_upload


def create_documents(account_id: uuid.UUID, dataset_id: uuid.UUID, upload_file_ids: list[uuid.UUID],
                     process_type: str, rule: dict | None) -> dict:
    """One ``waiting`` document per upload, queued for indexing → ``{documents, batch}``."""
    dataset = get_owned_dataset(account_id, dataset_id)
    uploads = [get_owned_upload(account_id, i) for i in dict.fromkeys(upload_file_ids)]
    process_rule = copy.deepcopy(indexing_service.AUTOMATIC_RULE) if process_type == "automatic" else rule
    batch = time.strftime("%Y%m%d%H%M%S") + f"{uuid.uuid4().int % 1_000_000:06d}"
    position = (db.session.scalar(sa.select(sa.func.max(Document.position)).where(Document.dataset_id == dataset.id))
                or 0)
    documents = []
    for upload in uploads:
        position += 1
        documents.append(Document(
            account_id=account_id, dataset_id=dataset.id, upload_file_id=upload.id, batch=batch, name=upload.name,
            position=position, process_type=process_type, process_rule=process_rule, status="waiting"))
    db.session.add_all(documents)
    db.session.commit()
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
    get_vector_store().set_enabled(document.dataset_id, ids, enabled)
    indexing_service.mark_index_changed(document.dataset_id)
    db.session.commit()


def delete_document(account_id, dataset_id, document_id) -> None:
    """Delete the document with its segments, postings and vectors."""
    document = get_owned_document(account_id, dataset_id, document_id)
    _remove_index(document)
    document.is_deleted = True
    db.session.commit()


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
    if document.status in indexing_service.ACTIVE_STATUSES and not document.is_paused:
        raise FailError("the document is being indexed")
    _remove_index(document)
    indexing_service.parsed_text_path(document.id).unlink(missing_ok=True)
    for field in ("processing_started_at", "parsing_completed_at", "splitting_completed_at", "indexing_completed_at",
                  "completed_at", "stopped_at"):
        setattr(document, field, None)
    document.status, document.error, document.is_paused = "waiting", "", False
    document.segment_count = document.completed_segment_count = 0
    document.updated_at = utcnow()
    db.session.commit()
    indexing_service.dispatch(document.id)


def _remove_index(document: Document) -> None:
    ids = list(db.session.scalars(sa.select(Segment.id).where(Segment.document_id == document.id)))
    if ids:
        get_vector_store().delete(document.dataset_id, ids=[str(i) for i in ids])
        db.session.execute(sa.delete(SegmentTerm).where(SegmentTerm.segment_id.in_(ids)))
        db.session.execute(sa.delete(Segment).where(Segment.id.in_(ids)))
        indexing_service.mark_index_changed(document.dataset_id)
