"""Course module 07 (account settings): profile fields, name, avatar; the password change keeps
requiring the current password (a deliberate difference from the course platform)."""

from __future__ import annotations

from tests.api.course.conftest import envelope, missing

ACCOUNT_FIELDS = {"id", "name", "email", "avatar", "last_login_at", "last_login_ip", "created_at"}


def test_account_replay(client, logged_in):
    assert not missing(envelope(client.get("/account", headers=logged_in)), ACCOUNT_FIELDS)
    envelope(client.post("/account/name", json={"name": "泽辉呀"}, headers=logged_in))
    avatar = "https://cdn.imooc.com/2024/05/14/218e5217-ab10-4634-9681-022867955f1b.png"
    envelope(client.post("/account/avatar", json={"avatar": avatar}, headers=logged_in))
    profile = envelope(client.get("/account", headers=logged_in))
    assert profile["name"] == "泽辉呀" and profile["avatar"] == avatar


def test_avatar_must_be_an_http_url(client, logged_in):
    for value in ("javascript:alert(1)", "", "x" * 600):
        response = client.post("/account/avatar", json={"avatar": value}, headers=logged_in)
        assert response.status_code == 422 and "avatar" in response.get_json()["data"], value
    assert client.post("/account/avatar", json={"avatar": "/upload-files/images/a.png"}, headers=logged_in
                       ).status_code == 200


def test_password_change_without_the_current_password_is_refused(client, logged_in):
    response = client.post("/account/password", json={"password": "imooc.com@zehuiya1"}, headers=logged_in)
    assert response.status_code == 422 and "current_password" in response.get_json()["data"]
    ok = client.post("/account/password", json={"current_password": "secret123", "password": "imooc.com@zehuiya1"},
                     headers=logged_in)
    assert ok.status_code == 200
