"""Deletion is complete (both profiles): deleting a document or a dataset while a run is indexing
it — right after the run wrote a batch of vectors — leaves no vectors, postings, segments or
collections behind (the run notices and removes what it wrote); the orphan sweeper removes what
a crash left behind and nothing else."""

from __future__ import annotations

import threading
import uuid

import sqlalchemy as sa

from llmops.extensions import db
from llmops.models import Document, Segment, SegmentTerm
from llmops.rag.vector_store import VectorStore
from llmops.runtime import runtime
from llmops.services.knowledge import indexing_service
from tests.api.test_datasets import index_files, new_dataset, upload
from tests.e2e.test_indexing_recovery import big_text


def start_document(client, auth) -> tuple[str, uuid.UUID]:
    dataset_id = new_dataset(client, auth)
    file_id = upload(client, auth, "deleted.txt", big_text(40)).get_json()["data"]["id"]
    created = client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [file_id]}, headers=auth)
    return dataset_id, uuid.UUID(created.get_json()["data"]["documents"][0]["id"])


def vectors_of(dataset_id) -> int:
    store = runtime().vector_store
    return store.count(dataset_id) + store.count(dataset_id, parked=True)


def collection_names() -> set[str]:
    return {getattr(c, "name", c) for c in runtime().vector_store.client.list_collections()}


def index_and_delete_after_first_write(app, monkeypatch, document_id, delete) -> str:
    """Index in a thread; right after its first vector write, run ``delete()``, then let it go on."""
    wrote, deleted, result = threading.Event(), threading.Event(), {}
    real_upsert = VectorStore.upsert

    def upsert_then_wait(self, *args, **kwargs):
        real_upsert(self, *args, **kwargs)
        if not wrote.is_set():
            wrote.set()
            deleted.wait(60)

    monkeypatch.setattr(VectorStore, "upsert", upsert_then_wait)
    saved = app.config["EMBEDDING_BATCH_SIZE"]
    app.config["EMBEDDING_BATCH_SIZE"] = 8

    def run():
        with app.app_context():
            result["status"] = indexing_service.index_document(document_id)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert wrote.wait(120), "indexing never wrote a vector"
        delete()
    finally:
        deleted.set()
        worker.join(120)
        app.config["EMBEDDING_BATCH_SIZE"] = saved
    return result.get("status")


def test_deleting_a_document_mid_indexing_leaves_nothing(app, client, auth, monkeypatch):
    dataset_id, document_id = start_document(client, auth)

    def delete():
        assert client.post(f"/datasets/{dataset_id}/documents/{document_id}/delete", headers=auth).status_code == 200

    status = index_and_delete_after_first_write(app, monkeypatch, document_id, delete)
    assert status == "cancelled"
    with app.app_context():
        assert vectors_of(uuid.UUID(dataset_id)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Segment)
                                 .where(Segment.document_id == document_id)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SegmentTerm)
                                 .where(SegmentTerm.dataset_id == uuid.UUID(dataset_id))) == 0
        document = db.session.get(Document, document_id)
        assert document.is_deleted and document.claimed_by is None
        assert not runtime().storage.exists(indexing_service.parsed_text_key(document_id))


def test_deleting_a_dataset_mid_indexing_leaves_no_collection(app, client, auth, monkeypatch):
    dataset_id, document_id = start_document(client, auth)
    name = VectorStore.collection_name(dataset_id)

    def delete():
        assert client.post(f"/datasets/{dataset_id}/delete", headers=auth).status_code == 200

    status = index_and_delete_after_first_write(app, monkeypatch, document_id, delete)
    assert status == "cancelled"
    with app.app_context():
        names = collection_names()
        assert name not in names and f"{name}_disabled" not in names
        assert db.session.get(Document, document_id) is None


def test_the_sweeper_removes_what_a_crash_left_and_nothing_else(app, client, auth):
    from llmops.services.ops import index_sweeper

    dataset_id = new_dataset(client, auth)
    kept = index_files(app, client, auth, dataset_id, {"kept.txt": big_text(6)})["documents"][0]["id"]
    left = index_files(app, client, auth, dataset_id, {"left.txt": big_text(5)})["documents"][0]["id"]
    ghost_dataset, ghost_vector = uuid.uuid4(), str(uuid.uuid4())
    with app.app_context():
        ghost_file = indexing_service.parsed_text_key(uuid.uuid4())
        store, dataset = runtime().vector_store, uuid.UUID(dataset_id)
        kept_segments = db.session.scalar(sa.select(Document.segment_count).where(Document.id == uuid.UUID(kept)))
        left_segments = db.session.scalar(sa.select(Document.segment_count).where(Document.id == uuid.UUID(left)))
        # what crashes leave: a deleted document whose index was not removed, a vector without a
        # segment, a collection without a dataset, a parsed file without a document
        db.session.execute(sa.update(Document).where(Document.id == uuid.UUID(left)).values(is_deleted=True))
        db.session.commit()
        store.upsert(dataset, [ghost_vector], [[0.1] * 384], [{"document_id": "gone", "enabled": True}])
        store.upsert(ghost_dataset, [str(uuid.uuid4())], [[0.2] * 384], [{"document_id": "gone", "enabled": True}])
        runtime().storage.put_bytes(ghost_file, b"orphan")
        assert vectors_of(dataset) == kept_segments + left_segments + 1

        counts = index_sweeper.sweep()

        assert counts["collections"] >= 1 and counts["documents"] >= 1 and counts["vectors"] >= 1
        assert counts["parsed_files"] >= 1
        assert VectorStore.collection_name(ghost_dataset) not in collection_names()
        assert vectors_of(dataset) == kept_segments  # the live document is untouched
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Segment)
                                 .where(Segment.document_id == uuid.UUID(left))) == 0
        storage = runtime().storage
        assert not storage.exists(ghost_file) and storage.exists(indexing_service.parsed_text_key(uuid.UUID(kept)))
        assert index_sweeper.sweep()["vectors"] == 0  # idempotent
    records = client.post(f"/datasets/{dataset_id}/hit", json={"query": "Calvin cycle", "k": 10}, headers=auth)
    assert {r["document_id"] for r in records.get_json()["data"]} == {kept}
