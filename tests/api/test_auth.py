"""Accounts: register, login, logout revocation, profile, validation."""


def test_register_login_profile_logout(client):
    body = {"name": "Ada", "email": "ada-auth@example.com", "password": "secret123"}
    response = client.post("/auth/register", json=body)
    assert response.status_code == 201
    data = response.get_json()
    assert data["code"] == "success" and data["data"]["access_token"] and data["data"]["expire_at"] > 0

    again = client.post("/auth/register", json=body)
    assert again.status_code == 409 and again.get_json()["data"] == {"email": ["already registered"]}

    login = client.post("/auth/password-login", json={"email": "ADA-auth@example.com", "password": "secret123"})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.get_json()['data']['access_token']}"}
    profile = client.get("/account", headers=headers).get_json()["data"]
    assert profile["email"] == "ada-auth@example.com" and profile["name"] == "Ada"
    assert set(profile) == {"id", "name", "email", "avatar", "is_admin", "last_login_at", "last_login_ip",
                            "created_at", "balance", "used", "unit"}
    assert profile["is_admin"] is False

    assert client.post("/account/name", json={"name": "Ada L."}, headers=headers).get_json()["data"]["name"] == "Ada L."

    assert client.post("/auth/logout", headers=headers).status_code == 200
    revoked = client.get("/account", headers=headers)
    assert revoked.status_code == 401 and revoked.get_json()["code"] == "unauthorized"


def test_wrong_password_is_generic_401(client, auth):
    response = client.post("/auth/password-login", json={"email": auth["X-Email"], "password": "wrong1234"})
    assert response.status_code == 401
    unknown = client.post("/auth/password-login", json={"email": "nobody@example.com", "password": "wrong1234"})
    assert unknown.status_code == 401 and unknown.get_json()["message"] == response.get_json()["message"]


def test_register_validation_names_every_field(client):
    response = client.post("/auth/register", json={"email": "not-an-email", "password": "short"})
    body = response.get_json()
    assert response.status_code == 422 and body["code"] == "validate_error"
    assert set(body["data"]) == {"name", "email", "password"}
    assert body["message"].split(":")[0] in body["data"]


def test_password_change_requires_current_password(client, auth):
    wrong = client.post("/account/password", json={"current_password": "nope", "password": "newpass123"}, headers=auth)
    assert wrong.status_code == 400 and "current_password" in wrong.get_json()["data"]
    right = client.post("/account/password", json={"current_password": "secret123", "password": "newpass123"}, headers=auth)
    assert right.status_code == 200
    login = client.post("/auth/password-login", json={"email": auth["X-Email"], "password": "newpass123"})
    assert login.status_code == 200


def test_missing_and_garbage_tokens_are_401(client):
    assert client.get("/account").status_code == 401
    response = client.get("/account", headers={"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 401 and response.get_json()["code"] == "unauthorized"


def test_login_is_rate_limited_per_email(app, client, auth, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    statuses = [
        client.post("/auth/password-login", json={"email": auth["X-Email"], "password": "bad-guess1"}).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
