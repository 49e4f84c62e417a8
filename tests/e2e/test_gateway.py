"""End to end: the official openai SDK against the live gateway (gunicorn + gevent) with the real
local model; usage written by the real worker; a quota that holds under concurrent requests."""

from __future__ import annotations

import concurrent.futures
import time

import httpx
import openai
import pytest
import sqlalchemy as sa

from llmops.providers.tokens import estimate_messages_tokens

MODEL = "smollm2-135m"


@pytest.fixture
def key(api, auth_headers):
    def create(**fields) -> dict:
        response = api.post("/api-keys", json={"remark": "e2e", **fields}, headers=auth_headers)
        assert response.status_code == 201, response.text
        return response.json()["data"]
    return create


def sdk(stack, plain: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.api_url}/v1", api_key=plain, max_retries=0, timeout=120)


def usage_rows(stack, key_id: str, count: int, timeout: float = 30) -> list:
    """The key's usage_log rows once the worker has written ``count`` of them."""
    engine = sa.create_engine(stack.env["DATABASE_URL"])
    try:
        deadline = time.time() + timeout
        while True:
            with engine.connect() as conn:
                rows = conn.execute(sa.text(
                    "SELECT status, prompt_tokens, completion_tokens, estimated, is_stream, first_token_ms "
                    "FROM usage_log WHERE CAST(api_key_id AS TEXT) IN (:a, :b) ORDER BY created_at"),
                    {"a": key_id, "b": key_id.replace("-", "")}).all()
            if len(rows) >= count or time.time() > deadline:
                return rows
            time.sleep(0.3)
    finally:
        engine.dispose()


def test_openai_sdk_against_the_real_model(stack, key, api, auth_headers):
    created = key(quota=200_000)
    client = sdk(stack, created["key"])
    models = {m.id for m in client.models.list()}
    assert {MODEL, "all-MiniLM-L6-v2"} <= models

    answer = client.chat.completions.create(model=MODEL, max_tokens=24,
                                            messages=[{"role": "user", "content": "Say hello in three words."}])
    assert answer.choices[0].message.content.strip() and answer.usage.completion_tokens > 0

    chunks = list(client.chat.completions.create(model=MODEL, max_tokens=24, stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "Name a colour."}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() and chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0

    vectors = client.embeddings.create(model="all-MiniLM-L6-v2", input=["tides", "潮汐"])
    assert [len(d.embedding) for d in vectors.data] == [384, 384]

    rows = usage_rows(stack, created["id"], 3)
    assert [r.status for r in rows] == ["success"] * 3
    assert rows[1].is_stream and rows[1].estimated and rows[1].first_token_ms is not None  # llama.cpp: no stream usage
    listed = api.get("/api-keys", headers=auth_headers).json()["data"]["list"]
    assert next(k for k in listed if k["id"] == created["id"])["used_quota"] == 0  # the local model is free


def test_wrong_key_and_over_quota(stack, key, priced_model):
    with pytest.raises(openai.AuthenticationError):
        sdk(stack, "sk-llmops-not-a-key").models.list()
    tiny = key(quota=5)
    with pytest.raises(openai.RateLimitError) as refused:
        sdk(stack, tiny["key"]).chat.completions.create(model=priced_model, max_tokens=8,
                                                        messages=[{"role": "user", "content": "Hi"}])
    assert refused.value.body["code"] == "insufficient_quota"


def test_quota_holds_under_concurrent_requests(stack, api, auth_headers, key, priced_model):
    """12 requests in flight at once (each held a second by the upstream) against a key's cap that
    covers exactly 4 reservations (the account has plenty): exactly 4 get through, the rest are 429.
    The account's balance under the same race: tests/e2e/test_money.py."""
    from tests.e2e.conftest import PRICE_IN, PRICE_OUT, flask_cli

    messages = [{"role": "user", "content": "Hi"}]
    reservation = estimate_messages_tokens(messages) * PRICE_IN + 10 * PRICE_OUT
    flask_cli(stack, "grant", api.get("/account", headers=auth_headers).json()["data"]["email"], "1000000",
              "--reason", "e2e")
    created = key(quota=4 * reservation)
    client = sdk(stack, created["key"])

    def call(_):
        try:
            client.chat.completions.create(model=priced_model, max_tokens=10, messages=messages)
            return 200
        except openai.RateLimitError:
            return 429

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(call, range(12)))
    assert sorted(statuses) == [200] * 4 + [429] * 8


def test_metrics_add_up_every_gunicorn_worker(stack, key):
    """``/metrics`` under gunicorn (multiprocess mode; two workers in the services profile)."""
    from prometheus_client.parser import text_string_to_metric_families

    def models_requests() -> float:
        text = httpx.get(f"{stack.api_url}/metrics", timeout=30).text
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
                   if s.name == "llmops_http_requests_total" and s.labels.get("endpoint") == "/v1/models")

    plain = key()["key"]
    before = models_requests()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:  # concurrent, so both workers get some
        statuses = list(pool.map(lambda _: httpx.get(f"{stack.api_url}/v1/models", timeout=30,
                                                     headers={"Authorization": f"Bearer {plain}"}).status_code,
                                 range(16)))
    assert statuses == [200] * 16
    assert models_requests() - before == 16
