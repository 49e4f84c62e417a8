"""Course module 01 (apps): the request examples replayed, the response fields checked; debug chat
against the fake upstream (tests/e2e/test_course_chat.py runs it against the real local model)."""

from __future__ import annotations

import uuid

from tests.api.course.conftest import envelope, missing, parse_sse
from tests.conftest import register

APP_FIELDS = {"id", "debug_conversation_id", "name", "icon", "description", "status", "draft_updated_at",
              "updated_at", "created_at"}
LIST_ITEM_FIELDS = {"id", "name", "icon", "description", "preset_prompt", "model_config", "status", "updated_at",
                    "created_at"}
PAGINATOR_FIELDS = {"current_page", "page_size", "total_page", "total_record"}
DRAFT_FIELDS = {"id", "model_config", "dialog_round", "preset_prompt", "tools", "workflows", "datasets",
                "retrieval_config", "long_term_memory", "opening_statement", "opening_questions", "speech_to_text",
                "text_to_speech", "suggested_after_answer", "review_config", "updated_at", "created_at"}
EVENT_FIELDS = {"id", "event", "conversation_id", "message_id", "task_id", "thought", "observation", "tool",
                "tool_input", "answer", "latency", "total_token_count", "total_price", "created_at"}
MESSAGE_FIELDS = {"id", "conversation_id", "query", "image_urls", "answer", "total_token_count", "latency",
                  "agent_thoughts", "created_at"}
THOUGHT_FIELDS = {"id", "position", "event", "thought", "observation", "tool", "tool_input", "latency", "created_at"}


def draft_example(dataset_ids: list[str]) -> dict:
    """Course 1.8's request example (its datasets replaced by the caller's own)."""
    return {
        "model_config": {"provider": "openai", "model": "gpt-4o-mini",
                         "parameters": {"temperature": 0.5, "top_p": 0.5, "presence_penalty": 0.2,
                                        "frequency_penalty": 0.3, "max_tokens": 4500}},
        "dialog_round": 3,
        "preset_prompt": "你是一个拥有10年经验的翻译官，请帮助用户解决问题。",
        # the example's tools (google_serper, an API tool of the course author's) do not exist here:
        # tools are checked on save (tests/api/course/test_module_02_tools.py), so two builtin ones
        "tools": [{"type": "builtin_tool", "provider_id": "time", "tool_id": "current_time"},
                  {"type": "builtin_tool", "provider_id": "calculator", "tool_id": "calculator"}],
        "workflows": ["5e7834dc-bbca-4ee5-9591-8f297f5acded", "9f5e42d4-e184-4e2c-88f2-0ef843749e3f"],
        "datasets": dataset_ids,
        "retrieval_config": {"retrieval_strategy": "semantic", "k": 5, "score": 0.5},
        "long_term_memory": {"enable": True},
        "opening_statement": "嘿！🎉 我是你的好朋友，Gauthmath 导师机器人。",
        "opening_questions": ["你能解释一下二次方程的概念吗？", "如何解线性方程组？", "求解x^2-4x+4=0"],
        "speech_to_text": {"enable": True},
        "text_to_speech": {"enable": False, "voice": "echo", "auto_play": False},
        "review_config": {"enable": True, "keywords": ["敏感词", "慕课网"],
                          "inputs_config": {"enable": True, "preset_response": "很抱歉，该问题无法回复"},
                          "outputs_config": {"enable": True}},
    }


def test_create_with_unknown_fields_get_and_list(client, logged_in, make_app):
    app_id = make_app()  # the course's example body plus the front end's "fileList"
    data = envelope(client.get(f"/apps/{app_id}", headers=logged_in))
    assert not missing(data, APP_FIELDS) and isinstance(data["draft_updated_at"], int)
    page = envelope(client.get("/apps?current_page=1&page_size=20&search_word=LLM", headers=logged_in))
    assert not missing(page["paginator"], PAGINATOR_FIELDS)
    item = next(i for i in page["list"] if i["id"] == app_id)
    assert not missing(item, LIST_ITEM_FIELDS)
    assert item["model_config"] == {"provider": "local", "model": "smollm2-135m"} and item["preset_prompt"] == ""


def test_list_items_read_the_published_config_when_published(client, logged_in, make_app):
    app_id = make_app(preset_prompt="published prompt")
    envelope(client.post(f"/apps/{app_id}/publish", headers=logged_in))
    envelope(client.post(f"/apps/{app_id}/draft-app-config", json={"preset_prompt": "draft only"}, headers=logged_in))
    item = next(i for i in envelope(client.get("/apps", headers=logged_in))["list"] if i["id"] == app_id)
    assert item["preset_prompt"] == "published prompt" and item["status"] == "published"


def test_update_copy_delete(client, logged_in, make_app):
    app_id = make_app()
    body = {"name": "LLM应用产品经理", "icon": "https://cdn.imooc.com/a.png", "description": "一个Agent。", "x": 1}
    envelope(client.post(f"/apps/{app_id}", json=body, headers=logged_in))
    copy = envelope(client.post(f"/apps/{app_id}/copy", headers=logged_in), 201)
    assert copy["app_id"] == copy["id"] != app_id
    envelope(client.post(f"/apps/{app_id}/delete", headers=logged_in))
    assert client.get(f"/apps/{app_id}", headers=logged_in).status_code == 404


def test_draft_config_replay_round_trips_every_key(client, logged_in, make_app, make_dataset):
    datasets = [make_dataset("Prompt提示词大全"), make_dataset("慕课LLMOps项目")]
    app_id = make_app()
    default = envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))
    assert not missing(default, DRAFT_FIELDS)
    assert default["long_term_memory"] == {"enable": False} and default["datasets"] == []

    example = draft_example(datasets)
    response = client.post(f"/apps/{app_id}/draft-app-config", json=example, headers=logged_in)
    assert response.status_code == 200 and response.get_json()["code"] == "success", response.get_json()
    draft = envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))
    assert not missing(draft, DRAFT_FIELDS)
    assert draft["model_config"] == example["model_config"] and draft["dialog_round"] == 3
    assert draft["preset_prompt"] == example["preset_prompt"]
    assert [(d["id"], d["name"]) for d in draft["datasets"]] == list(zip(datasets, ["Prompt提示词大全", "慕课LLMOps项目"],
                                                                          strict=True))
    assert all(not missing(d, {"id", "name", "icon", "description"}) for d in draft["datasets"])
    assert [w["id"] for w in draft["workflows"]] == example["workflows"]
    assert [(t["type"], t["provider"]["id"], t["tool"]["id"]) for t in draft["tools"]] == [
        (t["type"], t["provider_id"], t["tool_id"]) for t in example["tools"]]
    for key in ("retrieval_config", "long_term_memory", "opening_statement", "opening_questions", "speech_to_text",
                "text_to_speech", "review_config"):
        assert draft[key] == example[key], key

    # the same draft through our own shape: memory_mode, dataset_ids, model_config.dialog_round
    ours = envelope(client.get(f"/apps/{app_id}", headers=logged_in))["drafted_app_config"]
    assert ours["memory_mode"] == "long_term_memory" and ours["dataset_ids"] == datasets
    assert ours["model_config"]["dialog_round"] == 3 and ours["review_config"] == example["review_config"]


def test_draft_config_is_incremental_and_published_with_every_key(client, logged_in, make_app):
    app_id = make_app(opening_questions=["q1"], suggested_after_answer={"enable": True})
    envelope(client.post(f"/apps/{app_id}/draft-app-config", json={"dialog_round": 7}, headers=logged_in))
    draft = envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))
    assert draft["dialog_round"] == 7 and draft["opening_questions"] == ["q1"]
    assert draft["suggested_after_answer"] == {"enable": True} and draft["model_config"]["provider"] == "local"
    envelope(client.post(f"/apps/{app_id}/publish", headers=logged_in))
    history = envelope(client.get(f"/apps/{app_id}/publish-histories?current_page=1&page_size=20",
                                  headers=logged_in))
    assert not missing(history["list"][0], {"id", "version", "created_at"})
    assert history["list"][0]["opening_questions"] == ["q1"] and history["list"][0]["version"] == 1


def test_deleted_dataset_is_dropped_from_the_draft(client, logged_in, make_app, make_dataset):
    keep, gone = make_dataset(), make_dataset()
    app_id = make_app(datasets=[keep, gone])
    envelope(client.post(f"/datasets/{gone}/delete", headers=logged_in))
    draft = envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))
    assert [d["id"] for d in draft["datasets"]] == [keep]


def test_draft_config_bad_input_names_the_field(client, logged_in, make_app, make_dataset):
    app_id = make_app()
    other = register(client, "Other")
    foreign = make_dataset(headers=other)
    cases = [
        ({"dialog_round": 101}, "dialog_round"),
        ({"datasets": [str(uuid.uuid4())]}, "datasets"),
        ({"datasets": [foreign]}, "datasets"),
        ({"opening_questions": ["a", "b", "c", "d"]}, "opening_questions"),
        ({"model_config": {"provider": "nope", "model": "x"}}, "model_config.provider"),
        ({"tools": [{"type": "plugin", "provider_id": "a", "tool_id": "b"}]}, "tools.0.type"),
        ({"review_config": {"enable": True, "keywords": []}}, "review_config.keywords"),
        ({"text_to_speech": {"voice": "echo"}}, "text_to_speech.enable"),
        ({"fileList": []}, "body"),  # unknown fields are ignored: nothing is left to update
    ]
    for body, field in cases:
        response = client.post(f"/apps/{app_id}/draft-app-config", json=body, headers=logged_in)
        assert response.status_code == 422 and field in response.get_json()["data"], (body, response.get_json())


def test_other_accounts_app_is_404(client, logged_in, make_app):
    app_id = make_app()
    other = register(client, "Other")
    for method, path, body in [
        ("get", "draft-app-config", None), ("post", "draft-app-config", {"dialog_round": 1}),
        ("post", "conversations", {"query": "hi"}), ("get", "conversations/messages", None),
        ("post", "conversations/delete-debug-conversation", None), ("get", "summary", None),
        ("post", "summary", {"summary": "x"}), ("post", f"conversations/tasks/{uuid.uuid4()}/stop", None),
    ]:
        response = getattr(client, method)(f"/apps/{app_id}/{path}", json=body, headers=other)
        assert response.status_code == 404 and response.get_json()["code"] == "not_found", path


def test_summary_replay(client, logged_in, make_app):
    app_id = make_app(long_term_memory={"enable": True})
    body = {"summary": "人类介绍自己叫慕小课，喜欢打篮球。"}
    envelope(client.post(f"/apps/{app_id}/summary", json=body, headers=logged_in))
    assert envelope(client.get(f"/apps/{app_id}/summary", headers=logged_in)) == body
    off = make_app()
    response = client.get(f"/apps/{off}/summary", headers=logged_in)
    assert response.status_code == 400 and response.get_json()["code"] == "fail"


def test_debug_chat_streams_course_events(client, logged_in, make_app, fake):
    app_id = make_app(long_term_memory={"enable": True})
    response = client.post(f"/apps/{app_id}/conversations", json={"query": "能详细讲解下LLM是什么吗？", "stream": False},
                           headers=logged_in)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    events = [(e, d) for e, d in parse_sse(response.get_data(as_text=True)) if e != "ping"]
    assert [e for e, _ in events][0] == "long_term_memory_recall" and events[-1][0] == "agent_end"
    for name, data in events:
        assert not missing(data, EVENT_FIELDS), name
        assert data["event"] == name and isinstance(data["latency"], float)
    chunks = [d for e, d in events if e == "agent_message"]
    assert "".join(d["thought"] for d in chunks) == "".join(d["answer"] for d in chunks) == "Hello, world!"
    assert len({d["id"] for d in chunks}) == 1 and chunks[0]["id"] != events[0][1]["id"]
    end = events[-1][1]
    assert end["total_token_count"] > 0 and end["total_price"] == 0.0 and 0 < end["latency"] < 60

    message = envelope(client.get(f"/apps/{app_id}/conversations/messages", headers=logged_in))["list"][0]
    assert not missing(message, MESSAGE_FIELDS) and message["id"] == end["message_id"]
    assert message["answer"] == "Hello, world!" and message["total_token_count"] == end["total_token_count"]
    thoughts = message["agent_thoughts"]
    assert [t["event"] for t in thoughts] == ["long_term_memory_recall", "agent_message"]
    assert all(not missing(t, THOUGHT_FIELDS) for t in thoughts) and [t["position"] for t in thoughts] == [1, 2]
    assert thoughts[1]["id"] == chunks[0]["id"] and thoughts[1]["thought"] == "Hello, world!"


def test_debug_chat_bad_input_and_seed_route_gets_the_fields_too(client, logged_in, make_app, fake):
    app_id = make_app()
    response = client.post(f"/apps/{app_id}/conversations", json={"image_urls": ["not a url"]}, headers=logged_in)
    assert response.status_code == 422 and {"query", "image_urls.0"} <= set(response.get_json()["data"])
    seed = client.post(f"/apps/{app_id}/debug", json={"query": "hi", "stream": True}, headers=logged_in)
    for name, data in parse_sse(seed.get_data(as_text=True)):
        assert not missing(data, EVENT_FIELDS), name


def test_messages_cursor_paging_and_clearing(client, logged_in, make_app, fake):
    app_id = make_app()
    for query in ("q1", "q2", "q3"):
        client.post(f"/apps/{app_id}/conversations", json={"query": query}, headers=logged_in).get_data()
    first = envelope(client.get(f"/apps/{app_id}/conversations/messages?current_page=1&page_size=2",
                                headers=logged_in))
    assert [m["query"] for m in first["list"]] == ["q3", "q2"] and first["paginator"]["total_record"] == 3
    cursor = first["list"][0]["created_at"]
    second = envelope(client.get(f"/apps/{app_id}/conversations/messages?current_page=2&page_size=2&created_at={cursor}",
                                 headers=logged_in))
    assert [m["query"] for m in second["list"]] == ["q1"]
    before = envelope(client.get(f"/apps/{app_id}/conversations/messages?created_at={cursor - 3600}",
                                 headers=logged_in))
    assert before["list"] == [] and before["paginator"]["total_record"] == 0
    assert client.get(f"/apps/{app_id}/conversations/messages?page_size=51", headers=logged_in).status_code == 422
    envelope(client.post(f"/apps/{app_id}/conversations/delete-debug-conversation", headers=logged_in))
    assert envelope(client.get(f"/apps/{app_id}/conversations/messages", headers=logged_in))["list"] == []


def test_stop_of_an_unknown_task_is_404(client, logged_in, make_app):
    app_id = make_app()
    response = client.post(f"/apps/{app_id}/conversations/tasks/{uuid.uuid4()}/stop", headers=logged_in)
    assert response.status_code == 404


def test_stop_a_running_stream(client, logged_in, make_app, fake):
    fake.behaviour.answer_chunks = [f"w{i} " for i in range(200)]
    fake.behaviour.chunk_delay_s = 0.02
    app_id = make_app()
    response = client.post(f"/apps/{app_id}/conversations", json={"query": "long"}, headers=logged_in,
                           buffered=False)
    chunks = response.response
    first = next(chunks)
    task_id = parse_sse(first.decode() if isinstance(first, bytes) else first)[0][1]["task_id"]
    envelope(client.post(f"/apps/{app_id}/conversations/tasks/{task_id}/stop", headers=logged_in))
    events = parse_sse("".join(c.decode() if isinstance(c, bytes) else c for c in chunks))
    assert events[-1][0] == "stop"
    assert events[-1][1]["observation"] and not missing(events[-1][1], EVENT_FIELDS)


def test_publish_cancel_histories_fallback(client, logged_in, make_app):
    app_id = make_app(preset_prompt="v1")
    envelope(client.post(f"/apps/{app_id}/publish", headers=logged_in))
    envelope(client.post(f"/apps/{app_id}/draft-app-config", json={"preset_prompt": "v2"}, headers=logged_in))
    version = envelope(client.get(f"/apps/{app_id}/publish-histories", headers=logged_in))["list"][0]
    envelope(client.post(f"/apps/{app_id}/fallback-history", json={"app_config_version_id": version["id"]},
                         headers=logged_in))
    assert envelope(client.get(f"/apps/{app_id}/draft-app-config", headers=logged_in))["preset_prompt"] == "v1"
    envelope(client.post(f"/apps/{app_id}/cancel-publish", headers=logged_in))
    assert envelope(client.get(f"/apps/{app_id}", headers=logged_in))["status"] == "draft"
