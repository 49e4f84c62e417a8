"""Numbers taken under concurrency (both profiles, threads in one process, each with its own
session): publish versions are unique per app, document positions per dataset, segment
positions per document — the loser of a race retries and takes the next number."""

from __future__ import annotations

import threading
import uuid

import sqlalchemy as sa

from llmops.extensions import db
from llmops.models import AppConfig, Document, Segment
from llmops.services.knowledge import document_service, indexing_service, segment_service
from llmops.services.studio import app_service
from tests.api.test_datasets import index_files, new_dataset, upload

THREADS = 8


def run_together(app, work, count: int = THREADS) -> list:
    """``work(i)`` in ``count`` threads released at once, each in its own app context → results
    (an exception is returned, not raised)."""
    barrier, results = threading.Barrier(count), [None] * count

    def run(i):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work(i)
            except Exception as exc:  # noqa: BLE001 — reported to the test
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def account_id_of(app, auth):
    from llmops.models import Account

    with app.app_context():
        return db.session.scalar(sa.select(Account.id).where(Account.email == auth["X-Email"]))


def test_concurrent_publishes_get_consecutive_versions(app, client, auth, new_app):
    account_id, app_id = account_id_of(app, auth), uuid.UUID(new_app)
    results = run_together(app, lambda _i: app_service.publish(account_id, app_id).version)
    assert not [r for r in results if isinstance(r, Exception)], results
    with app.app_context():
        versions = db.session.scalars(sa.select(AppConfig.version).where(
            AppConfig.app_id == app_id, AppConfig.status == "published")).all()
    assert sorted(versions) == list(range(1, THREADS + 1))


def test_concurrent_document_batches_get_distinct_positions(app, client, auth):
    account_id = account_id_of(app, auth)
    dataset_id = uuid.UUID(new_dataset(client, auth))
    uploads = [uuid.UUID(upload(client, auth, f"f{i}.txt", f"file number {i}".encode()).get_json()["data"]["id"])
               for i in range(THREADS)]
    results = run_together(app, lambda i: document_service.create_documents(
        account_id, dataset_id, [uploads[i], uploads[(i + 1) % THREADS]], "automatic", None))
    assert not [r for r in results if isinstance(r, Exception)], results
    with app.app_context():
        positions = db.session.scalars(sa.select(Document.position).where(Document.dataset_id == dataset_id)).all()
    assert sorted(positions) == list(range(1, 2 * THREADS + 1))


def test_concurrent_segment_appends_get_distinct_positions(app, client, auth):
    account_id = account_id_of(app, auth)
    dataset_id = new_dataset(client, auth)
    created = index_files(app, client, auth, dataset_id, {"base.txt": b"One short base document about tides."})
    document_id = uuid.UUID(created["documents"][0]["id"])
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Segment).where(Segment.document_id == document_id))
    results = run_together(app, lambda i: segment_service.create_segment(
        account_id, uuid.UUID(dataset_id), document_id, f"Appended segment number {i} about the moon.", None))
    assert not [r for r in results if isinstance(r, Exception)], results
    with app.app_context():
        positions = db.session.scalars(sa.select(Segment.position).where(Segment.document_id == document_id)).all()
        assert sorted(positions) == list(range(1, before + THREADS + 1))
        assert db.session.get(Document, document_id).segment_count == before + THREADS
        assert indexing_service.index_document(document_id) == "completed"
