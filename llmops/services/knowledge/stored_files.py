"""Stored files of documents and uploads (``llmops.storage``): removal when their records go, and
the orphan sweep run by the maintenance beat.

* A deleted document loses its parsed text (``parsed/<document_id>.txt``) and, when no other live
  document was made from the same upload, the upload's file (``<account_id>/<upload_id>.<ext>``).
* A deleted dataset does the same for each of its documents and also deletes the upload rows no
  document refers to any more.
* ``sweep_orphans`` deletes, among files older than ``ORPHAN_FILE_GRACE_S``, parsed texts of
  documents that are deleted or gone, upload files whose row is gone, and upload files all of whose
  documents are deleted or whose row says it is no longer stored (what a crash between a commit
  and a file removal leaves behind). Uploads not yet used by any document and images (referenced
  by URL from configs and messages) are kept. Parsed texts are also swept hourly by
  ``index_sweeper`` (without the grace: a parsed text is written only for an existing document).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app

from llmops.extensions import db
from llmops.models import Document, UploadFile
from llmops.runtime import runtime
from llmops.services.knowledge.indexing_service import parsed_text_key
from llmops.services.knowledge.upload_service import storage_key

SWEEP_CHUNK = 500


def _live_uses(upload_ids: set) -> set:
    """Upload ids among ``upload_ids`` that a not-deleted document still uses."""
    if not upload_ids:
        return set()
    return set(db.session.scalars(sa.select(Document.upload_file_id).where(
        Document.upload_file_id.in_(upload_ids), Document.is_deleted.is_(False)).distinct()))


def remove_document_files(documents: Iterable[tuple[uuid.UUID, uuid.UUID | None]],
                          drop_unused_uploads: bool = False) -> int:
    """After the documents ``(document_id, upload_file_id)`` were deleted (committed): delete their
    parsed texts and the upload files no live document uses → how many keys were deleted. Those
    uploads' rows get the key "" (no longer stored: not counted in the account's storage, refused
    for new documents); with ``drop_unused_uploads`` the ones no document refers to at all are
    deleted. Storage errors are logged, not raised: the orphan sweep deletes what is left."""
    documents = list(documents)
    upload_ids = {u for _, u in documents if u is not None}
    unused = upload_ids - _live_uses(upload_ids)
    uploads = [u for u in db.session.scalars(sa.select(UploadFile).where(UploadFile.id.in_(unused)))
               if storage_key(u)] if unused else []
    keys = [parsed_text_key(d) for d, _ in documents] + [storage_key(u) for u in uploads]
    try:
        runtime().storage.delete(keys)
    except Exception:  # noqa: BLE001 — the records are gone; the sweep retries the files
        current_app.logger.exception("could not delete %d stored files", len(keys))
        return 0
    if uploads:
        ids = [u.id for u in uploads]
        db.session.execute(sa.update(UploadFile).where(UploadFile.id.in_(ids)).values(key=""))
        if drop_unused_uploads:
            referenced = set(db.session.scalars(sa.select(Document.upload_file_id).where(
                Document.upload_file_id.in_(ids)).distinct()))
            gone = [i for i in ids if i not in referenced]
            if gone:
                db.session.execute(sa.delete(UploadFile).where(UploadFile.id.in_(gone)))
        db.session.commit()
    return len(keys)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _orphans(parsed: dict, uploads: dict) -> list[str]:
    """Keys of ``parsed`` {document_id: key} and ``uploads`` {upload_id: key} that are orphans."""
    orphaned = []
    if parsed:
        live = set(db.session.scalars(sa.select(Document.id).where(
            Document.id.in_(parsed), Document.is_deleted.is_(False))))
        orphaned += [key for document_id, key in parsed.items() if document_id not in live]
    if uploads:
        rows = {u.id: u for u in db.session.scalars(sa.select(UploadFile).where(UploadFile.id.in_(uploads)))}
        used = set(db.session.scalars(sa.select(Document.upload_file_id).where(
            Document.upload_file_id.in_(uploads)).distinct()))
        live = _live_uses(set(uploads))
        for upload_id, key in uploads.items():
            row = rows.get(upload_id)
            if row is None or storage_key(row) != key or (upload_id in used and upload_id not in live):
                orphaned.append(key)
    return orphaned


def sweep_orphans(grace_s: float | None = None) -> int:
    """Delete orphaned stored files older than ``grace_s`` seconds (default ``ORPHAN_FILE_GRACE_S``)
    → how many were deleted."""
    storage = runtime().storage
    grace = current_app.config["ORPHAN_FILE_GRACE_S"] if grace_s is None else grace_s
    cutoff = time.time() - grace
    parsed: dict = {}
    uploads: dict = {}
    deleted = 0

    def settle() -> int:
        keys = _orphans(parsed, uploads)
        parsed.clear()
        uploads.clear()
        if keys:
            storage.delete(keys)
            current_app.logger.info("orphan sweep deleted %d stored files", len(keys))
        return len(keys)

    for item in storage.list():
        if item.modified > cutoff:
            continue
        parts = item.key.split("/")
        if len(parts) != 2:
            continue
        folder, name = parts
        stem = name.rsplit(".", 1)[0]
        if folder == "parsed" and name.endswith(".txt") and (document_id := _uuid(stem)):
            parsed[document_id] = item.key
        elif _uuid(folder) and (upload_id := _uuid(stem)):
            uploads[upload_id] = item.key
        if len(parsed) + len(uploads) >= SWEEP_CHUNK:
            deleted += settle()
    return deleted + settle()
