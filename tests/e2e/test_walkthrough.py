"""End to end on real processes: the README walkthrough verbatim, streaming with real model text,
long-term memory folded by a real worker (also after the worker is killed), no outbound traffic."""

from __future__ import annotations

import json
import re
import subprocess
import time

import httpx

from tests.conftest import ROOT
from tests.sse import parse_sse


def walkthrough_script() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    return block.split("```bash", 1)[1].rsplit("```", 1)[0]


def wait_for_summary(api, app_id, headers, timeout=120.0) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        summary = api.get(f"/apps/{app_id}/long-term-memory", headers=headers).json()["data"]["summary"]
        if summary:
            return summary
        time.sleep(0.5)
    return ""


def new_memory_app(api, headers) -> str:
    app_id = api.post("/apps", json={"name": "Memory"}, headers=headers).json()["data"]["id"]
    config = {"memory_mode": "long_term_memory", "model_config": {"parameters": {"max_tokens": 48}}}
    assert api.post(f"/apps/{app_id}/config", json=config, headers=headers).json()["code"] == "success"
    return app_id


def test_readme_walkthrough_runs_verbatim(stack):
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough_script()], capture_output=True, text=True,
                            timeout=600, env={**stack.env, "BASE": stack.api_url})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "event: agent_end" in output and "event: agent_message" in output
    assert output.count('"code": "success"') + output.count('"code":"success"') >= 6, output
    deltas = re.findall(r"event: agent_message\ndata: (\{.*?\})\n", output)
    assert "".join(json.loads(d)["answer"] for d in deltas).strip(), "the stream carried no model text"
    assert '"object": "list"' in output or '"object":"list"' in output  # /v1/models
    assert '"chat.completion"' in output and "data: [DONE]" in output  # /v1 blocking and streaming


def test_stream_ends_in_agent_end_with_real_model_text(api, auth_headers):
    app_id = api.post("/apps", json={"name": "Stream"}, headers=auth_headers).json()["data"]["id"]
    with api.stream("POST", f"/apps/{app_id}/debug", json={"query": "Name three colours.", "stream": True},
                    headers=auth_headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        text = response.read().decode()
    events = parse_sse(text)
    assert events[-1][0] == "agent_end", text[-500:]
    answer = "".join(d["answer"] for e, d in events if e == "agent_message")
    assert len(answer.strip()) > 3
    assert events[-1][1]["answer_tokens"] > 0 and events[-1][1]["usage_estimated"] is True
    saved = api.get(f"/apps/{app_id}/messages", headers=auth_headers).json()["data"]["list"][0]
    assert saved["answer"] == answer and saved["status"] == "normal"


def test_blocking_chat_uses_upstream_usage(api, auth_headers):
    app_id = api.post("/apps", json={"name": "Block"}, headers=auth_headers).json()["data"]["id"]
    data = api.post(f"/apps/{app_id}/debug", json={"query": "Say hello."}, headers=auth_headers).json()["data"]
    assert data["answer"].strip() and data["answer_tokens"] > 0 and data["usage_estimated"] is False
    assert data["response_latency"] > 0


def test_stop_from_another_request(api, stack, auth_headers):
    app_id = api.post("/apps", json={"name": "Stop"}, headers=auth_headers).json()["data"]["id"]
    api.post(f"/apps/{app_id}/config", json={"model_config": {"parameters": {"max_tokens": 600}}}, headers=auth_headers)
    query = {"query": "Write a long story about a dragon and a knight.", "stream": True}
    with httpx.Client(base_url=stack.api_url, timeout=120) as other, \
            api.stream("POST", f"/apps/{app_id}/debug", json=query, headers=auth_headers) as response:
        lines = response.iter_lines()
        task_id = None
        for line in lines:
            if line.startswith("data: ") and "task_id" in line:
                task_id = json.loads(line[6:])["task_id"]
                break
        assert other.post(f"/apps/{app_id}/debug/tasks/{task_id}/stop", headers=auth_headers).status_code == 200
        rest = "\n".join(lines)
    assert "event: stop" in rest
    saved = api.get(f"/apps/{app_id}/messages", headers=auth_headers).json()["data"]["list"][0]
    assert saved["status"] == "stop"


def test_long_term_memory_summary_after_two_rounds(api, auth_headers):
    app_id = new_memory_app(api, auth_headers)
    for query in ("Hi, I am Ada. I live in Paris.", "I like to play tennis on Sundays."):
        assert api.post(f"/apps/{app_id}/debug", json={"query": query}, headers=auth_headers).status_code == 200
    summary = wait_for_summary(api, app_id, auth_headers)
    assert summary.strip(), "no long-term memory summary was produced"
    recall = api.post(f"/apps/{app_id}/debug", json={"query": "Where do I live?", "stream": True},
                      headers=auth_headers).text
    first_event, first_data = parse_sse(recall)[0]
    assert first_event == "long_term_memory_recall" and first_data["summary"] == summary


def test_killed_worker_still_produces_the_summary(api, stack, auth_headers):
    """The hard case: the worker has taken the fold off the broker (unacked) when it is killed."""
    app_id = new_memory_app(api, auth_headers)
    received_before = stack.log("worker").count("fold_round[")
    assert api.post(f"/apps/{app_id}/debug", json={"query": "My cat is called Tom."},
                    headers=auth_headers).status_code == 200
    deadline = time.time() + 60
    while stack.log("worker").count("fold_round[") == received_before and time.time() < deadline:
        time.sleep(0.05)
    assert stack.log("worker").count("fold_round[") > received_before, "the worker never received the fold"
    stack.kill("worker")  # SIGKILL mid-task: no chance to ack, requeue or finish
    assert api.get(f"/apps/{app_id}/long-term-memory", headers=auth_headers).json()["data"]["summary"] == ""
    stack.start_worker()
    summary = wait_for_summary(api, app_id, auth_headers)
    assert summary.strip(), stack.log("worker")[-3000:]


def test_logout_revokes_the_token_in_every_api_process(api, stack, auth_headers):
    assert api.get("/account", headers=auth_headers).status_code == 200
    assert api.post("/auth/logout", headers=auth_headers).status_code == 200
    for _ in range(6):  # fresh connections: spread over every api worker process
        with httpx.Client(base_url=stack.api_url, timeout=30) as fresh:
            assert fresh.get("/account", headers=auth_headers).status_code == 401


def test_readyz_names_every_part_ok(api):
    response = api.get("/readyz")
    assert response.status_code == 200, response.text
    assert set(response.json()["checks"]) == {"database", "state_store", "broker", "vector_store", "file_storage", "default_model"}


def test_no_process_attempted_an_outbound_connection(stack, netguard_log):
    """Runs last: every process ran under the guard; any attempt was recorded in the log."""
    assert netguard_log.read_text() == "", netguard_log.read_text()
