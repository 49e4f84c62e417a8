"""The agent loop on the fake upstream (tests/fakes): function calling, parallel tool calls, the
iteration limit, stop mid-tool-call, failing tools, a ReAct model, the records and the metering."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from tests.api.test_debug import parse_sse
from tests.money import balance, grant

TIME_AND_CALC = [{"type": "builtin_tool", "provider_id": "time", "tool_id": "current_time"},
                 {"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator"}]


def configure(client, auth, app_id: str, tools: list[dict], model: tuple[str, str] | None = None) -> None:
    body = {"tools": tools}
    if model:
        body["model_config"] = {"provider": model[0], "model": model[1]}
    response = client.post(f"/apps/{app_id}/draft-app-config", json=body, headers=auth)
    assert response.status_code == 200, response.get_json()


def chat(client, auth, app_id: str, query: str = "hi") -> list[tuple[str, dict]]:
    response = client.post(f"/apps/{app_id}/conversations", json={"query": query}, headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    return parse_sse(response.get_data(as_text=True))


def api_provider(client, auth, server_url: str, secret: str = "Bearer tool-secret-123456") -> dict:
    schema = {"description": "local test API", "server": server_url, "paths": {
        "/weather": {"get": {"description": "Weather of a city", "operationId": "GetWeather", "parameters": [
            {"name": "location", "in": "query", "description": "city", "required": True, "type": "str"}]}},
        "/slow": {"get": {"description": "A slow call", "operationId": "Slow", "parameters": [
            {"name": "seconds", "in": "query", "description": "how long", "required": True, "type": "float"}]}},
        "/fail": {"get": {"description": "Always fails", "operationId": "Fail", "parameters": []}},
        "/ip": {"post": {"description": "Where an IP is", "operationId": "GetIp", "parameters": [
            {"name": "ip", "in": "request_body", "description": "the IP", "required": True, "type": "str"}]}},
        "/items/{item_id}": {"get": {"description": "An item", "operationId": "GetItem", "parameters": [
            {"name": "item_id", "in": "path", "description": "id", "required": True, "type": "int"}]}}}}
    body = {"name": f"local-{uuid.uuid4().hex[:6]}", "icon": "https://example.com/i.png",
            "openapi_schema": json.dumps(schema), "headers": [{"key": "Authorization", "value": secret}]}
    response = client.post("/api-tools", json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def api_refs(provider: dict, *names: str) -> list[dict]:
    by_name = {t["name"]: t["id"] for t in provider["tools"]}
    return [{"type": "api_tool", "provider_id": provider["id"], "tool_id": by_name[n]} for n in names]


def names(events) -> list[str]:
    return [e for e, _ in events]


def test_function_calling_loop_runs_tools_and_answers(client, auth, new_app, fake, tool_model):
    configure(client, auth, new_app, TIME_AND_CALC, tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "calculator", "arguments": {"expression": "(3 + 4) * 6"}}]]
    fake.behaviour.next_answers = [["The answer ", "is 42."]]
    events = chat(client, auth, new_app, "what is (3+4)*6?")
    assert names(events) == ["agent_thought", "agent_action", "agent_message", "agent_message", "agent_end"]
    thought, action = events[0][1], events[1][1]
    assert thought["tool"] == "calculator" and thought["tool_input"] == {"calculator": {"expression": "(3 + 4) * 6"}}
    assert action["tool"] == "calculator" and action["tool_input"] == {"expression": "(3 + 4) * 6"}
    assert action["observation"] == "42" and action["latency"] >= 0
    assert {"id", "task_id", "conversation_id", "message_id", "created_at"} <= set(action)
    # the model was offered both tools, then given the tool's result
    first, second = fake.requests[-2], fake.requests[-1]
    assert sorted(t["function"]["name"] for t in first["tools"]) == ["calculator", "current_time"]
    assert first["tools"][0]["function"]["parameters"]["type"] == "object"
    assistant, tool_message = second["messages"][-2], second["messages"][-1]
    assert assistant["tool_calls"][0]["function"]["name"] == "calculator"
    assert tool_message == {"role": "tool", "tool_call_id": assistant["tool_calls"][0]["id"], "content": "42"}

    listed = client.get(f"/apps/{new_app}/conversations/messages", headers=auth).get_json()["data"]["list"][0]
    assert listed["answer"] == "The answer is 42." and listed["status"] == "normal"
    steps = listed["agent_thoughts"]
    assert [s["event"] for s in steps] == ["agent_thought", "agent_action", "agent_message"]
    assert [s["position"] for s in steps] == [1, 2, 3]
    assert steps[1]["id"] == action["id"] and steps[1]["observation"] == "42"
    assert steps[1]["tool_input"] == {"expression": "(3 + 4) * 6"}
    assert steps[2]["id"] == events[2][1]["id"] and steps[2]["answer"] == "The answer is 42."
    assert listed["total_token_count"] == (11 + 5) + (11 + 2)  # both model calls


def test_parallel_tool_calls_run_together(client, auth, new_app, fake, tool_model, tool_server):
    provider = api_provider(client, auth, tool_server.url)
    configure(client, auth, new_app, api_refs(provider, "Slow", "GetWeather"), tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "Slow", "arguments": {"seconds": 1}},
                                       {"name": "Slow", "arguments": {"seconds": 1}},
                                       {"name": "GetWeather", "arguments": {"location": "Guangzhou"}}]]
    fake.behaviour.next_answers = [["done"]]
    started = time.perf_counter()
    events = chat(client, auth, new_app)
    elapsed = time.perf_counter() - started
    actions = [d for e, d in events if e == "agent_action"]
    assert len(actions) == 3 and elapsed < 1.9, elapsed  # two 1 s calls at once, not one after the other
    assert actions[0]["tool"] == "GetWeather"  # the fast one finished first
    weather = json.loads(actions[0]["observation"])
    assert weather["location"] == "Guangzhou" and weather["auth"] == "Bearer tool-secret-123456"
    assert [m["content"] for m in fake.requests[-1]["messages"] if m["role"] == "tool"] == [
        '{"slow": "done"}', '{"slow": "done"}', actions[0]["observation"]]  # in the calls' order
    assert names(events)[-1] == "agent_end"


def test_api_tool_parameters_go_where_the_schema_says(client, auth, new_app, fake, tool_model, tool_server):
    provider = api_provider(client, auth, tool_server.url)
    configure(client, auth, new_app, api_refs(provider, "GetIp", "GetItem"), tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "GetIp", "arguments": {"ip": "201.52.14.23"}},
                                       {"name": "GetItem", "arguments": {"item_id": "7"}}]]
    events = chat(client, auth, new_app)
    observations = {d["tool"]: d["observation"] for e, d in events if e == "agent_action"}
    assert json.loads(observations["GetIp"]) == {"ip": "201.52.14.23", "region": "local network"}
    assert json.loads(observations["GetItem"]) == {"item": "7"}
    post = next(r for r in tool_server.requests if r["path"] == "/ip")
    assert post["body"] == {"ip": "201.52.14.23"} and post["headers"]["Authorization"] == "Bearer tool-secret-123456"


def test_an_openapi3_tool_sends_header_cookie_path_query_and_body_parameters(client, auth, new_app, fake, tool_model,
                                                                            tool_server):
    """A standard OpenAPI 3 document (not the course's simplified form): a ``$ref``'d JSON request
    body, header and cookie parameters, a path and a query parameter each reach the API where the
    document puts them."""
    document = {
        "openapi": "3.0.3", "info": {"title": "Local", "version": "1", "description": "a local OpenAPI 3 API"},
        "servers": [{"url": tool_server.url}],
        "components": {"schemas": {"IpQuery": {"type": "object", "required": ["ip"], "properties": {
            "ip": {"type": "string", "description": "the IP"}}}}},
        "paths": {
            "/ip": {"post": {"operationId": "LocateIp", "description": "Where an IP is", "parameters": [
                {"name": "X-Trace", "in": "header", "required": True, "schema": {"type": "string"}},
                {"name": "session", "in": "cookie", "required": False, "schema": {"type": "string"}}],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/IpQuery"}}}}}},
            "/items/{item_id}": {"get": {"operationId": "ReadItem", "description": "An item", "parameters": [
                {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {"name": "verbose", "in": "query", "required": False, "schema": {"type": "boolean"}}]}}}}
    created = client.post("/api-tools", headers=auth, json={
        "name": f"oas3-{uuid.uuid4().hex[:6]}", "icon": "https://example.com/i.png",
        "openapi_schema": json.dumps(document), "headers": []})
    assert created.status_code == 200, created.get_json()
    provider = created.get_json()["data"]
    configure(client, auth, new_app, api_refs(provider, "LocateIp", "ReadItem"), tool_model)
    trace = f"trace-{uuid.uuid4().hex[:8]}"
    fake.behaviour.next_tool_calls = [[
        {"name": "LocateIp", "arguments": {"ip": "8.8.4.4", "X-Trace": trace, "session": "s-42"}},
        {"name": "ReadItem", "arguments": {"item_id": 9, "verbose": True}}]]
    fake.behaviour.next_answers = [["Found it."]]
    before = len(fake.requests)
    events = chat(client, auth, new_app)
    offered = {t["function"]["name"]: t["function"]["parameters"] for t in fake.requests[before]["tools"]}
    assert set(offered["LocateIp"]["properties"]) == {"ip", "X-Trace", "session"}
    assert set(offered["LocateIp"]["required"]) == {"ip", "X-Trace"}
    observations = {d["tool"]: d["observation"] for e, d in events if e == "agent_action"}
    assert json.loads(observations["LocateIp"]) == {"ip": "8.8.4.4", "region": "local network"}
    assert json.loads(observations["ReadItem"]) == {"item": "9"}
    post = next(r for r in tool_server.requests if r["path"] == "/ip" and r["headers"].get("X-Trace") == trace)
    assert post["body"] == {"ip": "8.8.4.4"} and post["headers"]["Cookie"] == "session=s-42"
    get = next(r for r in reversed(tool_server.requests) if r["path"] == "/items/9")
    assert [v.lower() for v in get["query"]["verbose"]] == ["true"]


def test_a_tool_call_past_tool_http_timeout_is_an_error_observation(app, client, auth, new_app, fake, tool_model,
                                                                    tool_server, monkeypatch):
    monkeypatch.setitem(app.config, "TOOL_HTTP_TIMEOUT_S", 0.5)
    provider = api_provider(client, auth, tool_server.url)
    configure(client, auth, new_app, api_refs(provider, "Slow"), tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "Slow", "arguments": {"seconds": 3}}]]
    fake.behaviour.next_answers = [["The service was too slow."]]
    started = time.perf_counter()
    events = chat(client, auth, new_app)
    assert time.perf_counter() - started < 2.5  # not the 3 s the API takes
    [action] = [d for e, d in events if e == "agent_action"]
    assert action["observation"].startswith("error: ") and action["latency"] < 2
    assert names(events)[-1] == "agent_end"
    assert "".join(d["answer"] for e, d in events if e == "agent_message") == "The service was too slow."


def test_iteration_limit_ends_the_run(app, client, auth, new_app, fake, tool_model, monkeypatch):
    monkeypatch.setitem(app.config, "AGENT_MAX_ITERATIONS", 3)
    configure(client, auth, new_app, TIME_AND_CALC, tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "calculator", "arguments": {"expression": f"{i}+1"}}]
                                      for i in range(5)]
    before = len(fake.requests)
    events = chat(client, auth, new_app)
    calls = fake.requests[before:]
    assert len(calls) == 3  # AGENT_MAX_ITERATIONS model calls, no more
    assert [c.get("tool_choice") for c in calls] == [None, None, "none"]  # the last may not call tools
    assert names(events).count("agent_action") == 2 and names(events)[-1] == "agent_end"
    answer = "".join(d["answer"] for e, d in events if e == "agent_message")
    assert "stopped after 3 steps" in answer


def test_time_budget_ends_the_run_with_timeout(app, client, auth, new_app, fake, tool_model, tool_server,
                                               monkeypatch):
    monkeypatch.setitem(app.config, "AGENT_TIME_BUDGET_S", 1.0)
    provider = api_provider(client, auth, tool_server.url)
    configure(client, auth, new_app, api_refs(provider, "Slow"), tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "Slow", "arguments": {"seconds": 3}}]]
    started = time.perf_counter()
    events = chat(client, auth, new_app)
    assert names(events)[-1] == "timeout" and time.perf_counter() - started < 2.5
    assert "time budget" in events[-1][1]["message"]


def test_stop_works_while_a_tool_runs(client, auth, new_app, fake, tool_model, tool_server):
    provider = api_provider(client, auth, tool_server.url)
    configure(client, auth, new_app, api_refs(provider, "Slow"), tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "Slow", "arguments": {"seconds": 4}}]]
    response = client.post(f"/apps/{new_app}/conversations", json={"query": "slow"}, headers=auth, buffered=False)
    chunks = response.response
    first = parse_sse(next(chunks).decode())
    assert first[0][0] == "agent_thought"
    task_id = first[0][1]["task_id"]
    started = time.perf_counter()
    assert client.post(f"/apps/{new_app}/conversations/tasks/{task_id}/stop", headers=auth).status_code == 200
    rest = parse_sse("".join(c.decode() for c in chunks))
    assert rest[-1][0] == "stop" and time.perf_counter() - started < 2.0  # not after the 4 s tool call
    message = client.get(f"/apps/{new_app}/conversations/messages", headers=auth).get_json()["data"]["list"][0]
    assert message["status"] == "stop" and message["agent_thoughts"][0]["event"] == "agent_thought"


def test_a_failing_tool_becomes_an_observation(client, auth, new_app, fake, tool_model, tool_server):
    provider = api_provider(client, auth, tool_server.url)
    configure(client, auth, new_app, TIME_AND_CALC + api_refs(provider, "Fail"), tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "calculator", "arguments": {"expression": "1/0"}},
                                       {"name": "Fail", "arguments": {}},
                                       {"name": "current_time", "arguments": {"timezone": "Mars/Olympus"}},
                                       {"name": "no_such_tool", "arguments": {}},
                                       {"name": "calculator", "arguments": "{not json"}]]
    fake.behaviour.next_answers = [["Sorry, the tools failed."]]
    events = chat(client, auth, new_app)
    observations = sorted(d["observation"] for e, d in events if e == "agent_action")
    assert all(o.startswith("error: ") for o in observations), observations
    joined = " | ".join(observations)
    assert "division by zero" in joined and "HTTP 500" in joined and "unknown timezone" in joined
    assert "no tool named" in joined and "not valid JSON" in joined
    assert names(events)[-1] == "agent_end"
    assert "".join(d["answer"] for e, d in events if e == "agent_message") == "Sorry, the tools failed."


def test_react_prompt_for_a_model_without_tool_calling(client, auth, new_app, fake):
    configure(client, auth, new_app, TIME_AND_CALC)  # the local model: no tool_call in the registry
    fake.behaviour.next_answers = [
        ["Thought: I need to compute.\nAction: calculator\nAction Input: {\"expression\": \"6*7\"}"],
        ["Thought: I know it.\nFinal Answer: 6*7 is 42."]]
    events = chat(client, auth, new_app)
    assert names(events) == ["agent_thought", "agent_action", "agent_message", "agent_end"]
    assert events[0][1]["thought"] == "I need to compute."
    assert events[1][1]["observation"] == "42" and events[2][1]["answer"] == "6*7 is 42."
    first, second = fake.requests[-2], fake.requests[-1]
    assert "tools" not in first and "Action Input" in first["messages"][0]["content"]
    assert "calculator" in first["messages"][0]["content"] and first["stop"] == ["Observation:"]
    assert second["messages"][-1] == {"role": "user", "content": "Observation: 42"}


def test_react_reply_without_the_format_is_the_answer(client, auth, new_app, fake):
    configure(client, auth, new_app, TIME_AND_CALC)
    fake.behaviour.next_answers = [["Hello there!"]]
    events = chat(client, auth, new_app)
    assert names(events) == ["agent_message", "agent_end"] and events[0][1]["answer"] == "Hello there!"


def test_blocking_debug_chat_runs_the_agent(client, auth, new_app, fake, tool_model):
    configure(client, auth, new_app, TIME_AND_CALC, tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "current_time", "arguments": {"timezone": "Asia/Shanghai"}}]]
    fake.behaviour.next_answers = [["It is late."]]
    response = client.post(f"/apps/{new_app}/debug", json={"query": "time?"}, headers=auth)
    data = response.get_json()["data"]
    assert response.status_code == 200 and data["answer"] == "It is late."
    action = next(s for s in data["agent_thoughts"] if s["event"] == "agent_action")
    assert action["tool"] == "current_time" and "+08:00" in action["observation"]


def test_every_model_call_is_metered(app, client, auth, new_app, fake, paid_provider):
    grant(app, auth["X-Email"], 1000)
    configure(client, auth, new_app, TIME_AND_CALC, ("deepseek", paid_provider))
    fake.behaviour.next_tool_calls = [[{"name": "calculator", "arguments": {"expression": "2+2"}}]]
    events = chat(client, auth, new_app)
    assert names(events)[-1] == "agent_end"
    _, used = balance(app, auth["X-Email"])
    # deepseek-chat: USD 0.27 / 1.1 per 1M tokens = credits per token; 11 prompt tokens each call,
    # 5 completion tokens for the tool call, 4 for the answer
    assert used == 9 + 8
    with app.app_context():
        import sqlalchemy as sa

        from llmops.extensions import db
        from llmops.models import Account, UsageLog

        account = db.session.scalar(sa.select(Account).where(Account.email == auth["X-Email"].lower()))
        rows = db.session.scalars(sa.select(UsageLog).where(UsageLog.account_id == account.id)).all()
    assert sorted(r.cost_credits for r in rows) == [8, 9] and {r.surface for r in rows} == {"debug"}


def test_a_balance_that_cannot_pay_is_429_before_the_stream(app, client, auth, new_app, fake, paid_provider):
    configure(client, auth, new_app, TIME_AND_CALC, ("deepseek", paid_provider))
    response = client.post(f"/apps/{new_app}/conversations", json={"query": "hi"}, headers=auth)
    assert response.status_code == 429


def test_client_disconnect_mid_run_saves_the_steps(client, auth, new_app, fake, tool_model, tool_server):
    provider = api_provider(client, auth, tool_server.url)
    configure(client, auth, new_app, api_refs(provider, "Slow"), tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "Slow", "arguments": {"seconds": 1}}]]
    response = client.post(f"/apps/{new_app}/conversations", json={"query": "bye"}, headers=auth, buffered=False)
    next(response.response)
    response.close()
    deadline = time.time() + 10
    listed = []
    while time.time() < deadline and not listed:
        listed = client.get(f"/apps/{new_app}/conversations/messages", headers=auth).get_json()["data"]["list"]
        time.sleep(0.1)
    assert listed and listed[0]["status"] == "stop" and listed[0]["agent_thoughts"][0]["event"] == "agent_thought"


def test_published_app_surfaces_run_the_agent(client, auth, new_app, fake, tool_model):
    from tests.api.course.webapp_helpers import publish, web_chat

    configure(client, auth, new_app, TIME_AND_CALC, tool_model)
    token = publish(client, auth, new_app)
    key = client.post("/openapi/api-keys", json={"is_active": True}, headers=auth).get_json()["data"]["api_key"]
    for run in ("openapi", "v1", "web_app"):
        fake.behaviour.next_tool_calls = [[{"name": "calculator", "arguments": {"expression": "10*10"}}]]
        fake.behaviour.next_answers = [["100"]]
        if run == "openapi":
            response = client.post("/openapi/chat", headers={"Authorization": f"Bearer {key}"},
                                   json={"app_id": new_app, "query": "10*10?", "stream": True})
            events = parse_sse(response.get_data(as_text=True))
        elif run == "v1":
            response = client.post(f"/v1/apps/{new_app}/chat", headers={"Authorization": f"Bearer {key}"},
                                   json={"query": "10*10?", "stream": False})
            assert response.status_code == 200, response.get_json()
            thoughts = response.get_json()["agent_thoughts"]  # /v1: the message itself
            assert any(s["event"] == "agent_action" and s["observation"] == "100" for s in thoughts)
            continue
        else:
            events = web_chat(client, auth, token, "10*10?")
        action = next(d for e, d in events if e == "agent_action")
        assert action["observation"] == "100" and names(events)[-1] == "agent_end", run


@pytest.mark.parametrize("expression", ["__import__('os')", "().__class__", "9**9**9**9", "open('x')", "a+1"])
def test_calculator_refuses_anything_but_arithmetic(app, expression):
    from llmops.tools.builtin import functions
    from llmops.tools.runtime import ToolContext, ToolError

    with app.app_context(), pytest.raises(ToolError):
        functions.calculator({"expression": expression}, {}, ToolContext(account_id=uuid.uuid4()))


def test_url_fetcher_reads_allowed_hosts_only(app, tool_server):
    from llmops.tools.builtin import functions
    from llmops.tools.runtime import ToolContext, ToolError

    context = ToolContext(account_id=uuid.uuid4())
    with app.app_context():
        text = functions.url_fetch({"url": f"{tool_server.url}/page"}, {"allowed_hosts": "127.0.0.1"}, context)
        assert text == "Opening hours\nMon-Fri 9:00-18:00"
        with pytest.raises(Exception, match="allow-list"):
            functions.url_fetch({"url": f"{tool_server.url}/page"}, {"allowed_hosts": "example.com"}, context)
        with pytest.raises(Exception, match="larger than"):
            functions.url_fetch({"url": f"{tool_server.url}/big"}, {"allowed_hosts": "127.0.0.1"}, context)
        with pytest.raises(ToolError):
            functions.url_fetch({"url": f"{tool_server.url}/page"}, {"allowed_hosts": ""}, context)


def test_threads_are_not_left_behind(client, auth, new_app, fake, tool_model):
    # only this run's pool threads: a test that stops a slow tool leaves its thread to finish the call
    before = {t.ident for t in threading.enumerate()}
    configure(client, auth, new_app, TIME_AND_CALC, tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "calculator", "arguments": {"expression": "1+1"}}]]
    chat(client, auth, new_app)
    time.sleep(0.2)
    assert not [t for t in threading.enumerate()
                if t.name.startswith("agent-tool") and t.is_alive() and t.ident not in before]


def test_internet_tools_call_their_services_with_the_configured_keys(app, client, auth, new_app, fake, tool_model,
                                                                        tool_server, monkeypatch):
    for name, value in {"SERPER_API_KEY": "serper-key", "SERPER_BASE_URL": tool_server.url,
                        "OPENWEATHER_API_KEY": "ow-key", "OPENWEATHER_BASE_URL": tool_server.url,
                        "IMAGE_GENERATION_API_KEY": "image-key", "IMAGE_GENERATION_BASE_URL": tool_server.url}.items():
        monkeypatch.setitem(app.config, name, value)
    configure(client, auth, new_app, [
        {"type": "builtin_tool", "provider_id": "google", "tool_id": "google_serper"},
        {"type": "builtin_tool", "provider_id": "openweather", "tool_id": "current_weather"},
        {"type": "builtin_tool", "provider_id": "dalle", "tool_id": "dalle3",
         "params": {"size": "1792x1024", "style": "natural"}}], tool_model)
    fake.behaviour.next_tool_calls = [[{"name": "google_serper", "arguments": {"query": "capital of France"}},
                                       {"name": "current_weather", "arguments": {"city": "Paris"}},
                                       {"name": "dalle3", "arguments": {"prompt": "the Eiffel tower"}}]]
    events = chat(client, auth, new_app)
    observations = {d["tool"]: d["observation"] for e, d in events if e == "agent_action"}
    assert observations["google_serper"].startswith("Paris\n\nParis - Wikipedia — https://en.wikipedia.org/wiki/Paris")
    assert json.loads(observations["current_weather"]) == {
        "city": "Paris", "conditions": "light rain", "temperature_c": 18.5, "feels_like_c": 18.1,
        "humidity_percent": 81, "wind_m_s": 3.6}
    assert observations["dalle3"] == "https://images.example.com/1792x1024/natural.png"
    sent = {r["path"]: r for r in tool_server.requests}
    assert sent["/search"]["body"] == {"q": "capital of France"}
    assert sent["/images/generations"]["body"]["prompt"] == "the Eiffel tower"

    # a wrong key: the service's refusal is the observation
    monkeypatch.setitem(app.config, "OPENWEATHER_API_KEY", "wrong")
    fake.behaviour.next_tool_calls = [[{"name": "current_weather", "arguments": {"city": "Paris"}}]]
    events = chat(client, auth, new_app)
    action = next(d for e, d in events if e == "agent_action")
    assert action["observation"].startswith("error: the service answered HTTP 401")

    # once a key is unset, the tool is hidden: dropped from the run (and refused on save)
    monkeypatch.setitem(app.config, "IMAGE_GENERATION_API_KEY", None)
    fake.behaviour.next_answers = [["ok"]]
    chat(client, auth, new_app)
    assert "dalle3" not in [t["function"]["name"] for t in fake.requests[-1]["tools"]]
