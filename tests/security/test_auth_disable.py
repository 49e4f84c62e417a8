"""Attack: an admin disables an abusive account (or revokes its sessions), yet its API key and JWT
keep working on another api process that cached them. Shown failing: another real api process
(gunicorn; two workers in the services profile, PostgreSQL + Redis) with a one-hour API-key cache
refuses them on the very next request, while the change is made through this test's own app."""

import uuid

import httpx
import pytest

from bench.harness import Stack
from tests.conftest import NETGUARD_DIR, ROOT

PASSWORD = "secret123"
ROUNDS = 6  # requests per check: with two workers, each sees some


@pytest.fixture(scope="module")
def other_api(app, profile, profile_urls, upstream, netguard_log, tmp_path_factory):
    """A second api process on the test's database and state store → its base URL."""
    env = {
        "DATABASE_URL": profile_urls["DATABASE_URL"],
        "CELERY_BROKER_URL": profile_urls["CELERY_BROKER_URL"],
        "STATE_STORE_URL": profile_urls["STATE_STORE_URL"],
        "QUOTA_STORE_URL": profile_urls["STATE_STORE_URL"],
        "CHROMA_PATH": profile_urls["CHROMA_PATH"],
        "LOCAL_LLM_BASE_URL": upstream.base_url,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "JWT_SECRET_KEY": app.config["JWT_SECRET_KEY"],
        "API_KEY_CACHE_TTL_S": "3600",
        "RATELIMIT_STORAGE_URI": "memory://",
        "PYTHONPATH": f"{NETGUARD_DIR}:{ROOT}",
        "LLMOPS_NETGUARD_LOG": str(netguard_log),
    }
    if profile_urls.get("CHROMA_URL"):
        env["CHROMA_URL"] = profile_urls["CHROMA_URL"]
    stack = Stack(tmp_path_factory.mktemp("other-api"), env)
    try:
        yield stack.start_api(workers=2 if profile == "services" else 1)
    finally:
        stack.stop()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def statuses(url: str, path: str, token: str) -> set[int]:
    with httpx.Client(base_url=url, timeout=30) as http:
        return {http.get(path, headers=bearer(token)).status_code for _ in range(ROUNDS)}


@pytest.fixture
def victim(client):
    """A fresh account with an API key and a login session → (account id, key, tokens, email)."""
    email = f"abuser-{uuid.uuid4().hex[:8]}@example.com"
    tokens = client.post("/auth/register", json={"name": "A", "email": email, "password": PASSWORD}).get_json()["data"]
    key = client.post("/api-keys", json={"remark": "k"}, headers=bearer(tokens["access_token"])).get_json()["data"]["key"]
    account_id = client.get("/account", headers=bearer(tokens["access_token"])).get_json()["data"]["id"]
    return account_id, key, tokens, email


def test_disabled_account_is_refused_at_once_by_another_process(client, admin_auth, other_api, victim):
    account_id, key, tokens, _ = victim
    assert statuses(other_api, "/v1/models", key) == {200}  # the key is now cached there for an hour
    assert statuses(other_api, "/account", tokens["access_token"]) == {200}

    assert client.post(f"/admin/accounts/{account_id}/disable", headers=admin_auth).status_code == 200
    assert statuses(other_api, "/v1/models", key) == {403}
    assert statuses(other_api, "/account", tokens["access_token"]) == {403}
    with httpx.Client(base_url=other_api, timeout=30) as http:
        refreshed = http.post("/auth/refresh", headers=bearer(tokens["refresh_token"]))
        assert refreshed.status_code == 403 and refreshed.json()["message"] == "this account has been disabled"
        answer = http.get("/v1/models", headers=bearer(key)).json()
        assert answer["error"]["message"] == "this account has been disabled"

    assert client.post(f"/admin/accounts/{account_id}/enable", headers=admin_auth).status_code == 200
    assert statuses(other_api, "/v1/models", key) == {200}
    assert statuses(other_api, "/account", tokens["access_token"]) == {401}  # sessions stay revoked


def test_revoked_and_logged_out_sessions_are_refused_by_another_process(client, admin_auth, other_api, victim):
    account_id, key, tokens, email = victim
    second = client.post("/auth/password-login", json={"email": email, "password": PASSWORD}).get_json()["data"]
    assert statuses(other_api, "/account", second["access_token"]) == {200}
    assert client.post("/auth/logout", headers=bearer(second["access_token"])).status_code == 200
    assert statuses(other_api, "/account", second["access_token"]) == {401}
    with httpx.Client(base_url=other_api, timeout=30) as http:
        assert http.post("/auth/refresh", headers=bearer(second["refresh_token"])).status_code == 401

    assert statuses(other_api, "/account", tokens["access_token"]) == {200}
    assert client.post(f"/admin/accounts/{account_id}/revoke-sessions", headers=admin_auth).status_code == 200
    assert statuses(other_api, "/account", tokens["access_token"]) == {401}
    with httpx.Client(base_url=other_api, timeout=30) as http:
        assert http.post("/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    assert statuses(other_api, "/v1/models", key) == {200}  # revoking sessions leaves API keys alone


def test_a_disabled_owners_web_app_stops(client, admin_auth, other_auth, victim):
    account_id, _, tokens, _ = victim
    owner = bearer(tokens["access_token"])
    app_id = client.post("/apps", json={"name": "Bot", "description": "d"}, headers=owner).get_json()["data"]["id"]
    assert client.post(f"/apps/{app_id}/publish", headers=owner).status_code == 200
    token = client.get(f"/apps/{app_id}/published-config", headers=owner).get_json()["data"]["web_app"]["token"]
    assert client.get(f"/web-apps/{token}", headers=other_auth).status_code == 200

    assert client.post(f"/admin/accounts/{account_id}/disable", headers=admin_auth).status_code == 200
    refused = client.get(f"/web-apps/{token}", headers=other_auth)
    assert refused.status_code == 403 and "has been disabled" in refused.get_json()["message"]
    chat = client.post(f"/web-apps/{token}/chat", json={"conversation_id": "", "query": "Hi"}, headers=other_auth)
    assert chat.status_code == 403
    assert client.post(f"/admin/accounts/{account_id}/enable", headers=admin_auth).status_code == 200
    assert client.get(f"/web-apps/{token}", headers=other_auth).status_code == 200
