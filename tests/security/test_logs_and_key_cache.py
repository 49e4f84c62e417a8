"""Secrets stay out of logs and the key cache cannot be flooded: ``GET /api/redeem?code=`` is
written to gunicorn's access log as ``code=***``; the per-process API-key cache is a bounded LRU."""

from __future__ import annotations

import logging
import secrets
import time

import httpx

from bench.harness import Stack
from tests.conftest import NETGUARD_DIR, ROOT


def test_redeem_codes_never_reach_gunicorn_access_log(profile_urls, netguard_log, tmp_path):
    code = f"CODE-{secrets.token_hex(8).upper()}"
    env = {**profile_urls, "PYTHONPATH": f"{NETGUARD_DIR}:{ROOT}", "LLMOPS_NETGUARD_LOG": str(netguard_log),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "ACCESS_LOG": "1"}
    stack = Stack(tmp_path, {k: str(v) for k, v in env.items() if v is not None})
    try:
        url = stack.start_api()
        with httpx.Client(base_url=url, timeout=30) as http:
            http.get(f"/api/redeem?code={code}", headers={"Authorization": "Bearer sk-wrong-key-for-the-test"})
            http.get(f"/api/redeem?x=1&code={code}&y=2", headers={"Referer": f"https://shop.example/?code={code}"})
        deadline = time.time() + 10
        while time.time() < deadline and stack.log("api").count("/api/redeem") < 2:
            time.sleep(0.1)
    finally:
        stack.stop()
    log = stack.log("api")
    assert log.count("/api/redeem") >= 2, log[-2000:]  # the requests were logged...
    assert code not in log and "code=***" in log  # ...without the code


def test_werkzeug_request_lines_are_masked_too(app, caplog):
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logging.getLogger("werkzeug").info('%s - - "%s" %s', "127.0.0.1", "GET /api/redeem?code=TOPSECRET HTTP/1.1", 200)
    assert "TOPSECRET" not in caplog.text and "code=***" in caplog.text


def test_a_flood_of_random_keys_keeps_the_key_cache_bounded(make_app, key_headers):
    other = make_app(API_KEY_CACHE_SIZE=50)
    client = other.test_client()
    assert client.get("/v1/models", headers=key_headers).status_code == 200
    for _ in range(300):
        wrong = {"Authorization": f"Bearer sk-llmops-{secrets.token_urlsafe(24)}"}
        assert client.get("/v1/models", headers=wrong).status_code == 401
    cache = other.runtime.api_key_cache
    assert len(cache) <= 50
    assert client.get("/v1/models", headers=key_headers).status_code == 200  # evicted entries are reloaded
