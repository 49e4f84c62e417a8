"""The OpenAI-compatible gateway (docs/api.md B) driven by the official ``openai`` SDK, in-process
over a WSGI transport, against the fake upstream (edge cases); tests/e2e runs it for real."""

import uuid

import httpx
import numpy as np
import openai
import pytest
import yaml

from llmops.extensions import db
from llmops.models import ApiKey, UsageLog
from llmops.runtime import runtime
from llmops.services.core import usage_service
from tests.api.test_api_keys import new_key
from tests.fakes.upstream import FakeUpstream
from tests.money import FAKE_CALL_COST, balance, grant

MODEL = "smollm2-135m"


def sdk(app, key: str) -> openai.OpenAI:
    transport = httpx.WSGITransport(app=app)
    return openai.OpenAI(base_url="http://gateway.test/v1", api_key=key, max_retries=0,
                         http_client=httpx.Client(transport=transport, base_url="http://gateway.test"))


def flush(app) -> list[dict]:
    """Write what the usage buffer holds (what the ``usage`` worker does) → the records."""
    with app.app_context():
        records = runtime().usage_buffer.drain()
        usage_service.write_usage(records)
        return records


def key_row(app, key_id: str) -> ApiKey:
    with app.app_context():
        row = db.session.get(ApiKey, uuid.UUID(key_id))
        db.session.expunge(row)
        return row


@pytest.fixture
def key(app, client, auth, fake):
    flush(app)
    return new_key(client, auth, quota=100_000)


def test_non_stream_completion_and_exact_usage(app, auth, key, fake, priced):
    grant(app, auth["X-Email"], 10_000)
    result = sdk(app, key["key"]).chat.completions.create(
        model=priced, messages=[{"role": "user", "content": "Hi"}], max_tokens=50)
    assert result.choices[0].message.content == "Hello, world!"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (11, 4)
    records = flush(app)
    assert len(records) == 1 and records[0]["status"] == "success" and not records[0]["estimated"]
    assert records[0]["provider"] == "local" and records[0]["model"] == priced
    assert records[0]["cost_credits"] == FAKE_CALL_COST and records[0]["surface"] == "gateway"
    assert key_row(app, key["id"]).used_quota == FAKE_CALL_COST  # the reservation was settled to the real cost
    assert balance(app, auth["X-Email"]) == (10_000 - FAKE_CALL_COST, FAKE_CALL_COST)


def test_stream_with_include_usage(app, key, fake):
    chunks = list(sdk(app, key["key"]).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello, world!"
    assert chunks[-1].usage.total_tokens == 15 and chunks[-1].choices == []
    assert fake.requests[-1]["stream_options"] == {"include_usage": True}


def test_stream_without_include_usage_still_accounts_exactly(app, key, fake):
    chunks = list(sdk(app, key["key"]).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True))
    assert all(c.usage is None for c in chunks) and len(chunks) == 5
    assert fake.requests[-1]["stream_options"] == {"include_usage": True}  # we asked for it upstream
    records = flush(app)
    assert (records[0]["prompt_tokens"], records[0]["completion_tokens"], records[0]["estimated"]) == (11, 4, False)
    assert records[0]["first_token_ms"] is not None and records[0]["is_stream"]


def test_upstream_without_usage_is_estimated_and_flagged(app, key, fake):
    fake.behaviour.send_usage = False
    chunks = list(sdk(app, key["key"]).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Hi"}], stream=True, stream_options={"include_usage": True}))
    record = flush(app)[0]
    assert record["estimated"] and record["completion_tokens"] > 0 and record["prompt_tokens"] > 0
    usage = chunks[-1].usage  # the client asked for usage: it gets our estimate, flagged
    assert usage.total_tokens == record["prompt_tokens"] + record["completion_tokens"] and usage.estimated is True


def test_unknown_fields_are_passed_through(app, key, fake):
    sdk(app, key["key"]).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}], seed=7,
                                                 extra_body={"repetition_penalty": 1.1, "custom": {"a": 1}})
    sent = fake.requests[-1]
    assert sent["seed"] == 7 and sent["repetition_penalty"] == 1.1 and sent["custom"] == {"a": 1}


def test_errors_have_openai_shape_and_status(app, client, auth, key, fake):
    with pytest.raises(openai.AuthenticationError):
        sdk(app, "sk-llmops-wrong").chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.NotFoundError) as missing:
        sdk(app, key["key"]).chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert missing.value.body["code"] == "model_not_found"
    limited = new_key(client, auth, models=["all-MiniLM-L6-v2"])
    with pytest.raises(openai.PermissionDeniedError):
        sdk(app, limited["key"]).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert [m.id for m in sdk(app, limited["key"]).models.list()] == ["all-MiniLM-L6-v2"]
    bad = client.post("/v1/chat/completions", json={"model": MODEL}, headers={"Authorization": f"Bearer {key['key']}"})
    assert bad.status_code == 400 and bad.get_json()["error"]["param"] == "messages"
    fake.behaviour.fail_status, fake.behaviour.fail_times = 400, 1
    with pytest.raises(openai.BadRequestError) as rejected:
        sdk(app, key["key"]).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert "fake failure 400" in str(rejected.value)


def test_over_quota_is_refused_before_the_upstream(app, client, auth, fake, priced):
    grant(app, auth["X-Email"], 1000)
    small = new_key(client, auth, quota=30)  # credits: the first call holds 7 + 10 x 2 = 27, costs 19
    client_ = sdk(app, small["key"])
    client_.chat.completions.create(model=priced, messages=[{"role": "user", "content": "Hi"}], max_tokens=10)
    calls = len(fake.requests)
    with pytest.raises(openai.RateLimitError) as refused:
        client_.chat.completions.create(model=priced, messages=[{"role": "user", "content": "Hi"}], max_tokens=10)
    assert refused.value.body["code"] == "insufficient_quota" and len(fake.requests) == calls


def test_rpm_limit(app, client, auth, fake):
    limited = new_key(client, auth, rpm=2)
    client_ = sdk(app, limited["key"])
    for _ in range(2):
        client_.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    with pytest.raises(openai.RateLimitError) as refused:
        client_.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert refused.value.body["code"] == "rate_limit_exceeded"


def test_models_and_embeddings(app, key):
    client_ = sdk(app, key["key"])
    ids = {m.id for m in client_.models.list()}
    assert {MODEL, "all-MiniLM-L6-v2", "default-chat"} <= ids
    result = client_.embeddings.create(model="all-MiniLM-L6-v2", input=["The Moon orbits the Earth.", "月亮"])
    assert len(result.data) == 2 and len(result.data[0].embedding) == 384
    assert abs(np.linalg.norm(result.data[0].embedding) - 1) < 1e-3 and result.usage.prompt_tokens > 0
    floats = client_.embeddings.create(model="all-MiniLM-L6-v2", input="The Moon orbits the Earth.",
                                       encoding_format="float")
    assert np.allclose(floats.data[0].embedding, result.data[0].embedding, atol=1e-6)


def test_a_disabled_account_is_refused_within_the_reservation(app, client, auth, admin_auth, key, fake, priced):
    """The chat route checks the key's account in the reservation's own step (one Redis script on
    the services profile): once the account is disabled, 403 and nothing held or charged; when its
    published status has gone from the state store, it is read from the database again."""
    grant(app, auth["X-Email"], 10_000)
    target = client.get("/account", headers=auth).get_json()["data"]["id"]
    body = {"model": priced, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 50}
    headers = {"Authorization": f"Bearer {key['key']}"}
    assert client.post("/v1/chat/completions", json=body, headers=headers).status_code == 200  # key cached
    assert client.post(f"/admin/accounts/{target}/disable", headers=admin_auth).status_code == 200
    for stream in (False, True):
        refused = client.post("/v1/chat/completions", json={**body, "stream": stream}, headers=headers)
        assert refused.status_code == 403
        assert refused.get_json()["error"]["message"] == "this account has been disabled"
    assert balance(app, auth["X-Email"]) == (10_000 - FAKE_CALL_COST, FAKE_CALL_COST)
    assert key_row(app, key["id"]).used_quota == FAKE_CALL_COST
    ledger = app.runtime.quota_ledger
    if hasattr(ledger, "counters"):  # Redis: the live counter, not only the rows, held nothing
        assert ledger.counters()[f"llmops:bal:{target}"] == 10_000 - FAKE_CALL_COST

    assert client.post(f"/admin/accounts/{target}/enable", headers=admin_auth).status_code == 200
    store = app.runtime.state_store
    store.delete(f"account:{target}")  # expired, or lost with a Redis restart
    assert client.post("/v1/chat/completions", json=body, headers=headers).status_code == 200
    assert store.get(f"account:{target}").startswith("0:")  # read from the database and published again
    assert balance(app, auth["X-Email"]) == (10_000 - 2 * FAKE_CALL_COST, 2 * FAKE_CALL_COST)


def test_client_going_away_settles_the_reservation(app, auth, key, fake, priced):
    """Closing the response before the end (what the server does when the client disconnects)
    releases the unused reservation and records the request as stopped."""
    from llmops.services.gateway import api_key_service, gateway_service

    grant(app, auth["X-Email"], 10_000)
    with app.test_request_context(headers={"Authorization": f"Bearer {key['key']}"}):
        principal = api_key_service.authenticate(f"Bearer {key['key']}")
        relay = gateway_service.chat_completions(principal, {
            "model": priced, "stream": True, "max_tokens": 500, "messages": [{"role": "user", "content": "Hi"}]})
        chunks = iter(relay)
        assert next(chunks).startswith(b"{")  # a chunk's JSON (llmops.api frames it as SSE)
        relay.close()
    record = flush(app)[0]
    from llmops.providers.tokens import estimate_tokens

    sent = estimate_tokens("Hello")  # only the first delta reached the client
    assert record["status"] == "stop" and record["completion_tokens"] == sent and record["estimated"]
    cost = record["prompt_tokens"] * 1 + sent * 2  # not the 500 x 2 reserved
    assert record["cost_credits"] == key_row(app, key["id"]).used_quota == cost
    assert balance(app, auth["X-Email"]) == (10_000 - cost, cost)


@pytest.fixture
def fallback_app(app, tmp_path):
    """An app whose registry has an alias over two fake upstreams: ``primary`` then ``secondary``."""
    from config import TestingConfig
    from llmops import create_app

    primary, secondary = FakeUpstream().start(), FakeUpstream().start()
    registry = tmp_path / "models.yaml"
    registry.write_text(yaml.safe_dump({
        "providers": {name: {"base_url": server.base_url, "api_key_env": None,
                             "models": [{"name": "m", "kind": "language", "price": {"input": 1.0, "output": 2.0}}]}
                      for name, server in (("primary", primary), ("secondary", secondary))},
        "aliases": {"pair": ["primary/m", "secondary/m"]},
    }))
    other = create_app(TestingConfig, **{**dict(app.config), "MODEL_REGISTRY_PATH": str(registry),
                                         "GATEWAY_COOLDOWN_S": 60.0})
    yield other, primary, secondary
    primary.stop()
    secondary.stop()


def test_fallback_on_5xx_and_cool_down(app, fallback_app, client, auth):
    other, primary, secondary = fallback_app
    grant(app, auth["X-Email"], 100_000)
    plain = new_key(client, auth)["key"]
    primary.behaviour.fail_status, primary.behaviour.fail_times = 503, 100
    client_ = sdk(other, plain)
    first = client_.chat.completions.create(model="pair", messages=[{"role": "user", "content": "Hi"}])
    assert first.choices[0].message.content == "Hello, world!"
    assert (len(primary.requests), len(secondary.requests)) == (1, 1)
    chunks = list(client_.chat.completions.create(model="pair", messages=[{"role": "user", "content": "Hi"}],
                                                  stream=True))
    assert chunks  # the cooling primary is tried last, so it is not called again
    assert (len(primary.requests), len(secondary.requests)) == (1, 2)
    secondary.behaviour.fail_status, secondary.behaviour.fail_times = 429, 100
    with pytest.raises(openai.InternalServerError) as failed:  # 429 from secondary, then 503 from primary
        client_.chat.completions.create(model="pair", messages=[{"role": "user", "content": "Hi"}])
    assert failed.value.status_code == 502 and (len(primary.requests), len(secondary.requests)) == (2, 3)
    with other.app_context():
        records = runtime().usage_buffer.drain()
    assert [r["provider"] for r in records] == ["secondary", "secondary", "primary"]
    assert records[0]["cost_usd"] == pytest.approx((11 * 1.0 + 4 * 2.0) / 1e6)
    assert records[-1]["status"] == "error" and records[-1]["status_code"] == 502


def test_usage_batches_are_idempotent(app, key, fake):
    sdk(app, key["key"]).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    with app.app_context():
        records = runtime().usage_buffer.drain()
        assert usage_service.write_usage(records) == 1
        assert usage_service.write_usage(records) == 0  # the same batch delivered twice
        assert db.session.query(UsageLog).filter_by(request_id=records[0]["request_id"]).count() == 1


def test_open_api_calls_a_published_app(app, client, auth, other_auth, new_app, fake):
    plain = new_key(client, auth, quota=100_000)["key"]
    headers = {"Authorization": f"Bearer {plain}"}
    unpublished = client.post(f"/v1/apps/{new_app}/chat", json={"query": "Hi"}, headers=headers)
    assert unpublished.status_code == 400 and "not published" in unpublished.get_json()["error"]["message"]
    assert client.post(f"/apps/{new_app}/publish", headers=auth).status_code == 200
    blocking = client.post(f"/v1/apps/{new_app}/chat", json={"query": "Hi", "end_user_id": "u-1"}, headers=headers)
    assert blocking.status_code == 200, blocking.get_json()
    message = blocking.get_json()
    assert message["answer"] == "Hello, world!" and message["conversation_id"]
    stream = client.post(f"/v1/apps/{new_app}/chat", headers=headers, json={
        "query": "Again", "stream": True, "end_user_id": "u-1", "conversation_id": message["conversation_id"]})
    body = stream.get_data(as_text=True)
    assert stream.mimetype == "text/event-stream" and "event: agent_message" in body and "event: agent_end" in body
    assert fake.requests[-1]["messages"][-3]["content"] == "Hi"  # the conversation's history went into the prompt
    other_user = client.post(f"/v1/apps/{new_app}/chat", headers=headers, json={
        "query": "x", "end_user_id": "u-2", "conversation_id": message["conversation_id"]})
    assert other_user.status_code == 404
    records = flush(app)
    assert [r["endpoint"] for r in records] == ["apps.chat", "apps.chat"] and records[0]["prompt_tokens"] == 11
    assert client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"] == []  # not debug chat
    foreign = new_key(client, other_auth)["key"]
    assert client.post(f"/v1/apps/{new_app}/chat", json={"query": "Hi"},
                       headers={"Authorization": f"Bearer {foreign}"}).status_code == 404


def test_a_key_bound_to_an_app_calls_only_that_app(app, client, auth, new_app, fake):
    other_app = client.post("/apps", json={"name": "Other"}, headers=auth).get_json()["data"]["id"]
    for app_id in (new_app, other_app):
        client.post(f"/apps/{app_id}/publish", headers=auth)
    bound = new_key(client, auth, app_id=new_app)["key"]
    headers = {"Authorization": f"Bearer {bound}"}
    assert client.post(f"/v1/apps/{new_app}/chat", json={"query": "Hi"}, headers=headers).status_code == 200
    refused = client.post(f"/v1/apps/{other_app}/chat", json={"query": "Hi"}, headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["type"] == "permission_error"


@pytest.mark.parametrize("bad_input", [5, [1, 2, 3], [], [{"a": 1}], [""], "x" * 0])
def test_embedding_input_is_validated(client, key, bad_input):
    response = client.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2", "input": bad_input},
                           headers={"Authorization": f"Bearer {key['key']}"})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "input"


MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("body", [
    {"model": "", "messages": MESSAGES}, {"model": "m" * 129, "messages": MESSAGES}, {"model": 3, "messages": MESSAGES},
    {"model": "m", "messages": []}, {"model": "m", "messages": MESSAGES * 2001}, {"model": "m"},
    {"model": "m", "messages": [{"role": "robot", "content": "x"}]}, {"model": "m", "messages": [{"content": "x"}]},
    {"model": "m", "messages": [{"role": None}]}, {"model": "m", "messages": ["Hi"]},
    {"model": "m", "messages": MESSAGES, "stream": "maybe"}, {"model": "m", "messages": MESSAGES, "stream_options": []},
    {"model": "m", "messages": MESSAGES, "max_tokens": 0}, {"model": "m", "messages": MESSAGES, "max_tokens": 10**7},
    {"model": "m", "messages": MESSAGES, "max_tokens": True}, {"model": "m", "messages": MESSAGES, "max_tokens": "5x"},
    {"model": "m", "messages": MESSAGES, "max_completion_tokens": -1},
    {"model": "m", "messages": MESSAGES, "temperature": 2.5}, {"model": "m", "messages": MESSAGES, "temperature": -0.1},
    {"model": "m", "messages": MESSAGES, "temperature": float("nan")},
    {"model": "m", "messages": MESSAGES, "temperature": float("inf")}, {"model": "m", "messages": MESSAGES, "top_p": 1.01},
    {"model": "m", "messages": MESSAGES, "top_p": False},
])
def test_the_fast_chat_check_passes_nothing_the_schema_refuses(body):
    """``/v1/chat/completions`` checks the common request without marshmallow; whatever the schema
    refuses must go to the schema (which names the field), never pass the fast check."""
    from marshmallow import ValidationError

    from llmops.api.openai import CHAT_SCHEMA, _plainly_valid_chat

    with pytest.raises(ValidationError):
        CHAT_SCHEMA.load(body)
    assert not _plainly_valid_chat(body)


def test_the_fast_chat_check_passes_the_common_request():
    from llmops.api.openai import _FAST_CHAT_CHECK, _plainly_valid_chat

    body = {"model": "m", "messages": [{"role": "system", "content": "Be brief."}, *MESSAGES], "stream": True,
            "stream_options": {"include_usage": True}, "max_tokens": 32, "temperature": 0.7, "top_p": 1, "seed": 3}
    assert _FAST_CHAT_CHECK and _plainly_valid_chat(body)
