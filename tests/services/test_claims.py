"""Claims with leases on background work (both profiles): a document or a memory fold is worked on
by one run at a time, the lease is renewed while the run works, re-dispatch takes only work whose
lease expired, a document whose runs keep dying stops with an error, and a fold is never applied
twice — also when a second delivery reads the round between the first one's read and commit."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from llmops.extensions import db
from llmops.models import Conversation, Document, Message, Segment
from llmops.models.base import utcnow
from llmops.services.core import claims, metering
from llmops.services.knowledge import indexing_service
from llmops.services.studio import memory_service
from tests.api.test_datasets import new_dataset, upload
from tests.e2e.test_indexing_recovery import big_text


@pytest.fixture
def document_id(client, auth) -> uuid.UUID:
    """A waiting document of ~40 segments (not indexed yet)."""
    dataset_id = new_dataset(client, auth)
    file_id = upload(client, auth, "claims.txt", big_text(40)).get_json()["data"]["id"]
    created = client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [file_id]}, headers=auth)
    return uuid.UUID(created.get_json()["data"]["documents"][0]["id"])


@pytest.fixture
def short_leases(app):
    saved = {k: app.config[k] for k in ("INDEXING_LEASE_S", "MEMORY_LEASE_S", "EMBEDDING_BATCH_SIZE")}
    app.config.update(INDEXING_LEASE_S=1, MEMORY_LEASE_S=1, EMBEDDING_BATCH_SIZE=8)
    yield
    app.config.update(saved)


def segment_count(document_id) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Segment).where(Segment.document_id == document_id))


def test_a_second_run_leaves_a_claimed_document_alone(app, document_id, monkeypatch):
    sent = []
    monkeypatch.setattr(indexing_service, "dispatch", lambda i, countdown=None: sent.append(i))
    with app.app_context():
        assert claims.take(Document, document_id, "another-worker:1:x", 60)
        assert indexing_service.index_document(document_id) == "claimed"
        assert segment_count(document_id) == 0 and db.session.get(Document, document_id).status == "waiting"
        # (other tests' documents share the database: only this one's dispatches are counted)
        indexing_service.redispatch_stuck(older_than_s=0)
        assert document_id not in sent  # a live lease is never re-dispatched
        db.session.execute(sa.update(Document).where(Document.id == document_id)
                           .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        # beat and a starting worker re-dispatching at the same time queue it once
        indexing_service.redispatch_stuck(older_than_s=3600)
        indexing_service.redispatch_stuck(older_than_s=3600)
        assert sent.count(document_id) == 1
        assert indexing_service.index_document(document_id) == "completed"
        document = db.session.get(Document, document_id)
        assert document.claimed_by is None and document.attempts == 0
        assert segment_count(document_id) == document.segment_count > 0


def test_the_lease_is_renewed_while_the_run_works(app, document_id, short_leases, monkeypatch):
    """The run holds its 1 s lease through a 3 s embedding call: a redelivery meanwhile is refused."""
    real_embed, started = metering.embed, threading.Event()

    def slow_embed(*args, **kwargs):
        started.set()
        time.sleep(3)
        return real_embed(*args, **kwargs)

    monkeypatch.setattr(metering, "embed", slow_embed)
    results = {}

    def run():
        with app.app_context():
            results["first"] = indexing_service.index_document(document_id)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert started.wait(60)
        time.sleep(1.8)  # past the 1 s lease: only renewals keep it
        with app.app_context():
            document = db.session.get(Document, document_id)
            assert document.claimed_by and document.lease_expires_at > utcnow()
            assert indexing_service.index_document(document_id) == "claimed"
    finally:
        monkeypatch.setattr(metering, "embed", real_embed)
        worker.join(120)
    assert results["first"] == "completed"


def test_a_document_whose_runs_keep_dying_stops_with_an_error(app, document_id, short_leases, monkeypatch):
    def die(*_args, **_kwargs):
        raise SystemExit("worker killed")  # not handled by the run: its claim stays, as with kill -9

    maximum = app.config["INDEXING_MAX_ATTEMPTS"]
    monkeypatch.setattr(metering, "embed", die)
    with app.app_context():
        for _ in range(maximum):
            with pytest.raises(SystemExit):
                indexing_service.index_document(document_id)
            db.session.rollback()  # a new process starts with a fresh session
            assert indexing_service.index_document(document_id) == "claimed"  # the dead run's lease holds
            time.sleep(1.2)
        monkeypatch.undo()
        assert indexing_service.index_document(document_id) == "error"
        document = db.session.get(Document, document_id)
        assert document.status == "error" and f"after {maximum} attempts" in document.error
        assert document.claimed_by is None


@pytest.fixture
def memory_app(client, auth, new_app):
    client.post(f"/apps/{new_app}/config", json={"memory_mode": "long_term_memory"}, headers=auth)
    return new_app


def test_a_fold_is_never_applied_twice(app, client, auth, memory_app, fake):
    """Run B reads the round; run A (a redelivery) folds and commits it; then B goes on. B must not
    fold the round a second time into A's summary."""
    round_id = uuid.UUID(client.post(f"/apps/{memory_app}/debug", json={"query": "My name is Ada."},
                                     headers=auth).get_json()["data"]["id"])
    fake.behaviour.answer_chunks = ["Ada introduced herself."]
    with app.app_context():
        conversation_id = db.session.get(Message, round_id).conversation_id
        version_before = db.session.get(Conversation, conversation_id).summary_version
    folds_before = sum("New lines of conversation" in str(r.get("messages")) for r in fake.requests)
    b_read, a_done = threading.Event(), threading.Event()
    b_thread: list[int] = []

    def pause_b_after_reading_the_round(conn, cursor, statement, *_args):
        if (threading.get_ident() in b_thread and not b_read.is_set() and statement.lstrip().upper().startswith("SELECT")
                and "FROM message" in statement):
            b_read.set()
            a_done.wait(30)

    results = {}

    def fold(name):
        if name == "b":
            b_thread.append(threading.get_ident())
        with app.app_context():
            results[name] = memory_service.fold_round(round_id)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "after_cursor_execute", pause_b_after_reading_the_round)
    try:
        b = threading.Thread(target=fold, args=("b",))
        b.start()
        assert b_read.wait(30)
        a = threading.Thread(target=fold, args=("a",))
        a.start()
        a.join(60)
        a_done.set()
        b.join(60)
    finally:
        sa.event.remove(engine, "after_cursor_execute", pause_b_after_reading_the_round)
    folds = sum("New lines of conversation" in str(r.get("messages")) for r in fake.requests) - folds_before
    with app.app_context():
        conversation = db.session.get(Conversation, conversation_id)
        message = db.session.get(Message, round_id)
        assert conversation.summary_version == version_before + 1, "the round was folded twice"
        assert message.memory_status == "done" and message.claimed_by is None
    assert folds == 1
    assert sorted(str(v) for v in results.values()) == sorted(["None", "Ada introduced herself."])


def test_pending_fold_redispatch_skips_a_live_claim(app, client, auth, memory_app, fake, monkeypatch):
    round_id = uuid.UUID(client.post(f"/apps/{memory_app}/debug", json={"query": "hello"},
                                     headers=auth).get_json()["data"]["id"])
    sent = []
    monkeypatch.setattr(memory_service, "dispatch_fold", lambda message_id: sent.append(message_id))
    with app.app_context():
        assert claims.take(Message, round_id, "another-worker:1:x", 60)
        assert memory_service.fold_round(round_id) is None  # held by the other run
        memory_service.redispatch_pending(older_than_s=0)
        assert round_id not in sent
        db.session.execute(sa.update(Message).where(Message.id == round_id)
                           .values(lease_expires_at=utcnow() - timedelta(seconds=1), updated_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        memory_service.redispatch_pending(older_than_s=60)
        memory_service.redispatch_pending(older_than_s=60)  # taken once: the first bumped it
        assert sent.count(round_id) == 1
        fake.behaviour.answer_chunks = ["greeting"]
        assert memory_service.fold_round(round_id) == "greeting"
