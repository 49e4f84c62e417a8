"""Upstream faults after the first byte (the fake upstream, tests/fakes): a provider error chunk
(what a 500 mid-stream looks like), a stall past the read timeout, a reset connection, a
malformed chunk, a stream cut before its end, a slow trickle within and past the total deadline.

Each ``/v1`` stream must end with an OpenAI-shaped error chunk and ``data: [DONE]``, be logged as
an upstream error (502/504, never the client's 499), and be charged for the text delivered and
nothing more; the studio and seed-000 streams end with their ``error`` event and save the turn."""

from __future__ import annotations

import json
import uuid

import httpx
import openai
import pytest

from config import TestingConfig
from llmops import create_app
from llmops.extensions import db
from llmops.models import ApiKey, Message
from tests.api.compat.test_seed000 import events as seed000_frames
from tests.api.compat.test_seed000 import seed_user
from tests.api.test_api_keys import new_key
from tests.api.test_debug import parse_sse
from tests.api.test_gateway import flush, sdk
from tests.money import balance, grant

DELIVERED = "Hello"  # the fake's first chunk: every fault below strikes after it (fault_after=1)


@pytest.fixture
def timeouts(app):
    """Set LLM_READ_TIMEOUT_S / LLM_TOTAL_TIMEOUT_S for one test (the relay clients are rebuilt)."""
    saved = {name: app.config[name] for name in ("LLM_READ_TIMEOUT_S", "LLM_TOTAL_TIMEOUT_S")}

    def set_(read: float, total: float) -> None:
        app.config.update(LLM_READ_TIMEOUT_S=read, LLM_TOTAL_TIMEOUT_S=total)
        app.runtime.reset("relay_clients")

    yield set_
    app.config.update(saved)
    app.runtime.reset("relay_clients")


@pytest.fixture
def paying_key(app, client, auth, fake, priced):
    flush(app)
    grant(app, auth["X-Email"], 1_000_000)
    return new_key(client, auth, quota=500_000)


def raw_stream(app, key: str, model: str) -> list[str]:
    """The ``data:`` payloads of one streamed ``/v1/chat/completions`` (a raw client)."""
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://gateway.test") as http:
        response = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                             json={"model": model, "messages": [{"role": "user", "content": "Hi"}], "stream": True,
                                   "max_tokens": 100})
        assert response.status_code == 200
        return [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]


def delivered_text(payloads: list[str]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in map(json.loads, payloads)
                   if c.get("choices"))


def used_quota(app, key_id: str) -> int:
    with app.app_context():
        return db.session.get(ApiKey, uuid.UUID(key_id)).used_quota


@pytest.mark.parametrize(("fault", "status", "code", "message"), [
    ("error", 502, "upstream_error", "fake failure 500 mid-stream"),
    ("reset", 502, "upstream_error", "connection failed mid-stream"),
    ("malformed", 502, "upstream_error", "malformed stream chunk"),
    ("truncate", 502, "upstream_error", "ended the stream before the answer was finished"),
    ("stall", 504, "upstream_timeout", "stopped sending data"),
])
def test_a_v1_stream_fails_honestly(app, auth, paying_key, fake, priced, timeouts, fault, status, code, message):
    timeouts(0.5, 30.0)
    fake.behaviour.fault, fake.behaviour.stall_s = fault, 3.0
    fake.behaviour.send_usage = False  # what was delivered is counted by the gateway
    before = balance(app, auth["X-Email"])
    payloads = raw_stream(app, paying_key["key"], priced)
    assert payloads[-1] == "[DONE]"
    error = json.loads(payloads[-2])["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == code
    assert message in error["message"] and error["type"] == "server_error"
    assert delivered_text(payloads[:-2]) == DELIVERED  # what came before the fault was relayed
    records = flush(app)
    assert len(records) == 1
    record = records[0]
    assert record["status"] == ("timeout" if status == 504 else "error") and record["status_code"] == status
    assert message in record["error"] and record["estimated"]
    assert record["completion_tokens"] >= 1  # the delivered text is charged ...
    cost = record["prompt_tokens"] * 1 + record["completion_tokens"] * 2
    assert record["cost_credits"] == cost  # ... and only that: the reservation (100 tokens) is released
    assert used_quota(app, paying_key["id"]) == cost
    after = balance(app, auth["X-Email"])
    assert (before[0] - after[0], after[1] - before[1]) == (cost, cost)


def test_the_sdk_sees_the_error_chunk_as_an_error(app, paying_key, fake, priced):
    fake.behaviour.fault = "error"
    stream = sdk(app, paying_key["key"]).chat.completions.create(
        model=priced, messages=[{"role": "user", "content": "Hi"}], stream=True)
    with pytest.raises(openai.APIError, match="mid-stream"):
        for _chunk in stream:
            pass
    flush(app)


def test_a_slow_trickle_within_the_deadlines_completes(app, paying_key, fake, priced, timeouts):
    timeouts(0.6, 30.0)
    fake.behaviour.chunk_delay_s = 0.3  # each gap under the read timeout; the whole over it
    payloads = raw_stream(app, paying_key["key"], priced)
    assert payloads[-1] == "[DONE]" and delivered_text(payloads[:-1]) == "Hello, world!"
    assert all("error" not in json.loads(p) for p in payloads[:-1])
    assert flush(app)[0]["status"] == "success"


def test_a_slow_trickle_past_the_total_deadline_times_out(app, paying_key, fake, priced, timeouts):
    timeouts(5.0, 0.5)
    fake.behaviour.chunk_delay_s = 0.3
    payloads = raw_stream(app, paying_key["key"], priced)
    assert payloads[-1] == "[DONE]" and json.loads(payloads[-2])["error"]["code"] == "upstream_timeout"
    record = flush(app)[0]
    assert (record["status"], record["status_code"]) == ("timeout", 504)
    assert "within 0.5 s" in record["error"]


@pytest.mark.parametrize("fault", ["error", "reset", "malformed"])
def test_a_studio_stream_ends_with_its_error_event(app, client, auth, new_app, fake, fault):
    fake.behaviour.fault = fault
    response = client.post(f"/apps/{new_app}/debug", json={"query": "hi", "stream": True}, headers=auth)
    events = parse_sse(response.get_data(as_text=True))
    assert [name for name, _ in events] == ["agent_message", "error"]
    assert events[0][1]["answer"] == DELIVERED and events[-1][1]["message"]
    assert "internal" not in events[-1][1]["message"]  # an upstream failure, named as such
    with app.app_context():
        message = db.session.get(Message, uuid.UUID(events[-1][1]["message_id"]))
        assert (message.status, message.answer) == ("error", DELIVERED) and message.error


def test_a_seed000_stream_ends_with_its_error_event(client, fake):
    user = seed_user(client)
    number = client.post("/api/conversations/create", headers=user, json={"title": "t"}).get_json()["conversation_id"]
    fake.behaviour.fault = "reset"
    frames = seed000_frames(client.post(f"/api/chat/{number}", headers=user, json={"message": "hi"}))
    assert frames[-1]["event"] == "error" and frames[-1]["data"]
    assert "".join(f["data"] for f in frames if f["event"] != "error") == DELIVERED


@pytest.mark.parametrize("fault", ["error", "reset"])
def test_seed001_and_seed003_streams_end_with_an_error_chunk(app, client, auth, fake, fault):
    """The voice engine's ``/chat/completions`` (seed 001) and CaiQiTalk's ``/api/v1/chat/completions``
    (seed 003) relay the gateway's stream: the same error chunk and ``[DONE]``."""
    flush(app)
    key = new_key(client, auth)["key"]
    seed003 = create_app(TestingConfig, **{**dict(app.config), "SEED003_API_KEY": key}).test_client()
    for route, sender, headers in (("/chat/completions", client, {"Authorization": f"Bearer {key}"}),
                                   ("/api/v1/chat/completions", seed003, {})):
        fake.reset()
        fake.behaviour.fault = fault
        response = sender.post(route, headers=headers, json={"model": "smollm2-135m", "stream": True,
                                                             "messages": [{"role": "user", "content": "Hi"}]})
        assert response.status_code == 200, (route, response.get_data(as_text=True)[:300])
        payloads = [line[6:] for line in response.get_data(as_text=True).splitlines() if line.startswith("data: ")]
        assert payloads[-1] == "[DONE]", route
        assert json.loads(payloads[-2])["error"]["code"] == "upstream_error", route
        assert delivered_text(payloads[:-2]) == DELIVERED, route
    records = flush(app) + flush(seed003.application)  # two apps, two usage buffers
    assert [r["status_code"] for r in records] == [502, 502] and {r["surface"] for r in records} == {"voice", "seed003"}
