"""Seed 003's keyless routes spend ``SEED003_API_KEY``: only from ``SEED003_ALLOWED_NETWORKS``
(default loopback) and ``SEED003_RATE_LIMIT`` times per address."""

from __future__ import annotations

from tests.api.test_api_keys import new_key

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def test_keyless_requests_from_outside_the_allowed_networks_are_refused(client, auth, make_app, fake):
    key = new_key(client, auth)
    internal = make_app(SEED003_API_KEY=key["key"])
    stranger = internal.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "203.0.113.7"  # a public address
    refused = stranger.post("/api/v1/chat/completions", json=CHAT)
    assert refused.status_code == 403 and set(refused.get_json()) == {"detail"}
    assert stranger.get("/api/v1/models").status_code == 403
    assert fake.requests == []
    # the same stranger with a key of their own is served; a loopback client keylessly too
    own = stranger.post("/api/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key['key']}"})
    assert own.status_code == 200
    assert internal.test_client().post("/api/v1/chat/completions", json=CHAT).status_code == 200
    widened = make_app(SEED003_API_KEY=key["key"], SEED003_ALLOWED_NETWORKS="203.0.113.0/24")
    outside = widened.test_client()
    outside.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    assert outside.post("/api/v1/chat/completions", json=CHAT).status_code == 200


def test_keyless_requests_are_limited_per_address(client, auth, make_app, fake):
    key = new_key(client, auth)
    internal = make_app(SEED003_API_KEY=key["key"], SEED003_RATE_LIMIT="3 per minute").test_client()
    statuses = [internal.post("/api/v1/chat/completions", json=CHAT).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert len(fake.requests) == 3
    # a client sending its own key is not counted against the keyless budget
    keyed = internal.post("/api/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {key['key']}"})
    assert keyed.status_code == 200
