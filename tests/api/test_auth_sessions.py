"""Sessions: login/register return an access and a refresh token; refresh; expiry; logout ends
both tokens; password change signs every other session out; seed 000's long-lived token."""

import time
import uuid
from datetime import timedelta

import pytest

from tests.conftest import register

PASSWORD = "secret123"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client, email: str, password: str = PASSWORD) -> dict:
    response = client.post("/auth/password-login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


@pytest.fixture
def short_tokens(app, monkeypatch):
    """Access tokens living 1 s, refresh tokens 3 s (restored after the test)."""
    monkeypatch.setitem(app.config, "JWT_ACCESS_TOKEN_EXPIRES", timedelta(seconds=1))
    monkeypatch.setitem(app.config, "JWT_REFRESH_TOKEN_EXPIRES", timedelta(seconds=3))


def test_login_and_register_return_the_course_shape_plus_a_refresh_token(app, client, auth):
    tokens = login(client, auth["X-Email"])
    assert set(tokens) == {"access_token", "expire_at", "expires_in", "refresh_token"}
    lifetime = app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()
    assert lifetime == 15 * 60 and lifetime - 5 <= tokens["expires_in"] <= lifetime
    assert abs(tokens["expire_at"] - time.time() - tokens["expires_in"]) <= 2
    email = f"shape-{uuid.uuid4().hex[:8]}@example.com"
    registered = client.post("/auth/register", json={"name": "S", "email": email, "password": PASSWORD})
    assert set(registered.get_json()["data"]) == set(tokens)


def test_refresh_gives_a_new_access_token_and_only_refresh_tokens_refresh(client, auth):
    tokens = login(client, auth["X-Email"])
    refreshed = client.post("/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 200, refreshed.get_json()
    data = refreshed.get_json()["data"]
    assert set(data) == {"access_token", "expire_at", "expires_in"} and data["access_token"] != tokens["access_token"]
    assert client.get("/account", headers=bearer(data["access_token"])).status_code == 200
    # an access token cannot refresh, a refresh token cannot call the API
    wrong = client.post("/auth/refresh", headers=bearer(tokens["access_token"]))
    assert wrong.status_code == 401 and wrong.get_json()["code"] == "unauthorized"
    assert client.get("/account", headers=bearer(tokens["refresh_token"])).status_code == 401
    assert client.post("/auth/refresh").status_code == 401


def test_expired_access_token_is_refused_and_refresh_recovers_until_it_expires(client, auth, short_tokens):
    tokens = login(client, auth["X-Email"])
    assert client.get("/account", headers=bearer(tokens["access_token"])).status_code == 200
    time.sleep(1.5)
    expired = client.get("/account", headers=bearer(tokens["access_token"]))
    assert expired.status_code == 401 and expired.get_json()["message"] == "the token has expired"
    fresh = client.post("/auth/refresh", headers=bearer(tokens["refresh_token"])).get_json()["data"]
    assert client.get("/account", headers=bearer(fresh["access_token"])).status_code == 200
    time.sleep(2)
    late = client.post("/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert late.status_code == 401 and late.get_json()["message"] == "the token has expired"


def test_logout_revokes_the_access_and_the_refresh_token(client, auth):
    tokens = login(client, auth["X-Email"])
    other = login(client, auth["X-Email"])
    refreshed = client.post("/auth/refresh", headers=bearer(tokens["refresh_token"])).get_json()["data"]
    assert client.post("/auth/logout", headers=bearer(tokens["access_token"])).status_code == 200
    for token in (tokens["access_token"], refreshed["access_token"]):
        response = client.get("/account", headers=bearer(token))
        assert response.status_code == 401 and response.get_json()["message"] == "the token has been revoked"
    assert client.post("/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    # another session of the same account is untouched
    assert client.get("/account", headers=bearer(other["access_token"])).status_code == 200
    # logging out with the refresh token ends that session too
    assert client.post("/auth/logout", headers=bearer(other["refresh_token"])).status_code == 200
    assert client.get("/account", headers=bearer(other["access_token"])).status_code == 401


def test_password_change_signs_out_every_other_session_and_renews_the_callers(client):
    headers = register(client)
    email = headers["X-Email"]
    mine, other = login(client, email), login(client, email)
    changed = client.post("/account/password", json={"current_password": PASSWORD, "password": "newpass123"},
                          headers=bearer(mine["access_token"]))
    assert changed.status_code == 200, changed.get_json()
    renewed = changed.get_json()["data"]
    assert set(renewed) == {"access_token", "expire_at", "expires_in", "refresh_token"}
    for token in (other["access_token"], mine["access_token"], headers["Authorization"][7:]):
        assert client.get("/account", headers=bearer(token)).status_code == 401
    assert client.post("/auth/refresh", headers=bearer(other["refresh_token"])).status_code == 401
    assert client.post("/auth/refresh", headers=bearer(mine["refresh_token"])).status_code == 401
    assert client.get("/account", headers=bearer(renewed["access_token"])).status_code == 200
    assert client.post("/auth/refresh", headers=bearer(renewed["refresh_token"])).status_code == 200
    assert client.post("/auth/password-login", json={"email": email, "password": PASSWORD}).status_code == 401
    login(client, email, "newpass123")


def test_seed000_token_keeps_its_shape_and_lives_longer(app, client):
    username = f"seed_{uuid.uuid4().hex[:8]}"
    body = {"username": username, "password": "SecureP@ssw0rd1"}
    assert client.post("/api/users/register", json=body).status_code == 201
    response = client.post("/api/users/login", json=body)
    data = response.get_json()
    assert response.status_code == 200 and set(data) == {"token", "expire_at"}
    lifetime = app.config["SEED000_TOKEN_EXPIRES"].total_seconds()
    assert lifetime == 7 * 24 * 3600 and abs(data["expire_at"] - time.time() - lifetime) <= 5
    assert client.get("/api/conversations/list", headers=bearer(data["token"])).status_code == 200
    # revocable like any token: logging out ends it
    assert client.post("/auth/logout", headers=bearer(data["token"])).status_code == 200
    refused = client.get("/api/conversations/list", headers=bearer(data["token"]))
    assert refused.status_code == 401 and refused.get_json() == {"error": "the token has been revoked"}
