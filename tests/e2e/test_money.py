"""End to end, money on the live stack (gunicorn api processes, the real Celery worker writing
usage and folding memory): concurrent streams from two keys of one account never overdraw it, and
the studio's debug chat and memory folds on a priced model are charged and in the ledger.

The priced model is served by a fake upstream that reports exactly the prompt tokens we estimate
and as many completion tokens as ``max_tokens``, so every call costs exactly what it reserves."""

from __future__ import annotations

import concurrent.futures
import threading
import time

import httpx

from llmops.providers.tokens import estimate_messages_tokens
from tests.e2e.conftest import PRICE_IN, PRICE_OUT, flask_cli, sql

MESSAGES = [{"role": "user", "content": "Tell me a short story about a lighthouse."}]
MAX_TOKENS = 4  # the fake answers in 4 chunks = 4 completion tokens


def account_of(api, headers) -> dict:
    return api.get("/account", headers=headers).json()["data"]


def wait_for(predicate, timeout: float = 60, every: float = 0.3):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(every)


def test_concurrent_streams_from_two_keys_never_overdraw_the_account(stack, api, auth_headers, priced_model,
                                                                      priced_upstream):
    prompt = estimate_messages_tokens(MESSAGES)
    priced_upstream.behaviour.prompt_tokens = prompt
    cost = prompt * PRICE_IN + MAX_TOKENS * PRICE_OUT  # what each call holds and costs
    n, m = 16, 5
    me = account_of(api, auth_headers)
    flask_cli(stack, "grant", me["email"], str(m * cost), "--reason", "e2e: covers exactly 5 calls")
    keys = [api.post("/api-keys", json={"remark": f"k{i}"}, headers=auth_headers).json()["data"] for i in (1, 2)]
    body = {"model": priced_model, "stream": True, "max_tokens": MAX_TOKENS, "messages": MESSAGES,
            "stream_options": {"include_usage": True}}
    barrier = threading.Barrier(n)

    def call(i: int) -> tuple[int, bool, float]:
        barrier.wait()
        started = time.perf_counter()
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            response = client.post("/v1/chat/completions", json=body,
                                   headers={"Authorization": f"Bearer {keys[i % 2]['key']}"})
        return response.status_code, response.text.rstrip().endswith("data: [DONE]"), time.perf_counter() - started

    wall = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(call, range(n)))
    wall = time.perf_counter() - wall
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] * m + [429] * (n - m), results
    assert all(done for status, done, _ in results if status == 200)  # every admitted stream ran to [DONE]

    rows = wait_for(lambda: (r := sql(stack, "SELECT cost_credits, surface, status FROM usage_log WHERE account_id IN "
                                             "(SELECT id FROM account WHERE email = :e)", e=me["email"]))
                    and len(r) >= m and r)
    assert len(rows) == m and all(r.surface == "gateway" and r.status == "success" for r in rows)
    after = wait_for(lambda: (a := account_of(api, auth_headers))["used"] == m * cost and a)
    assert (after["balance"], after["used"]) == (0, m * cost) and sum(r.cost_credits for r in rows) == m * cost
    ledger = wait_for(lambda: len(rows := api.get("/account/ledger?page_size=50", headers=auth_headers)
                                  .json()["data"]["list"]) == m + 1 and rows)
    assert sorted(r["kind"] for r in ledger) == ["grant"] + ["usage"] * m
    assert min(r["balance_after"] for r in ledger) == 0  # never below
    admitted = sorted(t for status, _, t in results if status == 200)
    refused = sorted(t for status, _, t in results if status == 429)
    print(f"\nMONEY-E2E {stack.env.get('STATE_STORE_URL', '')[:8]}: N={n} M={m} cost={cost} credits/call "
          f"wall={wall:.2f}s admitted p50={admitted[len(admitted) // 2]:.2f}s "
          f"refused p50={refused[len(refused) // 2] * 1000:.0f}ms max={refused[-1] * 1000:.0f}ms")


def test_debug_chat_and_memory_folds_on_a_priced_model_are_charged(stack, api, auth_headers, priced_model,
                                                                   priced_upstream):
    priced_upstream.behaviour.prompt_tokens = 11
    me = account_of(api, auth_headers)
    app_id = api.post("/apps", json={"name": "Priced"}, headers=auth_headers).json()["data"]["id"]
    provider, model = priced_model.split("/")
    api.post(f"/apps/{app_id}/config", headers=auth_headers, json={
        "memory_mode": "long_term_memory", "model_config": {"provider": provider, "model": model,
                                                            "parameters": {"max_tokens": 64}}})
    refused = api.post(f"/apps/{app_id}/debug", json={"query": "I am Ada."}, headers=auth_headers)
    assert refused.status_code == 429 and refused.json()["code"] == "fail" and "balance" in refused.json()["message"]
    flask_cli(stack, "grant", me["email"], "100000", "--reason", "e2e: studio credit")
    answered = api.post(f"/apps/{app_id}/debug", json={"query": "I am Ada and I love tennis."}, headers=auth_headers)
    assert answered.status_code == 200, answered.text
    call = 11 * PRICE_IN + 4 * PRICE_OUT
    summary = wait_for(lambda: api.get(f"/apps/{app_id}/long-term-memory", headers=auth_headers)
                       .json()["data"]["summary"], timeout=90)
    assert summary  # the worker folded the round, with the priced model
    after = wait_for(lambda: (a := account_of(api, auth_headers))["used"] == 2 * call and a)
    assert (after["balance"], after["used"]) == (100_000 - 2 * call, 2 * call)
    ledger = wait_for(lambda: len(rows := api.get("/account/ledger", headers=auth_headers).json()["data"]["list"]) == 3
                      and rows)  # usage rows follow the usage flush
    assert [(r["kind"], r["delta"]) for r in ledger] == [("usage", -call), ("usage", -call), ("grant", 100_000)]
    assert sorted(r["reason"].split()[0] for r in ledger if r["kind"] == "usage") == ["debug", "memory"]


def test_readme_money_examples_run_verbatim(stack):
    """The README's money block (admin, grants, redeem codes, ledger) against the live stack."""
    import subprocess

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    script = readme.split("<!-- money:start -->", 1)[1].split("<!-- money:end -->", 1)[0]
    script = script.split("```bash", 1)[1].rsplit("```", 1)[0]
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=600,
                            cwd=ROOT, env={**stack.env, "BASE": stack.api_url})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert '"balance":2000000' in output.replace(" ", "") and "balance 2500000 credits" in output
    assert '"credited":1000000,"balance":3500000' in output.replace(" ", "")
    assert '"credited":1000000,"balance":4500000' in output.replace(" ", "")
    assert '"kind":"redeem"' in output.replace(" ", "") and '"hard_limit_usd":1.5' in output.replace(" ", "")
