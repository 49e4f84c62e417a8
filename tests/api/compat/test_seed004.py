"""Seed 004's self-service contract (its README "API 接口" and "配置说明"): the documented routes with
API-key auth, the per-key query limits of ``rate_limit`` (billing 10, logs 20 per minute), the
``/api/about`` route list and ``/metrics``. Shapes and accounting: tests/api/test_billing_redeem_admin.py."""

from tests.api.test_api_keys import new_key


def bearer(plain: str) -> dict:
    return {"Authorization": f"Bearer {plain}"}


def test_documented_routes_answer_with_a_key_and_refuse_without(client, auth):
    key = new_key(client, auth, quota=1000)
    for path in ("/v1/dashboard/billing/subscription", "/v1/dashboard/billing/usage", "/api/logs"):
        assert client.get(path, headers=bearer(key["key"])).status_code == 200, path
        unauthorised = client.get(path)
        assert unauthorised.status_code == 401, path
    assert client.get("/api/pricing").status_code == 200  # public
    assert client.get("/api/redeem?code=NOPE", headers=bearer(key["key"])).status_code == 400
    assert client.get("/metrics").status_code == 200


def test_billing_and_log_queries_are_limited_per_key(app, client, auth, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_QUERY_RATE_LIMIT", "3 per minute")
    monkeypatch.setitem(app.config, "LOG_QUERY_RATE_LIMIT", "2 per minute")
    first, second = new_key(client, auth), new_key(client, auth)
    billing = [client.get("/v1/dashboard/billing/subscription", headers=bearer(first["key"])).status_code
               for _ in range(4)]
    assert billing == [200, 200, 200, 429]
    refused = client.get("/v1/dashboard/billing/usage", headers=bearer(first["key"]))
    assert refused.status_code == 429 and refused.get_json()["error"]["type"] == "rate_limit_error"
    assert client.get("/v1/dashboard/billing/subscription", headers=bearer(second["key"])).status_code == 200
    logs = [client.get("/api/logs", headers=bearer(first["key"])).status_code for _ in range(3)]
    assert logs == [200, 200, 429]


def test_about_lists_the_routes(client):
    about = client.get("/api/about").get_json()["data"]
    paths = {(r["path"], tuple(r["methods"])) for r in about["routes"]}
    for documented in (("/v1/chat/completions", ("POST",)), ("/v1/dashboard/billing/subscription", ("GET",)),
                       ("/v1/dashboard/billing/usage", ("GET",)), ("/api/pricing", ("GET",)),
                       ("/api/redeem", ("GET",)), ("/api/redeem", ("POST",)), ("/metrics", ("GET",))):
        assert documented in paths, documented
