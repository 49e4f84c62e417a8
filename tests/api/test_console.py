"""The console's routes on the api: the built console at / with the history-API fallback (API
404s stay JSON), the public registration policy, the account's request log (``GET /usage/logs``)
and the admin's redeem-code list (``GET /admin/redeem-codes``)."""

from __future__ import annotations

import time
import uuid

import pytest

from llmops.services.core import usage_service
from tests.conftest import register

INDEX = "<!doctype html><div id=\"root\"></div><script src=\"/assets/app-1.js\"></script>"


@pytest.fixture
def built(app, tmp_path, monkeypatch):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "app-1.js").write_text("console.log('console')")
    monkeypatch.setitem(app.config, "CONSOLE_DIST", str(tmp_path))
    return tmp_path


def test_index_and_history_fallback(client, built):
    for path in ("/", "/console/apps", "/console/apps/8c4b4d4e-0000-0000-0000-000000000000", "/console/self-service"):
        response = client.get(path)
        assert response.status_code == 200 and response.get_data(as_text=True) == INDEX, path
        assert response.headers["Content-Type"].startswith("text/html")
    asset = client.get("/assets/app-1.js")
    assert asset.status_code == 200 and "javascript" in asset.headers["Content-Type"]
    assert "max-age=31536000" in asset.headers["Cache-Control"]


def test_api_404s_stay_json(client, built):
    for path in ("/apps/not-a-uuid", "/datasets/x/y/z", "/assets/missing.js", "/admin/nope", "/favicon.ico"):
        response = client.get(path)
        assert response.status_code == 404 and response.get_json()["code"] == "not_found", path
    gateway = client.get("/v1/unknown")
    assert gateway.status_code == 404 and "message" in gateway.get_json()["error"]
    assert client.post("/console/apps").status_code in (404, 405)
    assert client.post("/console/apps").is_json


def test_index_when_not_built(client, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "CONSOLE_DIST", str(tmp_path / "missing"))
    response = client.get("/")
    assert response.status_code == 404 and "npm run build" in response.get_json()["message"]


def test_registration_policy(client, app, monkeypatch):
    assert client.get("/auth/registration-policy").get_json()["data"] == {"mode": "open"}
    monkeypatch.setitem(app.config, "REGISTRATION", "invite")
    assert client.get("/auth/registration-policy").get_json()["data"] == {"mode": "invite"}


def _record(app, account_id: str, key_id: str | None, model: str, created_at: float) -> None:
    with app.app_context():
        usage_service.write_usage([{"request_id": uuid.uuid4().hex, "api_key_id": key_id, "account_id": account_id,
                                    "endpoint": "/v1/chat/completions", "model": model, "status": "success",
                                    "prompt_tokens": 5, "completion_tokens": 7, "latency_ms": 120,
                                    "surface": "gateway" if key_id else "debug", "created_at": created_at}])


def test_usage_logs_list_the_accounts_requests(client, app):
    auth, other = register(client), register(client, "Other")
    me = client.get("/account", headers=auth).get_json()["data"]["id"]
    them = client.get("/account", headers=other).get_json()["data"]["id"]
    key_a = client.post("/api-keys", json={"remark": "a"}, headers=auth).get_json()["data"]["id"]
    key_b = client.post("/api-keys", json={"remark": "b"}, headers=auth).get_json()["data"]["id"]
    now = time.time()
    _record(app, me, key_a, "m-old", now - 30)
    _record(app, me, key_b, "m-new", now - 10)
    _record(app, me, None, "m-debug", now - 20)
    _record(app, them, None, "m-theirs", now)

    page = client.get("/usage/logs?page_size=10", headers=auth).get_json()["data"]
    assert [r["model"] for r in page["list"]] == ["m-new", "m-debug", "m-old"]
    assert page["paginator"]["total_record"] == 3
    assert page["list"][0]["api_key_id"] == key_b and page["list"][1]["api_key_id"] is None
    assert page["list"][0]["total_tokens"] == 12 and page["list"][0]["latency_ms"] == 120
    only_a = client.get(f"/usage/logs?api_key_id={key_a}", headers=auth).get_json()["data"]["list"]
    assert [r["model"] for r in only_a] == ["m-old"]
    assert client.get(f"/usage/logs?api_key_id={key_a}", headers=other).get_json()["data"]["list"] == []
    bad = client.get("/usage/logs?api_key_id=nope", headers=auth)
    assert bad.status_code == 422 and "api_key_id" in bad.get_json()["data"]
    assert client.get("/usage/logs").status_code == 401


def test_admin_lists_redeem_codes(client, admin_auth):
    codes = client.post("/admin/redeem-codes", json={"count": 2, "quota": 1500}, headers=admin_auth) \
        .get_json()["data"]["codes"]
    user = register(client)
    assert client.post("/account/redeem", json={"code": codes[0]}, headers=user).status_code == 200
    listed = client.get("/admin/redeem-codes?page_size=50", headers=admin_auth).get_json()["data"]
    mine = [c for c in listed["list"] if c["quota"] == 1500][:2]
    assert sorted(c["status"] for c in mine) == ["redeemed", "unused"]
    assert all(code not in str(listed) for code in codes)  # only hashes are kept
    redeemed = client.get("/admin/redeem-codes?status=redeemed&page_size=50", headers=admin_auth).get_json()["data"]
    assert redeemed["list"] and all(c["redeemed_at"] for c in redeemed["list"])
    assert client.get("/admin/redeem-codes?status=bogus", headers=admin_auth).status_code == 422
    assert client.get("/admin/redeem-codes", headers=user).status_code == 403


def test_account_says_whether_it_is_an_admin(client, auth, admin_auth):
    assert client.get("/account", headers=auth).get_json()["data"]["is_admin"] is False
    assert client.get("/account", headers=admin_auth).get_json()["data"]["is_admin"] is True
