"""Long-term memory: API, idempotent folding, re-dispatch of pending folds."""

import uuid
from datetime import datetime

import pytest

from llmops.extensions import db
from llmops.models import Conversation, Message
from llmops.services.studio import memory_service

LONG_AGO = datetime(2000, 1, 1)


@pytest.fixture
def memory_app(client, auth, new_app):
    client.post(f"/apps/{new_app}/config", json={"memory_mode": "long_term_memory"}, headers=auth)
    return new_app


def test_memory_api_requires_memory_mode(client, auth, new_app):
    response = client.get(f"/apps/{new_app}/long-term-memory", headers=auth)
    assert response.status_code == 400 and response.get_json()["code"] == "fail"
    assert client.post(f"/apps/{new_app}/long-term-memory", json={"summary": "x"}, headers=auth).status_code == 400


def test_memory_get_update(client, auth, memory_app):
    assert client.get(f"/apps/{memory_app}/long-term-memory", headers=auth).get_json()["data"] == {"summary": ""}
    body = {"summary": "The user is called Ada and plays basketball."}
    assert client.post(f"/apps/{memory_app}/long-term-memory", json=body, headers=auth).status_code == 200
    assert client.get(f"/apps/{memory_app}/long-term-memory", headers=auth).get_json()["data"] == body
    assert client.post(f"/apps/{memory_app}/long-term-memory", json={}, headers=auth).status_code == 422


def test_round_is_pending_then_folded_once(app, client, auth, memory_app, fake):
    data = client.post(f"/apps/{memory_app}/debug", json={"query": "My name is Ada."}, headers=auth).get_json()["data"]
    fake.behaviour.answer_chunks = ["Ada introduced herself."]
    with app.app_context():
        message_id = uuid.UUID(data["id"])
        assert db.session.get(Message, message_id).memory_status == "pending"
        assert memory_service.fold_round(message_id) == "Ada introduced herself."
        assert memory_service.fold_round(message_id) is None  # idempotent: a re-delivery does nothing
        message = db.session.get(Message, message_id)
        conversation = db.session.get(Conversation, message.conversation_id)
        assert message.memory_status == "done" and conversation.summary_version == 1
    fold_request = fake.requests[-1]["messages"]
    assert "My name is Ada." in fold_request[1]["content"]


def test_summary_is_recalled_into_the_prompt_and_stream(client, auth, memory_app, fake):
    client.post(f"/apps/{memory_app}/long-term-memory", json={"summary": "User likes tea."}, headers=auth)
    response = client.post(f"/apps/{memory_app}/debug", json={"query": "what do I like?", "stream": True}, headers=auth)
    raw = response.get_data(as_text=True)
    assert raw.startswith("event: long_term_memory_recall") and "User likes tea." in raw
    assert "User likes tea." in fake.requests[-1]["messages"][0]["content"]


def test_empty_model_summary_keeps_the_lines(app, client, auth, memory_app, fake):
    data = client.post(f"/apps/{memory_app}/debug", json={"query": "I live in Paris."}, headers=auth).get_json()["data"]
    fake.behaviour.answer_chunks = ["   "]
    with app.app_context():
        summary = memory_service.fold_round(uuid.UUID(data["id"]))
    assert "I live in Paris." in summary


def test_redispatch_queues_only_old_pending_folds(app, client, auth, memory_app, fake, monkeypatch):
    data = client.post(f"/apps/{memory_app}/debug", json={"query": "hello"}, headers=auth).get_json()["data"]
    sent = []
    monkeypatch.setattr(memory_service, "dispatch_fold", lambda message_id: sent.append(str(message_id)))
    with app.app_context():
        memory_service.redispatch_pending(older_than_s=3600)
        assert data["id"] not in sent
        memory_service.redispatch_pending(older_than_s=0)
    assert data["id"] in sent


def test_no_memory_mode_means_no_fold(app, client, auth, new_app, fake):
    data = client.post(f"/apps/{new_app}/debug", json={"query": "hello"}, headers=auth).get_json()["data"]
    with app.app_context():
        assert db.session.get(Message, uuid.UUID(data["id"])).memory_status == "none"


def _a_run_dies_holding(message_id: uuid.UUID) -> None:
    """What a fold run killed mid-way leaves: its claim taken and counted, then its lease lapsed."""
    import sqlalchemy as sa

    from llmops.services.core import claims

    assert claims.take(Message, message_id, claims.new_owner(), 60, Message.memory_status == "pending",
                       memory_attempts=Message.memory_attempts + 1)
    db.session.execute(sa.update(Message).where(Message.id == message_id).values(lease_expires_at=LONG_AGO))
    db.session.commit()


def test_a_fold_whose_runs_keep_dying_is_given_up(app, client, auth, memory_app, fake, monkeypatch):
    monkeypatch.setitem(app.config, "MEMORY_MAX_ATTEMPTS", 2)
    data = client.post(f"/apps/{memory_app}/debug", json={"query": "I am Bo."}, headers=auth).get_json()["data"]
    message_id = uuid.UUID(data["id"])
    with app.app_context():
        _a_run_dies_holding(message_id)
        _a_run_dies_holding(message_id)
        calls = len(fake.requests)
        assert memory_service.fold_round(message_id) is None  # the third run gives up
        assert len(fake.requests) == calls  # without calling the model
        db.session.expire_all()
        message = db.session.get(Message, message_id)
        assert message.memory_status == "failed" and message.claimed_by is None
        assert db.session.get(Conversation, message.conversation_id).summary == ""
        sent = []
        monkeypatch.setattr(memory_service, "dispatch_fold", lambda row_id: sent.append(row_id))
        memory_service.redispatch_pending(older_than_s=0)
        assert message_id not in sent  # never queued again


def test_runs_that_end_do_not_count_towards_giving_up(app, client, auth, memory_app, fake, monkeypatch):
    monkeypatch.setitem(app.config, "MEMORY_MAX_ATTEMPTS", 1)
    data = client.post(f"/apps/{memory_app}/debug", json={"query": "I am Cy."}, headers=auth).get_json()["data"]
    message_id = uuid.UUID(data["id"])
    fake.behaviour.fail_status, fake.behaviour.fail_times = 500, 3  # the model fails: the run ends with an error
    with app.app_context():
        for _ in range(3):
            with pytest.raises(Exception):  # noqa: B017 — the provider's error, whatever its class
                memory_service.fold_round(message_id)
        db.session.expire_all()
        message = db.session.get(Message, message_id)
        assert (message.memory_status, message.memory_attempts) == ("pending", 0)
        fake.behaviour.answer_chunks = ["Cy introduced themself."]
        assert memory_service.fold_round(message_id) == "Cy introduced themself."
