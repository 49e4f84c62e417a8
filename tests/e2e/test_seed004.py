"""End to end, seed 004's documented requests (its README "API 接口") against the live api with the
real local model: the chat request as printed (its model ``deepseek-chat`` is its old deployment's
and is replaced by ours, like the port), the billing, pricing and redeem routes with an API key,
a redeem code made by the CLI, ``/metrics`` and ``/api/about``."""

from __future__ import annotations

import math
import subprocess
import time

from bench.harness import BIN, ROOT
from tests.e2e.conftest import PRICE_IN, PRICE_OUT

CHAT = {"model": "deepseek-chat", "messages": [{"role": "user", "content": "Hello"}]}


def billed_cents(api, headers) -> float:
    return api.get("/v1/dashboard/billing/usage", headers=headers).json()["total_usage"]


def test_seed004_documented_requests(stack, api, auth_headers, priced_model):
    key = api.post("/api-keys", json={"remark": "seed 004", "quota": 100_000}, headers=auth_headers).json()["data"]
    headers = {"Authorization": f"Bearer {key['key']}", "Content-Type": "application/json"}

    answer = api.post("/v1/chat/completions", json={**CHAT, "model": "smollm2-135m", "max_tokens": 16},
                      headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"].strip() and answer.json()["usage"]["total_tokens"] > 0
    unknown = api.post("/v1/chat/completions", json=CHAT, headers=headers)  # no deepseek key on this machine
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"

    subscription = api.get("/v1/dashboard/billing/subscription", headers=headers).json()
    assert subscription["object"] == "billing_subscription" and subscription["hard_limit_usd"] > 0
    usage = api.get("/v1/dashboard/billing/usage", headers=headers).json()
    assert usage["object"] == "list" and usage["total_usage"] == 0  # the local model is priced at 0
    pricing = api.get("/api/pricing").json()["data"]["data"]
    assert any(m["model"] == "smollm2-135m" for m in pricing)

    made = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "llmops", "redeem-codes", "--count", "1",
                           "--quota", "5000"], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    peek = api.get(f"/api/redeem?code={code}", headers=headers).json()["data"]
    assert peek == {"quota": 5000, "expires_at": None, "status": "valid"}
    redeemed = api.post("/api/redeem", json={"code": code}, headers=headers)
    assert redeemed.status_code == 200 and redeemed.json()["data"] == {"credited": 5000, "balance": 5000}  # the account
    assert api.post("/api/redeem", json={"code": code}, headers=headers).status_code == 400  # once only

    # a priced call is billed in cents: 1 credit = 1e-6 USD = 1e-4 cents (the worker writes the usage log)
    priced = api.post("/v1/chat/completions", json={**CHAT, "model": priced_model, "max_tokens": 4}, headers=headers)
    assert priced.status_code == 200, priced.text
    tokens = priced.json()["usage"]
    credits = math.ceil(tokens["prompt_tokens"] * PRICE_IN + tokens["completion_tokens"] * PRICE_OUT)
    deadline = time.monotonic() + 30
    while billed_cents(api, headers) == 0 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert billed_cents(api, headers) == round(credits / 10_000, 6) > 0

    metrics = api.get("/metrics").text
    assert "llmops_http_requests_total" in metrics and "llmops_llm_requests_total" in metrics
    about = api.get("/api/about").json()["data"]["routes"]
    assert {"/v1/chat/completions", "/v1/dashboard/billing/usage", "/api/pricing", "/api/redeem", "/metrics"} <= {
        r["path"] for r in about}
