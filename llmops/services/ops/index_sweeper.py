"""The orphan sweeper (beat, hourly): removes index data a crash left behind.

Deletion removes a document's or dataset's vectors, postings and collections at once (or the
indexing run holding the document does); a process killed part-way, or a vector store that was
down, can still leave some behind. ``sweep`` finds and removes, each step idempotent:

* collections of datasets that no longer exist;
* the segments, postings and vectors of deleted documents no run holds;
* vectors whose segment row is gone (a run killed between writing a vector and noticing the
  deletion of its document);
* postings whose segment is gone, and parsed-text files of deleted or missing documents.

A document some indexing run holds is never touched: its segments exist before its vectors are
written, so nothing it is writing looks orphaned.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app

from llmops.extensions import db
from llmops.models import Dataset, Document, Segment, SegmentTerm
from llmops.runtime import runtime
from llmops.services.core import claims
from llmops.services.knowledge import indexing_service


def sweep() -> dict[str, int]:
    """Remove orphaned index data → counts per kind (``collections``, ``documents``, ``vectors``,
    ``postings``, ``parsed_files``). Raises ``VectorStoreUnavailable`` when Chroma is down (the
    next run retries)."""
    store = runtime().vector_store
    counts = {"collections": 0, "documents": 0, "vectors": 0, "postings": 0, "parsed_files": 0}
    collections = store.list_dataset_ids()  # listed before the datasets are read: a dataset made
    live = {row.hex for row in db.session.scalars(sa.select(Dataset.id))}  # in between is in ``live``
    for dataset_hex in collections - live:
        store.drop(uuid.UUID(dataset_hex))
        counts["collections"] += 1

    lease_s = current_app.config["INDEXING_LEASE_S"]
    deleted_with_segments = db.session.scalars(
        sa.select(Document.id).where(Document.is_deleted.is_(True), claims.claimable(Document),
                                     sa.exists().where(Segment.document_id == Document.id)).limit(1000)).all()
    for document_id in deleted_with_segments:
        owner = claims.new_owner()
        if not claims.take(Document, document_id, owner, lease_s, Document.is_deleted.is_(True)):
            continue
        try:
            indexing_service.remove_index(document_id, db.session.get(Document, document_id).dataset_id)
            counts["documents"] += 1
        finally:
            claims.release(Document, document_id, owner)

    for dataset_hex in store.list_dataset_ids() & live:
        dataset_id = uuid.UUID(dataset_hex)
        for parked in (False, True):
            vector_ids = store.collection_ids(dataset_id, parked)
            if not vector_ids:
                continue
            known = {str(i) for i in db.session.scalars(sa.select(Segment.id).where(Segment.dataset_id == dataset_id))}
            orphans = [i for i in vector_ids if i not in known]
            for start in range(0, len(orphans), 1000):
                store.delete(dataset_id, ids=orphans[start:start + 1000])
            counts["vectors"] += len(orphans)

    counts["postings"] = db.session.execute(sa.delete(SegmentTerm).where(
        ~sa.exists().where(Segment.id == SegmentTerm.segment_id))).rowcount
    db.session.commit()

    files = {}  # parsed texts in the shared storage (llmops.storage), by document id
    for item in runtime().storage.list("parsed/"):
        try:
            files[uuid.UUID(item.key.removeprefix("parsed/").removesuffix(".txt"))] = item.key
        except ValueError:
            continue
    kept = set()
    ids = list(files)
    for start in range(0, len(ids), 500):
        kept.update(db.session.scalars(sa.select(Document.id).where(
            Document.id.in_(ids[start:start + 500]), Document.is_deleted.is_(False))))
    orphans = [key for document_id, key in files.items() if document_id not in kept]
    runtime().storage.delete(orphans)
    counts["parsed_files"] = len(orphans)
    if any(counts.values()):
        current_app.logger.info("orphan sweep removed %s", counts)
    return counts
