"""Seed 004's self-service API, one-api's billing shapes, GET /usage, redeem codes and the admin
routes (docs/api.md A, B, C4)."""

import concurrent.futures
import uuid
from datetime import timedelta

from llmops.extensions import db
from llmops.models import Account, UsageDaily, UsageLog
from llmops.models.base import utcnow
from llmops.services.gateway import billing_service, redeem_service
from tests.api.test_api_keys import new_key
from tests.api.test_gateway import MODEL, flush, sdk
from tests.conftest import register


def bearer(plain: str) -> dict:
    return {"Authorization": f"Bearer {plain}"}


def own_address() -> dict:
    """A client address of the test's own, so the per-IP redeem limit is not shared between tests."""
    return {"environ_base": {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}}


def test_pricing_is_public_and_lists_prices(client):
    data = client.get("/api/pricing").get_json()["data"]["data"]
    local = next(m for m in data if m["model"] == MODEL)
    assert local["unit"] == "USD per 1M tokens" and local["input_price"] == 0.0


def test_billing_subscription_and_usage_shapes(app, client, auth, fake):
    key = new_key(client, auth, quota=1_000_000)
    sub = client.get("/v1/dashboard/billing/subscription", headers=bearer(key["key"])).get_json()
    assert sub["object"] == "billing_subscription" and sub["hard_limit_usd"] == 1.0  # 1M credits = 1 USD
    assert set(sub) == {"object", "has_payment_method", "soft_limit_usd", "hard_limit_usd", "system_hard_limit_usd",
                        "access_until"}
    with app.app_context():
        now = utcnow()
        db.session.add_all([
            UsageLog(request_id=uuid.uuid4().hex, api_key_id=uuid.UUID(key["id"]), account_id=uuid.uuid4(),
                     endpoint="chat.completions", model=MODEL, status="success", cost_usd=0.25, created_at=now),
            UsageLog(request_id=uuid.uuid4().hex, api_key_id=uuid.UUID(key["id"]), account_id=uuid.uuid4(),
                     endpoint="chat.completions", model=MODEL, status="success", cost_usd=1.0,
                     created_at=now - timedelta(days=3)),
        ])
        db.session.commit()
    today, tomorrow = now.date().isoformat(), (now.date() + timedelta(days=1)).isoformat()
    usage = client.get("/v1/dashboard/billing/usage", headers=bearer(key["key"])).get_json()
    assert usage == {"object": "list", "total_usage": 125.0}  # cents
    only_today = client.get(f"/v1/dashboard/billing/usage?start_date={today}&end_date={tomorrow}",
                            headers=bearer(key["key"])).get_json()
    assert only_today["total_usage"] == 25.0
    bad = client.get("/v1/dashboard/billing/usage?start_date=yesterday", headers=bearer(key["key"]))
    assert bad.status_code == 400 and bad.get_json()["error"]["param"] == "start_date"


def test_logs_and_usage_report(app, client, auth, fake):
    flush(app)
    key = new_key(client, auth)
    for _ in range(3):
        sdk(app, key["key"]).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    flush(app)
    logs = client.get("/api/logs?page_size=2", headers=bearer(key["key"])).get_json()["data"]
    assert logs["paginator"]["total_record"] == 3 and len(logs["list"]) == 2
    assert logs["list"][0]["total_tokens"] == 15 and logs["list"][0]["status"] == "success"
    report = client.get("/usage", headers=auth).get_json()["data"]
    assert len(report) == 1 and report[0]["requests"] == 3 and report[0]["total_tokens"] == 45
    assert client.get("/usage?start_date=2026-13-01", headers=auth).status_code == 422


def test_retention_rolls_up_before_deleting(app, client, auth):
    key = new_key(client, auth)
    key_id = uuid.UUID(key["id"])
    with app.app_context():
        account_id = db.session.query(Account).filter_by(email=auth["X-Email"]).one().id
        old = utcnow() - timedelta(days=app.config["USAGE_LOG_RETENTION_DAYS"] + 2)
        db.session.add_all([UsageLog(request_id=uuid.uuid4().hex, api_key_id=key_id, account_id=account_id,
                                     endpoint="chat.completions", model=MODEL, status=status, prompt_tokens=10,
                                     completion_tokens=5, cost_usd=0.5, latency_ms=latency, created_at=old)
                            for status, latency in (("success", 100), ("error", 300), ("success", 200))])
        db.session.commit()
        assert billing_service.purge_logs() >= 3
        assert db.session.query(UsageLog).filter_by(api_key_id=key_id).count() == 0
        daily = db.session.query(UsageDaily).filter_by(api_key_id=key_id).one()
        assert (daily.requests, daily.errors, daily.prompt_tokens, daily.latency_p50_ms) == (3, 1, 30, 200)
    start = (old.date() - timedelta(days=1)).isoformat()
    report = client.get(f"/usage?start_date={start}", headers=auth).get_json()["data"]
    assert [r["requests"] for r in report if r["day"] == old.date().isoformat()] == [3]


def test_redeem_codes_credit_once_and_answer_generically(app, client, auth, admin_auth):
    assert client.post("/admin/redeem-codes", json={"count": 2, "quota": 500}, headers=auth).status_code == 403
    created = client.post("/admin/redeem-codes", json={"count": 2, "quota": 500}, headers=admin_auth)
    assert created.status_code == 201
    first, second = created.get_json()["data"]["codes"]
    key = new_key(client, auth)  # any key of the account, capped or not
    ip = own_address()
    peek = client.get(f"/api/redeem?code={first}", headers=bearer(key["key"]), **ip).get_json()
    assert peek["data"] == {"quota": 500, "expires_at": None, "status": "valid"}
    redeemed = client.post("/api/redeem", json={"code": first.lower()}, headers=bearer(key["key"]), **ip)
    assert redeemed.status_code == 200 and redeemed.get_json()["data"] == {"credited": 500, "balance": 500}
    again = client.post("/api/redeem", json={"code": first}, headers=bearer(key["key"]), **ip)
    unknown = client.post("/api/redeem", json={"code": "NOPE-NOPE"}, headers=bearer(key["key"]), **ip)
    assert again.status_code == unknown.status_code == 400
    assert again.get_json()["message"] == unknown.get_json()["message"] == redeem_service.GENERIC_ERROR
    assert client.get(f"/api/redeem?code={first}", headers=bearer(key["key"]), **ip).status_code == 400
    assert client.get("/account", headers=auth).get_json()["data"]["balance"] == 500  # the account, not the key
    ledger = client.get("/account/ledger", headers=auth).get_json()["data"]["list"]
    assert [(r["kind"], r["delta"], r["balance_after"]) for r in ledger] == [("redeem", 500, 500)]
    assert client.post("/api/redeem", json={"code": second}, **ip).status_code == 401  # needs a key


def test_one_code_redeemed_in_parallel_credits_once(app, client):
    with app.app_context():
        code = redeem_service.generate(1, 1000)[0]
    accounts = [register(client) for _ in range(8)]
    keys = [new_key(client, a) for a in accounts]

    def attempt(plain):
        return app.test_client().post("/api/redeem", json={"code": code}, headers=bearer(plain),
                                      **own_address()).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, [k["key"] for k in keys]))
    assert sorted(statuses) == [200] + [400] * 7
    balances = [client.get("/account", headers=a).get_json()["data"]["balance"] for a in accounts]
    assert sorted(balances) == [0] * 7 + [1000]


def test_redeem_guessing_is_slowed_down(app, client, auth):
    key = new_key(client, auth, quota=10)
    limit = int(app.config["REDEEM_RATE_LIMIT"].split()[0])
    ip = own_address()
    statuses = [client.post("/api/redeem", json={"code": f"GUESS-{i}"}, headers=bearer(key["key"]), **ip).status_code
                for i in range(limit + 2)]
    assert statuses[:limit] == [400] * limit and statuses[-1] == 429


def test_active_models_are_admin_only_and_validated(client, auth, admin_auth):
    body = {"kind": "language", "provider": "local", "model": MODEL}
    assert client.post("/admin/models/active", json=body, headers=auth).status_code == 403
    assert client.post("/admin/models/active", json=body, headers=admin_auth).status_code == 200
    active = client.get("/admin/models/active", headers=admin_auth).get_json()["data"]
    assert {k: active[0][k] for k in ("kind", "provider", "model")} == {"kind": "language", "provider": "local", "model": MODEL}
    unconfigured = client.post("/admin/models/active", json={**body, "provider": "openai"}, headers=admin_auth)
    assert unconfigured.status_code == 422 and "provider" in unconfigured.get_json()["data"]
    assert client.post("/admin/models/active", json={**body, "kind": "audio"}, headers=admin_auth).status_code == 422


def test_new_apps_start_on_the_active_language_model(client, auth, admin_auth):
    body = {"kind": "language", "provider": "local", "model": "smollm2-alt"}  # any model name a local server serves
    assert client.post("/admin/models/active", json=body, headers=admin_auth).status_code == 200
    try:
        app_id = client.post("/apps", json={"name": "New"}, headers=auth).get_json()["data"]["id"]
        draft = client.get(f"/apps/{app_id}", headers=auth).get_json()["data"]["drafted_app_config"]
        assert (draft["model_config"]["provider"], draft["model_config"]["model"]) == ("local", "smollm2-alt")
    finally:
        client.post("/admin/models/active", json={**body, "model": MODEL}, headers=admin_auth)
