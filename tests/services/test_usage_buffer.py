"""The per-process usage buffer: batch trigger, one broker message per flush, records kept on a
broker error (llmops/services/core/usage_service.py)."""

import threading

import pytest

from llmops.services.core import usage_service


class RecordingCelery:
    def __init__(self, fail: bool = False):
        self.fail = fail
        self.sent: list[tuple[str, list, str]] = []
        self.event = threading.Event()

    def send_task(self, name, args, queue, countdown=None):
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((name, args[0], queue))
        self.event.set()


@pytest.fixture
def buffer(app, monkeypatch):
    celery = RecordingCelery()
    monkeypatch.setitem(app.extensions, "celery", celery)
    monkeypatch.setitem(app.config, "USAGE_FLUSH_BATCH", 3)
    buf = usage_service.UsageBuffer(app)
    buf.celery = celery
    return buf


def test_full_batch_wakes_the_flusher_and_sends_one_message(buffer):
    for i in range(3):
        buffer.add({"request_id": str(i)})
    assert buffer.celery.event.wait(5), "the flusher did not send a full batch"
    name, records, queue = buffer.celery.sent[0]
    assert (name, queue) == (usage_service.WRITE_USAGE_TASK, "usage")
    assert [r["request_id"] for r in records] == ["0", "1", "2"]
    assert buffer.drain() == []


def test_broker_error_keeps_the_records_in_order(buffer):
    buffer.celery.fail = True
    buffer.records = [{"request_id": "a"}, {"request_id": "b"}]
    assert buffer.flush() == 0
    buffer.records.append({"request_id": "c"})
    buffer.celery.fail = False
    assert buffer.flush() == 3
    assert [r["request_id"] for r in buffer.celery.sent[0][1]] == ["a", "b", "c"]
