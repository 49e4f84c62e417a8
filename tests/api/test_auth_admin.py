"""Admin account controls (disable, enable, revoke sessions) and the registration policy
(open, invite with admin-made single-use codes, closed) on the studio and seed 000 routes."""

import concurrent.futures
import time
import uuid

import pytest

from llmops.extensions import db
from llmops.models import InviteCode
from tests.conftest import register

PASSWORD = "secret123"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def account_id(client, headers) -> str:
    return client.get("/account", headers=headers).get_json()["data"]["id"]


def new_key(client, headers) -> str:
    response = client.post("/api-keys", json={"remark": "t"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["key"]


@pytest.fixture
def policy(app, monkeypatch):
    """Set ``REGISTRATION`` for one test: ``policy("invite")`` (restored after the test)."""

    def set_policy(value: str) -> None:
        monkeypatch.setitem(app.config, "REGISTRATION", value)

    return set_policy


def test_disable_refuses_keys_and_tokens_at_once_and_enable_restores_keys(client, auth, admin_auth):
    target = account_id(client, auth)
    key = new_key(client, auth)
    refresh = client.post("/auth/password-login", json={"email": auth["X-Email"], "password": PASSWORD}
                          ).get_json()["data"]["refresh_token"]
    assert client.get("/v1/models", headers=bearer(key)).status_code == 200  # cached in this process now

    disabled = client.post(f"/admin/accounts/{target}/disable", headers=admin_auth)
    assert disabled.status_code == 200 and disabled.get_json()["data"]["disabled"] is True

    refused = client.get("/v1/models", headers=bearer(key))
    assert refused.status_code == 403 and refused.get_json()["error"]["message"] == "this account has been disabled"
    jwt_refused = client.get("/account", headers=auth)
    assert jwt_refused.status_code == 403 and jwt_refused.get_json()["message"] == "this account has been disabled"
    assert client.post("/auth/refresh", headers=bearer(refresh)).status_code == 403
    login = client.post("/auth/password-login", json={"email": auth["X-Email"], "password": PASSWORD})
    assert login.status_code == 403 and login.get_json()["code"] == "forbidden"
    wrong = client.post("/auth/password-login", json={"email": auth["X-Email"], "password": "wrong1234"})
    assert wrong.status_code == 401  # the status is told only to whoever knows the password

    enabled = client.post(f"/admin/accounts/{target}/enable", headers=admin_auth)
    assert enabled.status_code == 200 and enabled.get_json()["data"]["disabled"] is False
    assert client.get("/v1/models", headers=bearer(key)).status_code == 200
    # tokens from before the disabling stay revoked: the owner logs in again
    assert client.get("/account", headers=auth).status_code == 401
    assert client.post("/auth/refresh", headers=bearer(refresh)).status_code == 401
    fresh = client.post("/auth/password-login", json={"email": auth["X-Email"], "password": PASSWORD})
    assert client.get("/account", headers=bearer(fresh.get_json()["data"]["access_token"])).status_code == 200


def test_revoke_sessions_refuses_every_earlier_token_but_not_keys(client, auth, admin_auth):
    target = account_id(client, auth)
    key = new_key(client, auth)
    tokens = client.post("/auth/password-login", json={"email": auth["X-Email"], "password": PASSWORD}
                         ).get_json()["data"]
    response = client.post(f"/admin/accounts/{target}/revoke-sessions", headers=admin_auth)
    assert response.status_code == 200 and response.get_json()["data"]["session_version"] == 1
    for token in (auth["Authorization"][7:], tokens["access_token"]):
        refused = client.get("/account", headers=bearer(token))
        assert refused.status_code == 401 and refused.get_json()["message"] == "the token has been revoked"
    assert client.post("/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code == 401
    assert client.get("/v1/models", headers=bearer(key)).status_code == 200
    again = client.post("/auth/password-login", json={"email": auth["X-Email"], "password": PASSWORD})
    assert client.get("/account", headers=bearer(again.get_json()["data"]["access_token"])).status_code == 200


def test_account_routes_are_admin_only_and_check_ids(client, auth, other_auth, admin_auth):
    target = account_id(client, other_auth)
    for action in ("disable", "enable", "revoke-sessions"):
        forbidden = client.post(f"/admin/accounts/{target}/{action}", headers=auth)
        assert forbidden.status_code == 403 and forbidden.get_json()["message"] == "admin only"
        missing = client.post(f"/admin/accounts/{uuid.uuid4()}/{action}", headers=admin_auth)
        assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    assert client.post("/admin/accounts/not-a-uuid/disable", headers=admin_auth).status_code == 404
    me = account_id(client, admin_auth)
    self_disable = client.post(f"/admin/accounts/{me}/disable", headers=admin_auth)
    assert self_disable.status_code == 400 and "own account" in self_disable.get_json()["message"]
    assert client.get("/account", headers=other_auth).status_code == 200


def test_closed_registration_refuses_with_a_clear_403(client, policy):
    policy("closed")
    email = f"closed-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post("/auth/register", json={"name": "C", "email": email, "password": PASSWORD})
    assert response.status_code == 403 and response.get_json()["code"] == "forbidden"
    assert "registration is closed" in response.get_json()["message"]
    seed = client.post("/api/users/register", json={"username": f"c_{uuid.uuid4().hex[:8]}", "password": PASSWORD})
    assert seed.status_code == 403 and "registration is closed" in seed.get_json()["error"]


def test_invite_registration_needs_a_valid_unused_code(app, client, admin_auth, policy):
    policy("invite")
    made = client.post("/admin/invite-codes", json={"count": 3}, headers=admin_auth)
    assert made.status_code == 201, made.get_json()
    codes = made.get_json()["data"]["codes"]
    assert len(codes) == 3 and all(c.startswith("INV-") and len(c) == 23 for c in codes)

    def attempt(invite_code=None, email=None):
        body = {"name": "I", "email": email or f"inv-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
        if invite_code is not None:
            body["invite_code"] = invite_code
        return client.post("/auth/register", json=body)

    missing = attempt()
    assert missing.status_code == 403 and missing.get_json()["data"] == {"invite_code": ["required"]}
    bogus = attempt("INV-AAAA-BBBB-CCCC-DDDD")
    assert bogus.status_code == 403 and bogus.get_json()["data"] == {"invite_code": ["invalid, expired or already used"]}
    assert attempt(codes[0]).status_code == 201
    reused = attempt(codes[0])
    assert reused.status_code == 403 and reused.get_json()["message"] == bogus.get_json()["message"]
    # a refused registration (e-mail taken) does not use the code up; codes are case/dash tolerant
    taken = attempt(codes[1], email=admin_auth["X-Email"])
    assert taken.status_code == 409
    assert attempt(codes[1].lower().replace("-", "")).status_code == 201
    # seed 000's registration takes the same codes
    seed_body = {"username": f"i_{uuid.uuid4().hex[:8]}", "password": PASSWORD}
    assert client.post("/api/users/register", json=seed_body).status_code == 403
    seeded = client.post("/api/users/register", json={**seed_body, "invite_code": codes[2]})
    assert seeded.status_code == 201, seeded.get_json()
    # expired codes are refused
    past = client.post("/admin/invite-codes", json={"count": 1, "expires_at": int(time.time()) - 1}, headers=admin_auth)
    assert attempt(past.get_json()["data"]["codes"][0]).status_code == 403
    # only hashes are stored
    with app.app_context():
        stored = {row.code_hash for row in db.session.query(InviteCode)}
    assert not any(code in stored or code.replace("-", "") in stored for code in codes)


def test_invite_codes_are_listed_for_admins_only(client, auth, admin_auth, policy):
    policy("invite")
    codes = client.post("/admin/invite-codes", json={"count": 2}, headers=admin_auth).get_json()["data"]["codes"]
    body = {"name": "L", "email": f"list-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD,
            "invite_code": codes[0]}
    assert client.post("/auth/register", json=body).status_code == 201
    listed = client.get("/admin/invite-codes?page_size=50", headers=admin_auth).get_json()["data"]
    by_hint = {item["code"]: item for item in listed["list"]}
    first, second = by_hint[f"{codes[0][:8]}…{codes[0][-4:]}"], by_hint[f"{codes[1][:8]}…{codes[1][-4:]}"]
    assert first["status"] == "used" and first["used_by"] and second["status"] == "unused"
    assert listed["paginator"]["total_record"] >= 2
    used = client.get("/admin/invite-codes?status=used&page_size=50", headers=admin_auth).get_json()["data"]["list"]
    assert all(item["status"] == "used" for item in used)
    assert client.get("/admin/invite-codes", headers=auth).status_code == 403
    assert client.post("/admin/invite-codes", json={"count": 1}, headers=auth).status_code == 403
    bad = client.post("/admin/invite-codes", json={"count": 0}, headers=admin_auth)
    assert bad.status_code == 422 and "count" in bad.get_json()["data"]
    bad_status = client.get("/admin/invite-codes?status=maybe", headers=admin_auth)
    assert bad_status.status_code == 422 and "status" in bad_status.get_json()["data"]


def test_one_invite_code_used_concurrently_admits_exactly_one_account(app, client, admin_auth, policy):
    policy("invite")
    code = client.post("/admin/invite-codes", json={"count": 1}, headers=admin_auth).get_json()["data"]["codes"][0]
    emails = [f"race-{uuid.uuid4().hex[:8]}@example.com" for _ in range(8)]

    def attempt(email):
        body = {"name": "R", "email": email, "password": PASSWORD, "invite_code": code}
        return app.test_client().post("/auth/register", json=body).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, emails))
    assert sorted(statuses) == [201] + [403] * 7
    logins = [client.post("/auth/password-login", json={"email": e, "password": PASSWORD}).status_code for e in emails]
    assert sorted(logins) == [200] + [401] * 7


def test_open_registration_ignores_invite_codes(client, policy):
    policy("open")
    body = {"name": "O", "email": f"open-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD,
            "invite_code": "whatever"}
    assert client.post("/auth/register", json=body).status_code == 201
    assert register(client)["Authorization"]


def test_disabled_seed000_user_gets_the_seeds_error_shape(client, admin_auth):
    body = {"username": f"d_{uuid.uuid4().hex[:8]}", "password": PASSWORD}
    assert client.post("/api/users/register", json=body).status_code == 201
    token = client.post("/api/users/login", json=body).get_json()["token"]
    account = client.get("/account", headers=bearer(token)).get_json()["data"]["id"]
    assert client.post(f"/admin/accounts/{account}/disable", headers=admin_auth).status_code == 200
    refused = client.get("/api/conversations/list", headers=bearer(token))
    assert refused.status_code == 403 and refused.get_json() == {"error": "this account has been disabled"}
    login = client.post("/api/users/login", json=body)
    assert login.status_code == 403 and login.get_json() == {"error": "this account has been disabled"}
