"""Guessing API keys is limited per client address (``API_KEY_FAILURE_RATE_LIMIT``), and behind a
reverse proxy that address comes from ``X-Forwarded-For`` only when ``TRUSTED_PROXY_HOPS`` says so."""

from __future__ import annotations

import secrets

from tests.api.test_api_keys import new_key


def guess(client, forwarded_for: str | None = None):
    headers = {"Authorization": f"Bearer sk-llmops-{secrets.token_urlsafe(32)}"}
    if forwarded_for:
        headers["X-Forwarded-For"] = forwarded_for
    return client.get("/v1/models", headers=headers)


def test_failed_key_attempts_are_limited_per_address(make_app, client, auth, key_headers):
    guarded = make_app(API_KEY_FAILURE_RATE_LIMIT="5 per minute").test_client()
    known = {"Authorization": f"Bearer {new_key(client, auth)['key']}"}
    assert guarded.get("/v1/models", headers=known).status_code == 200  # a key in use before the attack
    statuses = [guess(guarded).status_code for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    # every key surface shares the count, and a right key not yet seen is refused too while it lasts
    assert guarded.post("/chat/completions", json={}, headers={"Authorization": "Bearer nope"}).status_code == 429
    assert guarded.get("/api/v1/models", headers={"Authorization": "Bearer nope"}).status_code == 429
    assert guarded.post("/openapi/chat", json={}, headers={"Authorization": "Bearer nope"}).status_code == 429
    assert guarded.get("/v1/models", headers=key_headers).status_code == 429
    # a key this process already holds as valid keeps working (no limiter round trip on the hot path)
    assert guarded.get("/v1/models", headers=known).status_code == 200
    other = guarded.application.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.9"  # another client is not affected
    assert other.get("/v1/models", headers=key_headers).status_code == 200


def test_a_spoofed_forwarded_for_is_ignored_without_trusted_hops(make_app):
    client = make_app(API_KEY_FAILURE_RATE_LIMIT="3 per minute", TRUSTED_PROXY_HOPS=0).test_client()
    statuses = [guess(client, f"198.51.100.{i}").status_code for i in range(6)]
    assert statuses == [401] * 3 + [429] * 3  # a new X-Forwarded-For each time did not reset the count


def test_with_one_trusted_hop_the_client_address_is_the_forwarded_one(make_app):
    client = make_app(API_KEY_FAILURE_RATE_LIMIT="3 per minute", TRUSTED_PROXY_HOPS=1).test_client()
    assert [guess(client, f"198.51.100.{i}").status_code for i in range(6)] == [401] * 6  # six clients
    same = [guess(client, "198.51.100.200").status_code for _ in range(5)]
    assert same == [401] * 3 + [429] * 2
