"""API responses carry ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store`` (keys,
tokens and account data must not be cached or content-sniffed), streams and errors included."""

from __future__ import annotations

from tests.security.test_search_and_seed000 import seed_user


def assert_protected(response) -> None:
    assert response.headers.get("X-Content-Type-Options") == "nosniff", (response.request.path, dict(response.headers))
    assert response.headers.get("Cache-Control") == "no-store", (response.request.path, dict(response.headers))


def test_every_surface_sends_nosniff_and_no_store(client, auth, key_headers, new_app, fake):
    chat = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "hi"}]}
    responses = [
        client.post("/api-keys", json={"remark": "shown once"}, headers=auth),  # a plain key in the body
        client.get("/account", headers=auth),
        client.get("/apps/not-an-id", headers=auth),  # an error
        client.get("/v1/models", headers=key_headers),
        client.post("/v1/chat/completions", json=chat, headers=key_headers),
        client.post("/v1/chat/completions", json={**chat, "stream": True}, headers=key_headers),  # SSE
        client.post(f"/apps/{new_app}/debug", json={"query": "hi", "stream": True}, headers=auth),  # studio SSE
        client.post("/chat/completions", json=chat, headers=key_headers),  # voice engine SSE
        client.get("/api/v1/models", headers=key_headers),
        client.get("/api/pricing"),
        client.get("/readyz"),
    ]
    user = seed_user(client)
    number = client.post("/api/conversations/create", json={"title": "t"}, headers=user).get_json()["conversation_id"]
    responses.append(client.post(f"/api/chat/{number}", json={"message": "hi"}, headers=user))  # seed 000 SSE
    for response in responses:
        response.get_data()
        assert_protected(response)
    metrics = client.get("/metrics")
    assert metrics.headers["X-Content-Type-Options"] == "nosniff"
