"""The production profile as a fleet of three hosts (tests/fleet/conftest.py): sessions, files,
streams, quotas and usage hold across api hosts, and indexing happens on the worker host."""

from __future__ import annotations

import concurrent.futures
import io
import json
import signal
import threading
import time
import uuid

import boto3
import httpx

from llmops.providers.tokens import estimate_messages_tokens
from tests.fleet.conftest import BUCKET, register

TIDES = ("Ocean tides are caused mainly by the gravitational pull of the Moon on the Earth's oceans; the Sun "
         "adds a smaller pull, so spring tides come when the two line up.\n\n"
         "Honey bees tell their hive mates where flowers are with a waggle dance whose angle points the way.")
PRICE_IN, PRICE_OUT = 3, 5  # credits per prompt / completion token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_login_on_one_api_host_holds_on_the_other_and_a_logout_ends_it_everywhere(fleet):
    with fleet.client("api1") as api1, fleet.client("api2") as api2:
        email, _ = register(api1)
        login = api1.post("/auth/password-login", json={"email": email, "password": "secret123"})
        assert login.status_code == 200, login.text
        token = login.json()["data"]["access_token"]
        assert api2.get("/account", headers=bearer(token)).json()["data"]["email"] == email
        assert api2.post("/auth/logout", headers=bearer(token)).status_code == 200
        refused = api1.get("/account", headers=bearer(token))
        assert refused.status_code == 401, refused.text


def test_a_file_uploaded_to_api1_is_indexed_on_the_worker_host_and_found_from_api2(fleet):
    ran_before = fleet.log("indexing").count("index_document[")
    with fleet.client("api1") as api1, fleet.client("api2") as api2:
        _, token = register(api1)
        uploaded = api1.post("/upload-files", files={"file": ("tides.txt", io.BytesIO(TIDES.encode()), "text/plain")},
                             headers=bearer(token))
        assert uploaded.status_code == 201, uploaded.text
        upload = uploaded.json()["data"]
        dataset_id = api1.post("/datasets", json={"name": f"kb-{uuid.uuid4().hex[:6]}"},
                               headers=bearer(token)).json()["data"]["id"]
        created = api1.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [upload["id"]]},
                            headers=bearer(token)).json()["data"]
        document_id = created["documents"][0]["id"]
        deadline, progress = time.time() + 180, []
        while time.time() < deadline:
            progress = api2.get(f"/datasets/{dataset_id}/documents/batch/{created['batch']}",
                                headers=bearer(token)).json()["data"]
            if progress[0]["status"] in ("completed", "error"):
                break
            time.sleep(0.5)
        assert progress[0]["status"] == "completed", (progress, fleet.log("indexing")[-3000:])
        # the worker host's indexing worker ran it (the api hosts run no worker)
        assert fleet.log("indexing").count("index_document[") > ran_before
        hits = api2.post(f"/datasets/{dataset_id}/hit", json={"query": "Why does the sea rise and fall?",
                                                              "retrieval_strategy": "semantic", "k": 2, "score": 0},
                         headers=bearer(token)).json()["data"]
        assert hits and "Moon" in hits[0]["content"], hits
    # the files are in the object store; no host holds them on its disk
    s3 = boto3.client("s3", endpoint_url=fleet.env["S3_ENDPOINT_URL"], aws_access_key_id="fleet",
                      aws_secret_access_key="fleet-secret", region_name="us-east-1")
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert {upload["key"], f"parsed/{document_id}.txt"} <= stored
    on_disk = [p for p in fleet.workdir.rglob("*") if p.is_file() and (upload["id"] in p.name or document_id in p.name)]
    assert not on_disk, on_disk


def test_a_stream_started_on_api1_is_stopped_from_api2(fleet):
    fleet.upstream.behaviour.answer_chunks = [f"word{i} " for i in range(400)]
    fleet.upstream.behaviour.chunk_delay_s = 0.05
    try:
        with fleet.client("api1", timeout=120) as api1, fleet.client("api2") as api2:
            _, token = register(api1)
            app_id = api1.post("/apps", json={"name": "Stop"}, headers=bearer(token)).json()["data"]["id"]
            query = {"query": "Tell a long story.", "stream": True}
            started = time.time()
            with api1.stream("POST", f"/apps/{app_id}/debug", json=query, headers=bearer(token)) as response:
                lines = response.iter_lines()
                task_id = next(json.loads(line[6:])["task_id"] for line in lines
                               if line.startswith("data: ") and "task_id" in line)
                stopped = api2.post(f"/apps/{app_id}/debug/tasks/{task_id}/stop", headers=bearer(token))
                assert stopped.status_code == 200, stopped.text
                rest = "\n".join(lines)
            assert "event: stop" in rest and time.time() - started < 15  # the whole answer takes 20 s
            saved = api2.get(f"/apps/{app_id}/messages", headers=bearer(token)).json()["data"]["list"][0]
            assert saved["status"] == "stop" and 0 < len(saved["answer"].split()) < 400
    finally:
        fleet.upstream.behaviour.answer_chunks = ["Hello", ", ", "world", "!"]
        fleet.upstream.behaviour.chunk_delay_s = 0.0


def _priced_key(fleet, api: httpx.Client, quota_reservations: int, messages: list) -> tuple[dict, str, int]:
    """An account with credit, the priced model (added by an admin), and a key whose cap covers
    ``quota_reservations`` reservations → (key, model, one reservation in credits)."""
    email, token = register(api)
    model = _priced_model(fleet, api)
    fleet.run_flask("llmops", "grant", email, "100000000", "--reason", "fleet test")
    reservation = estimate_messages_tokens(messages) * PRICE_IN + 10 * PRICE_OUT
    created = api.post("/api-keys", json={"remark": "fleet", "quota": quota_reservations * reservation},
                       headers=bearer(token))
    assert created.status_code == 201, created.text
    return created.json()["data"], model, reservation


_models: dict = {}


def _priced_model(fleet, api: httpx.Client) -> str:
    if "priced" not in _models:
        email, token = register(api, "Admin")
        fleet.sql("UPDATE account SET is_admin = true WHERE email = :email", email=email)
        saved = api.post("/admin/models", headers=bearer(token), json={
            "provider": "vllm", "model": "fleet-priced", "input_price": PRICE_IN, "output_price": PRICE_OUT,
            "max_output": 1000})
        assert saved.status_code == 200, saved.text
        time.sleep(5.5)  # every api process re-reads the registry within 5 s
        _models["priced"] = "vllm/fleet-priced"
    return _models["priced"]


def _chat(base_url: str, key: str, model: str, messages: list) -> int:
    """One gateway call → its status; 0 when no connection was made (the request was never sent),
    -1 when the connection failed after the request was sent."""
    try:
        response = httpx.post(f"{base_url}/v1/chat/completions", headers=bearer(key), timeout=60,
                              json={"model": model, "max_tokens": 10, "messages": messages})
    except httpx.ConnectError:
        return 0
    except httpx.HTTPError:
        return -1
    return response.status_code


def test_a_key_quota_holds_across_both_api_hosts_under_concurrent_load(fleet):
    """16 requests at once, alternating between the hosts (each held a second by the upstream),
    against a key whose cap covers exactly 5 reservations: exactly 5 get through, the rest are 429."""
    messages = [{"role": "user", "content": "Hi"}]
    with fleet.client("api1") as api1:
        key, model, _ = _priced_key(fleet, api1, 5, messages)
    urls = [fleet.api_url("api1"), fleet.api_url("api2")]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda i: _chat(urls[i % 2], key["key"], model, messages), range(16)))
    assert sorted(statuses) == [200] * 5 + [429] * 11, statuses


def test_killing_api1_mid_load_loses_no_usage(fleet):
    """Clients send requests to both hosts (moving to api-2 when api-1 refuses a connection, as the
    proxy does); api-1 is killed outright (SIGKILL: its buffered usage records and its open calls die
    with it) while requests are in flight. Once the reconciliation job has run (beat runs it each
    minute; here ``flask llmops reconcile-usage`` once the dead calls' holds expire), every answered
    request has its usage row, once; a call cut by the kill is settled as ``lost``; the key's spending
    in the database equals the sum of the rows and the Redis ledger agrees with the database."""
    messages = [{"role": "user", "content": "Count to three."}]
    fleet.priced_upstream.behaviour.first_chunk_delay_s = 0.3
    try:
        with fleet.client("api1") as api1:
            key, model, _ = _priced_key(fleet, api1, 1000, messages)
        urls = [fleet.api_url("api1"), fleet.api_url("api2")]
        answered, lock, stop_at = [], threading.Lock(), time.time() + 12

        def client_loop(n: int) -> None:
            i = n
            while time.time() < stop_at:
                status = _chat(urls[i % 2], key["key"], model, messages)
                if status == 0 and i % 2 == 0:  # api-1 no longer accepts: the next host takes it
                    status = _chat(urls[1], key["key"], model, messages)
                with lock:
                    answered.append(status)
                i += 1

        threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        time.sleep(4)
        fleet.stop_process("api1", signal.SIGKILL)
        killed_at = time.time()
        for thread in threads:
            thread.join(timeout=90)
        ok, cut = answered.count(200), answered.count(-1)
        assert ok >= 20 and set(answered) <= {200, -1}, answered  # -1: in flight on api-1 when it died
        assert fleet.processes["api1"].poll() is not None
        time.sleep(max(0.0, killed_at + 15 + 2 - time.time()))  # LLM_TOTAL_TIMEOUT_S + USAGE_HOLD_GRACE_S
        reconciled = json.loads(fleet.run_flask("llmops", "reconcile-usage").strip().splitlines()[-1])

        def rows() -> list:
            return fleet.sql("SELECT request_id, status, cost_credits FROM usage_log "
                             "WHERE CAST(api_key_id AS TEXT) IN (:a, :b)", a=key["id"], b=key["id"].replace("-", ""))

        deadline = time.time() + 30
        while time.time() < deadline and sum(r.status == "success" for r in rows()) < ok:
            time.sleep(0.5)  # api-2's last batch goes through the usage queue
        written = rows()
        assert sum(r.status == "success" for r in written) == ok, (len(written), ok, reconciled)
        assert sum(r.status == "lost" for r in written) <= cut
        assert len({r.request_id for r in written}) == len(written)
        spent = sum(r.cost_credits for r in written)
        [(used_quota,)] = fleet.sql("SELECT used_quota FROM api_key WHERE CAST(id AS TEXT) IN (:a, :b)",
                                    a=key["id"], b=key["id"].replace("-", ""))
        assert spent > 0 and used_quota == spent
        again = json.loads(fleet.run_flask("llmops", "reconcile-usage").strip().splitlines()[-1])
        assert again["settled"] == again["written"] == 0 and again["drift_credits"] == 0, again
    finally:
        fleet.priced_upstream.behaviour.first_chunk_delay_s = 1.0
