"""Usage is never lost and reservations never leak: a flush the broker refuses is written
directly, a call whose process died is settled by the reconciliation job (its reservation
released, its usage row written), a row lost from a buffer is written from its hold, an
unexpected exception releases the reservation, and (Redis ledger) a drift between Redis and the
database is measured, exported and corrected. tests/faults/test_processes.py kills real processes."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from bench.harness import free_port
from config import TestingConfig, celery_settings
from llmops import create_app
from llmops.extensions import db
from llmops.models import ApiKey, UsageLog
from llmops.runtime import runtime
from llmops.services.core import metering, model_service, usage_service
from llmops.services.gateway import gateway_service
from tests.api.test_api_keys import new_key
from tests.api.test_gateway import flush
from tests.money import PRICED, balance, grant

FUTURE = 10**10  # a reconciliation "now" past every hold's expiry


def rows(app, request_id: str) -> list[UsageLog]:
    with app.app_context():
        found = db.session.scalars(sa.select(UsageLog).where(UsageLog.request_id == request_id)).all()
        db.session.expunge_all()
        return found


def used_quota(app, key_id) -> int:
    with app.app_context():
        return db.session.get(ApiKey, uuid.UUID(str(key_id))).used_quota


@pytest.fixture
def paying(app, client, auth, fake, priced):
    flush(app)
    with app.app_context():
        usage_service.reconcile(FUTURE)  # holds other tests left behind on purpose
    grant(app, auth["X-Email"], 100_000)
    return new_key(client, auth, quota=50_000)


def test_a_flush_the_broker_refuses_is_written_directly(app, auth, paying, fake, priced):
    dead_broker = celery_settings(f"redis://127.0.0.1:{free_port()}/0", 600)  # nothing listens there
    cut_off = create_app(TestingConfig, **{**dict(app.config), "CELERY": dead_broker})
    response = cut_off.test_client().post("/v1/chat/completions", headers={"Authorization": f"Bearer {paying['key']}"},
                                          json={"model": priced, "messages": [{"role": "user", "content": "Hi"}],
                                                "max_tokens": 10})
    assert response.status_code == 200
    buffer = cut_off.runtime.usage_buffer
    [record] = list(buffer.records)
    assert buffer.flush() == 1 and buffer.records == []
    [row] = rows(app, record["request_id"])
    assert (row.status, row.cost_credits) == ("success", 19)
    assert balance(app, auth["X-Email"]) == (100_000 - 19, 19) and used_quota(app, paying["id"]) == 19


def test_a_call_whose_process_died_is_settled_by_the_reconciliation(app, auth, paying, priced):
    with app.app_context():
        key = db.session.get(ApiKey, uuid.UUID(paying["id"]))
        account_id = key.account_id
        spec = model_service.get_model("local", PRICED)
        charge = metering.reserve(account_id, spec, 30, 500, surface="gateway", endpoint="chat.completions",
                                  key_id=key.id, model=PRICED, is_stream=True)  # ... and the process dies here
    assert charge.reserved == 30 + 500 * 2
    assert used_quota(app, paying["id"]) == (1030 if app.runtime.quota_ledger.persists_usage else 0)
    with app.app_context():
        assert usage_service.reconcile(time.time())["settled"] == 0  # not expired yet: it may still be running
        result = usage_service.reconcile(FUTURE)
    assert result["settled"] == 1 and result["written"] == 1
    [row] = rows(app, charge.request_id)
    assert (row.status, row.status_code, row.prompt_tokens, row.completion_tokens) == ("lost", 500, 30, 0)
    assert row.estimated and row.cost_credits == 30 and "ended before it settled" in row.error
    assert balance(app, auth["X-Email"]) == (100_000 - 30, 30)  # the reservation is released but the prompt
    assert used_quota(app, paying["id"]) == 30
    with app.app_context():
        assert charge.settle(30, 200, False, "success") == 0  # it was alive after all: settled once, not twice
        usage_service.write_usage(runtime().usage_buffer.drain())
    assert len(rows(app, charge.request_id)) == 1 and balance(app, auth["X-Email"]) == (100_000 - 30, 30)


def test_a_row_lost_from_a_buffer_is_written_from_its_hold(app, client, auth, paying, priced):
    response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {paying['key']}"},
                           json={"model": priced, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 10})
    assert response.status_code == 200
    with app.app_context():
        [record] = runtime().usage_buffer.drain()  # the process dies with the row in its buffer
        assert usage_service.reconcile(time.time())["written"] == 0  # within the grace: its flush may come
        assert usage_service.reconcile(FUTURE)["written"] == 1
    [row] = rows(app, record["request_id"])
    assert (row.status, row.cost_credits, row.prompt_tokens, row.completion_tokens) == ("success", 19, 11, 4)
    assert balance(app, auth["X-Email"]) == (100_000 - 19, 19) and used_quota(app, paying["id"]) == 19
    with app.app_context():
        usage_service.write_usage([record])  # the original flush arriving late changes nothing
    assert len(rows(app, record["request_id"])) == 1 and balance(app, auth["X-Email"]) == (100_000 - 19, 19)


def test_an_answer_that_is_not_a_json_object_is_a_502_and_refunded(app, client, auth, paying, fake, priced):
    fake.behaviour.raw_body = b"[1, 2, 3]"  # valid JSON, but not an answer
    response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {paying['key']}"},
                           json={"model": priced, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 10})
    assert response.status_code == 502
    assert "not an object" in response.json["error"]["message"]
    [record] = flush(app)
    assert (record["status"], record["status_code"], record["cost_credits"]) == ("error", 502, 0)
    assert balance(app, auth["X-Email"]) == (100_000, 0) and used_quota(app, paying["id"]) == 0


def test_an_unexpected_exception_releases_the_reservation(app, client, auth, paying, fake, priced, monkeypatch):
    def bug(*_args):
        raise RuntimeError("a bug after the upstream answered")

    monkeypatch.setattr(gateway_service, "_usage_of", bug)
    response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {paying['key']}"},
                           json={"model": priced, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 10})
    assert response.status_code == 500
    [record] = flush(app)
    assert (record["status"], record["status_code"], record["cost_credits"]) == ("error", 500, 0)
    assert balance(app, auth["X-Email"]) == (100_000, 0) and used_quota(app, paying["id"]) == 0
    with app.app_context():
        assert usage_service.reconcile(FUTURE)["written"] == 0  # nothing left behind


def test_the_redis_drift_is_measured_exported_and_corrected(app, client, auth, paying, admin_auth, profile):
    if profile != "services":
        pytest.skip("the embedded profile's ledger is the database itself: nothing can drift")
    ledger = app.runtime.quota_ledger
    response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {paying['key']}"},
                           json={"model": PRICED, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 10})
    assert response.status_code == 200  # seeds the counters
    with app.app_context():
        account_id = db.session.get(ApiKey, uuid.UUID(paying["id"])).account_id
        assert usage_service.reconcile(FUTURE)["drift_credits"] == 0  # a settled, unwritten row is no drift
    counter = f"llmops:bal:{account_id}"
    left = int(ledger.client.get(counter))
    ledger.client.decrby(counter, 123)  # e.g. a usage row lost before holds existed
    with app.app_context():
        first = usage_service.reconcile(FUTURE)
        assert first["drift_credits"] >= 123 and first["corrected"] == 0  # seen once: maybe in flight
        second = usage_service.reconcile(FUTURE)
    assert second["corrected"] >= 1 and int(ledger.client.get(counter)) == left
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {app.config.get('METRICS_TOKEN') or ''}"})
    assert "llmops_quota_drift_credits" in metrics.get_data(as_text=True)
    with app.app_context():
        assert usage_service.reconcile(FUTURE)["drift_credits"] == 0
