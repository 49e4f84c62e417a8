"""Attacks on sessions and registration: a stolen token pair replayed after the owner changed the
password or logged out, a refresh token used as an access token, a token re-signed with other
claims, a stranger registering while registration is closed or by invitation, and one invite
code shared among many registrations."""

import concurrent.futures
import uuid

import jwt as pyjwt
import pytest

PASSWORD = "secret123"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def owner(client):
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    client.post("/auth/register", json={"name": "O", "email": email, "password": PASSWORD})
    return email


def login(client, email, password=PASSWORD) -> dict:
    return client.post("/auth/password-login", json={"email": email, "password": password}).get_json()["data"]


def test_stolen_tokens_die_when_the_owner_changes_the_password(client, owner):
    stolen, mine = login(client, owner), login(client, owner)
    assert client.get("/account", headers=bearer(stolen["access_token"])).status_code == 200
    client.post("/account/password", json={"current_password": PASSWORD, "password": "Rotated-99"},
                headers=bearer(mine["access_token"]))
    assert client.get("/account", headers=bearer(stolen["access_token"])).status_code == 401
    assert client.post("/auth/refresh", headers=bearer(stolen["refresh_token"])).status_code == 401


def test_stolen_refresh_token_dies_with_logout(client, owner):
    tokens = login(client, owner)
    client.post("/auth/logout", headers=bearer(tokens["access_token"]))
    assert client.post("/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401


def test_refresh_token_is_not_an_access_token(client, owner):
    tokens = login(client, owner)
    for path in ("/account", "/api-keys", "/apps"):
        assert client.get(path, headers=bearer(tokens["refresh_token"])).status_code == 401


def test_reforged_claims_are_refused(app, client, owner):
    tokens = login(client, owner)
    claims = pyjwt.decode(tokens["access_token"], options={"verify_signature": False})
    claims["sv"] = claims["sv"] + 7
    forged = pyjwt.encode(claims, "not-the-server-key-but-long-enough-0123456789", algorithm="HS256")
    assert client.get("/account", headers=bearer(forged)).status_code == 401
    unsigned = pyjwt.encode(claims, "", algorithm="none")
    assert client.get("/account", headers=bearer(unsigned)).status_code == 401


def test_strangers_cannot_register_when_closed_or_without_an_invite(app, client, monkeypatch):
    for policy in ("closed", "invite"):
        monkeypatch.setitem(app.config, "REGISTRATION", policy)
        body = {"name": "S", "email": f"stranger-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD,
                "invite_code": "INV-AAAA-AAAA-AAAA-AAAA"}
        assert client.post("/auth/register", json=body).status_code == 403
        seed = {"username": f"s_{uuid.uuid4().hex[:8]}", "password": PASSWORD, "invite_code": "x"}
        assert client.post("/api/users/register", json=seed).status_code == 403
        login = {"email": body["email"], "password": PASSWORD}
        assert client.post("/auth/password-login", json=login).status_code == 401


def test_one_invite_code_shared_by_many_admits_one(app, client, admin_auth, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRATION", "invite")
    code = client.post("/admin/invite-codes", json={"count": 1}, headers=admin_auth).get_json()["data"]["codes"][0]

    def attempt(i: int) -> int:
        if i % 2:
            body = {"username": f"share_{uuid.uuid4().hex[:8]}", "password": PASSWORD, "invite_code": code}
            return app.test_client().post("/api/users/register", json=body).status_code
        body = {"name": "S", "email": f"share-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD,
                "invite_code": code}
        return app.test_client().post("/auth/register", json=body).status_code

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        results = list(pool.map(attempt, range(10)))
    assert sorted(results) == [201] + [403] * 9
