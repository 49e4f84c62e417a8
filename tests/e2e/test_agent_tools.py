"""End to end on the live stack (gunicorn api, the real Celery worker, the profile's database): an
app with the builtin time and calculator tools answers through ``agent_action`` events in the
course's debug stream, every step is recorded (``agent_thoughts``) and every model call of the run
is written to the usage log by the worker.

The model is ``zhipu/glm-4-flash`` served by a fake upstream that scripts its tool calls, not the
local SmolLM2-135M through llama.cpp: the registry lists no ``tool_call`` for the 135M model (it
would get the ReAct prompt), and at 135M parameters it does not reliably pick a tool and write
its JSON arguments, so a test on it would check the model, not the loop. Measured on this machine
(10 clock and arithmetic questions, temperature 0): under the agent's ReAct prompt it wrote an
``Action`` 0 times out of 10 (it answered itself, with wrong products such as 17 * 23 = 321); with
llama.cpp's ``chatml-function-calling`` chat format and OpenAI ``tools`` its first answer ran on to
the 4096-token context limit. The tools themselves (the clock, the calculator) run for real in the
api process."""

from __future__ import annotations

import json
import re
import time
import uuid

from tests.api.test_debug import parse_sse
from tests.e2e.conftest import sql


def test_time_and_calculator_answer_through_agent_actions(stack, api, auth_headers, tools_upstream):
    app_id = api.post("/apps", json={"name": "Clock and maths", "icon": "", "description": "agent"},
                      headers=auth_headers).json()["data"]["id"]
    draft = {"model_config": {"provider": "zhipu", "model": "glm-4-flash", "parameters": {"max_tokens": 256}},
             "tools": [{"type": "builtin_tool", "provider_id": "time", "tool_id": "current_time",
                        "params": {"default_timezone": "Asia/Shanghai"}},
                       {"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator"}]}
    saved = api.post(f"/apps/{app_id}/draft-app-config", json=draft, headers=auth_headers)
    assert saved.status_code == 200, saved.text

    tools_upstream.reset()
    tools_upstream.behaviour.next_tool_calls = [[{"name": "current_time", "arguments": {}},
                                                 {"name": "calculator", "arguments": {"expression": "2**10 + 24"}}]]
    tools_upstream.behaviour.next_answers = [["It is ", "now in Shanghai, and 2**10 + 24 = 1048."]]
    response = api.post(f"/apps/{app_id}/conversations", json={"query": "What time is it, and what is 2**10+24?"},
                        headers=auth_headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    names = [e for e, _ in events]
    assert names[0] == "agent_thought" and names[-1] == "agent_end", names
    actions = {d["tool"]: d for e, d in events if e == "agent_action"}
    assert actions["calculator"]["observation"] == "1048"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00 \(\w+day, Asia/Shanghai\)$",
                    actions["current_time"]["observation"]), actions["current_time"]
    # the model got both observations back
    tool_messages = [m for m in tools_upstream.requests[-1]["messages"] if m["role"] == "tool"]
    assert sorted(m["content"] for m in tool_messages) == sorted(a["observation"] for a in actions.values())

    message = api.get(f"/apps/{app_id}/conversations/messages", headers=auth_headers).json()["data"]["list"][0]
    assert [s["event"] for s in message["agent_thoughts"]] == ["agent_thought", "agent_action", "agent_action",
                                                              "agent_message"]
    assert {s["tool"]: s["tool_input"] for s in message["agent_thoughts"] if s["event"] == "agent_action"} == {
        "current_time": {}, "calculator": {"expression": "2**10 + 24"}}
    rows = sql(stack, "SELECT position, event, tool FROM message_agent_thought WHERE message_id IN (:m, :h) "
                      "ORDER BY position", m=message["id"], h=uuid.UUID(message["id"]).hex)  # PostgreSQL / SQLite
    assert [(r.position, r.event) for r in rows] == [(1, "agent_thought"), (2, "agent_action"), (3, "agent_action"),
                                                     (4, "agent_message")]

    # both model calls of the run reach the usage log (written by the worker)
    me = api.get("/account", headers=auth_headers).json()["data"]
    deadline = time.time() + 60
    usage = []
    while time.time() < deadline and len(usage) < 2:
        usage = sql(stack, "SELECT endpoint, surface, status, model FROM usage_log WHERE account_id IN "
                           "(SELECT id FROM account WHERE email = :e)", e=me["email"])
        time.sleep(0.3)
    assert len(usage) == 2 and {(u.surface, u.status, u.model) for u in usage} == {("debug", "success", "glm-4-flash")}
    assert json.dumps(message)  # the message list is plain JSON


def test_readme_tool_configuration_runs_verbatim(stack, api, auth_headers, tools_upstream):
    """README "Configuring a tool on an app with curl", run by bash against the stack (the app's
    model set to the scripted function-calling one first; the API tool is never called)."""
    import subprocess

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- tools-curl:start -->", 1)[1].split("<!-- tools-curl:end -->", 1)[0]
    script = block.split("```bash", 1)[1].rsplit("```", 1)[0]
    app_id = api.post("/apps", json={"name": "README tools"}, headers=auth_headers).json()["data"]["id"]
    api.post(f"/apps/{app_id}/draft-app-config", headers=auth_headers,
             json={"model_config": {"provider": "zhipu", "model": "glm-4-flash"}})
    tools_upstream.reset()
    tools_upstream.behaviour.next_tool_calls = [[{"name": "current_time", "arguments": {}},
                                                 {"name": "calculator", "arguments": {"expression": "17 * 23"}}]]
    tools_upstream.behaviour.next_answers = [["17 * 23 = 391."]]
    prelude = (f'BASE={stack.api_url}\nAUTH="Authorization: {auth_headers["Authorization"]}"\nAPP_ID={app_id}\n'
               "jget() { python3 -c 'import json,sys\nd=json.load(sys.stdin)\n"
               'for k in sys.argv[1].split("."): d=d[int(k)] if k.isdigit() else d[k]\n'
               "print(d)' \"$1\"; }\nset -e\n")
    done = subprocess.run(["bash", "-c", prelude + script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "the openapi_schema is valid" in out
    events = parse_sse(out[out.index("event: "):])
    actions = {d["tool"]: d["observation"] for e, d in events if e == "agent_action"}
    assert actions["calculator"] == "391" and re.search(r"\+0[12]:00 \(\w+day, Europe/Paris\)", actions["current_time"])
    assert [e for e, _ in events][-1] == "agent_end"
    assert "'event': 'agent_action'" in out.rsplit("event: agent_end", 1)[1]  # the recorded steps
    draft = api.get(f"/apps/{app_id}/draft-app-config", headers=auth_headers).json()["data"]
    assert [t["tool"]["name"] for t in draft["tools"]] == ["current_time", "calculator", "YoudaoSuggest"]
