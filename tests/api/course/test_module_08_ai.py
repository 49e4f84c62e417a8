"""Course module 08 (AI helpers) against the fake upstream, and the chat behaviours the app
config turns on: ``suggested_after_answer``, ``review_config`` on every chat surface."""

from __future__ import annotations

import random
import uuid

import pytest

from llmops.services.studio import ai_service, review_service
from tests.api.course.webapp_helpers import publish, text, web_chat
from tests.api.test_api_keys import new_key
from tests.conftest import register
from tests.sse import parse_sse

DOC_PROMPT = "你是一个拥有10年经验的AI应用开发工程师，请帮助用户解决问题"
REVIEW = {"enable": True, "keywords": ["敏感词", "慕课网", "Secret"],
          "inputs_config": {"enable": True, "preset_response": "很抱歉，该问题无法回复"},
          "outputs_config": {"enable": True}}


def configure(client, auth, app_id: str, **config) -> None:
    """Course 1.8: a partial update of the draft in the course's shape."""
    response = client.post(f"/apps/{app_id}/draft-app-config", json=config, headers=auth)
    if response.status_code == 404 and response.get_json()["message"] != "app not found":
        pytest.skip("the course's draft-app-config route is not there yet")
    assert response.status_code == 200, response.get_json()


def answer_of(events: list[tuple[str, dict]]) -> str:
    return "".join(d["answer"] for e, d in events if e == "agent_message")


def debug_message(client, auth, app_id: str, query: str = "hi") -> dict:
    response = client.post(f"/apps/{app_id}/debug", json={"query": query}, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


# --- 8.1 optimize prompt -------------------------------------------------------------------------

def test_optimize_prompt_streams_doc_events(client, auth, fake):
    fake.behaviour.answer_chunks = ["# Role\n", "你是", "一名资深工程师。"]
    response = client.post("/ai/optimize-prompt", json={"prompt": DOC_PROMPT}, headers=auth)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = parse_sse(response.get_data(as_text=True))
    assert {e for e, _ in events} == {"optimize_prompt"}
    assert all(set(d) == {"optimized_prompt"} for _, d in events)
    assert "".join(d["optimized_prompt"] for _, d in events) == "# Role\n你是一名资深工程师。"
    sent = fake.requests[-1]
    assert sent["model"] == "smollm2-135m" and sent["stream"] is True  # the default model
    assert DOC_PROMPT in sent["messages"][-1]["content"]


@pytest.mark.parametrize("body, field", [({}, "prompt"), ({"prompt": ""}, "prompt"), ({"prompt": "x" * 2001}, "prompt"),
                                         ({"prompt": 5}, "prompt")])
def test_optimize_prompt_validation(client, auth, body, field):
    response = client.post("/ai/optimize-prompt", json=body, headers=auth)
    assert response.status_code == 422 and field in response.get_json()["data"]


def test_ai_routes_need_a_login(client):
    assert client.post("/ai/optimize-prompt", json={"prompt": "x"}).status_code == 401
    assert client.post("/ai/suggested-questions", json={"message_id": str(uuid.uuid4())}).status_code == 401


def test_optimize_prompt_upstream_failure_is_an_error_event(client, auth, fake):
    fake.behaviour.fail_status, fake.behaviour.fail_times = 500, 5
    events = parse_sse(client.post("/ai/optimize-prompt", json={"prompt": "be nice"}, headers=auth)
                       .get_data(as_text=True))
    assert events[-1][0] == "error" and "500" in events[-1][1]["message"]


# --- 8.2 suggested questions ---------------------------------------------------------------------

def test_suggested_questions_doc_example(client, auth, new_app, fake):
    message = debug_message(client, auth, new_app, "你好")
    fake.behaviour.answer_chunks = ['["你能做什么？", "你叫什么名字？", "怎么联系你？"]']
    response = client.post("/ai/suggested-questions", json={"message_id": message["id"]}, headers=auth)
    body = response.get_json()
    assert response.status_code == 200 and body["code"] == "success"
    assert body["data"] == ["你能做什么？", "你叫什么名字？", "怎么联系你？"]
    prompt = fake.requests[-1]["messages"][-1]["content"]
    assert "你好" in prompt and "Hello, world!" in prompt  # the round the questions follow


def test_suggested_questions_from_junk_fall_back(client, auth, new_app, fake):
    message = debug_message(client, auth, new_app, "What is tennis?")
    fake.behaviour.next_answers = [["Sure! Here are some questions:\n", "1. How do I ", "hold the racket?\n", "<|im_end|>"],
                                   ["I am a small model and I like turtles."]]
    first = client.post("/ai/suggested-questions", json={"message_id": message["id"]}, headers=auth).get_json()["data"]
    assert first[0] == "How do I hold the racket?" and len(first) == 3 and len(set(first)) == 3
    second = client.post("/ai/suggested-questions", json={"message_id": message["id"]}, headers=auth).get_json()["data"]
    assert second == ai_service.FALLBACK_QUESTIONS["en"]


def test_suggested_questions_ownership_and_validation(client, auth, other_auth, new_app, fake):
    message = debug_message(client, auth, new_app)
    assert client.post("/ai/suggested-questions", json={"message_id": message["id"]},
                       headers=other_auth).status_code == 404
    assert client.post("/ai/suggested-questions", json={"message_id": str(uuid.uuid4())},
                       headers=auth).status_code == 404
    bad = client.post("/ai/suggested-questions", json={"message_id": "nope"}, headers=auth)
    assert bad.status_code == 422 and "message_id" in bad.get_json()["data"]


@pytest.mark.parametrize("reply, expected", [
    ('Here you go: ["A?", "B?", "C?", "D?"]', ["A?", "B?", "C?"]),
    ("- What is X?\n- How does Y work?\n* Why Z?", ["What is X?", "How does Y work?", "Why Z?"]),
    ("1) 什么是LLM？\n2、如何部署？\n问题：", ["什么是LLM？", "如何部署？"]),
    ('["hi?", "", 3, "hi?"]', ["hi?"]),
    ("", []),
    ("!!!\n???\n", []),
])
def test_parse_questions(reply, expected):
    assert ai_service.parse_questions(reply) == expected


def test_suggested_after_answer_ends_the_stream_with_questions(client, auth, new_app, fake):
    configure(client, auth, new_app, suggested_after_answer={"enable": True})
    fake.behaviour.next_answers = [["Paris."], ['["Why Paris?", "What else?", "How far?"]']]
    events = parse_sse(client.post(f"/apps/{new_app}/debug", json={"query": "Capital?", "stream": True},
                                   headers=auth).get_data(as_text=True))
    assert [e for e, _ in events][-2:] == ["agent_end", "suggested_questions"]
    assert events[-1][1]["suggested_questions"] == ["Why Paris?", "What else?", "How far?"]
    assert events[-1][1]["message_id"] == events[-2][1]["message_id"]
    fake.behaviour.next_answers = [["Paris."], ["junk"]]
    blocking = debug_message(client, auth, new_app, "Again?")
    assert blocking["suggested_questions"] == ai_service.FALLBACK_QUESTIONS["en"]


def test_no_suggestions_when_off(client, auth, new_app, fake):
    events = parse_sse(client.post(f"/apps/{new_app}/debug", json={"query": "hi", "stream": True},
                                   headers=auth).get_data(as_text=True))
    assert "suggested_questions" not in [e for e, _ in events] and len(fake.requests) == 1


# --- review_config -------------------------------------------------------------------------------

def test_masker_equals_whole_text_masking_for_any_split():
    policy = review_service.policy_from({**REVIEW, "keywords": ["ab", "abc", "bcd", "慕课", "慕课网"]})
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice("abcd 慕课网x") for _ in range(rng.randint(0, 30)))
        masker, shown, i = review_service.OutputMasker(policy), [], 0
        while i < len(text):
            j = i + rng.randint(1, 4)
            shown.append(masker.feed(text[i:j]))
            i = j
        assert "".join(shown) + masker.flush() == review_service.mask(policy, text)


def test_review_input_gets_the_preset_answer_without_a_model_call(client, auth, new_app, fake):
    configure(client, auth, new_app, review_config=REVIEW)
    response = client.post(f"/apps/{new_app}/debug", json={"query": "说说慕课网吧", "stream": True}, headers=auth)
    events = parse_sse(response.get_data(as_text=True))
    assert [e for e, _ in events] == ["agent_message", "agent_end"]
    assert answer_of(events) == "很抱歉，该问题无法回复" and fake.requests == []
    assert events[-1][1]["total_tokens"] == 0
    blocking = debug_message(client, auth, new_app, "my SECRET plan")
    assert blocking["answer"] == "很抱歉，该问题无法回复" and fake.requests == []
    saved = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"]
    assert [m["answer"] for m in saved] == ["很抱歉，该问题无法回复"] * 2


def test_review_output_masks_keywords_split_across_chunks(client, auth, new_app, fake):
    configure(client, auth, new_app, review_config={**REVIEW, "inputs_config": {"enable": False}})
    fake.behaviour.answer_chunks = ["这里有敏", "感", "词，还有 sec", "RET 和慕课", "网", "。"]
    events = parse_sse(client.post(f"/apps/{new_app}/debug", json={"query": "说说慕课网", "stream": True},
                                   headers=auth).get_data(as_text=True))
    assert answer_of(events) == "这里有**，还有 ** 和**。"
    for _, data in events:
        for fragment in ("敏", "感", "sec", "RET", "慕课", "网"):
            assert fragment not in data.get("answer", "")
    saved = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"][0]
    assert saved["answer"] == "这里有**，还有 ** 和**。"
    assert debug_message(client, auth, new_app, "again")["answer"] == "这里有**，还有 ** 和**。"


def test_review_disabled_or_empty_changes_nothing(client, auth, new_app, fake):
    configure(client, auth, new_app, review_config={**REVIEW, "enable": False})
    fake.behaviour.answer_chunks = ["Secret"]
    assert debug_message(client, auth, new_app, "Secret?")["answer"] == "Secret"


def test_review_applies_to_the_open_api(client, auth, new_app, fake):
    configure(client, auth, new_app, review_config=REVIEW, suggested_after_answer={"enable": True})
    assert client.post(f"/apps/{new_app}/publish", headers=auth).status_code == 200
    headers = {"Authorization": f"Bearer {new_key(client, auth, quota=100_000)['key']}"}
    blocked = client.post(f"/v1/apps/{new_app}/chat", json={"query": "慕课网?"}, headers=headers)
    assert blocked.status_code == 200 and blocked.get_json()["answer"] == "很抱歉，该问题无法回复"
    assert fake.requests == []
    fake.behaviour.answer_chunks = ["a Sec", "ret here"]
    stream = client.post(f"/v1/apps/{new_app}/chat", json={"query": "tell me", "stream": True}, headers=headers)
    streamed = parse_sse(stream.get_data(as_text=True))
    assert answer_of(streamed) == "a ** here" and streamed[-1][0] == "agent_end"  # no suggestions on the open API
    assert len(fake.requests) == 1
    blocking = client.post(f"/v1/apps/{new_app}/chat", json={"query": "tell me"}, headers=headers)
    assert blocking.get_json()["answer"] == "a ** here"


def test_review_and_suggestions_in_web_apps(client, auth, other_auth, new_app, fake):
    configure(client, auth, new_app, review_config=REVIEW, suggested_after_answer={"enable": True},
              opening_statement="Welcome!", opening_questions=["What can you do?"])
    token = publish(client, auth, new_app)
    info = client.get(f"/web-apps/{token}", headers=other_auth).get_json()["data"]["app_config"]
    assert info["opening_statement"] == "Welcome!" and info["opening_questions"] == ["What can you do?"]
    assert info["suggested_after_answer"] == {"enable": True}
    blocked = web_chat(client, other_auth, token, "慕课网怎么样")
    assert text(blocked) == "很抱歉，该问题无法回复" and fake.requests == []
    assert "suggested_questions" not in [e for e, _ in blocked]  # no suggestions after a preset answer
    fake.behaviour.next_answers = [["the se", "cret is out"], ['["Which secret?", "Why?", "When?"]']]
    events = web_chat(client, other_auth, token, "tell me")
    assert text(events) == "the ** is out"
    assert events[-1][0] == "suggested_questions" and events[-1][1]["suggested_questions"] == ["Which secret?", "Why?",
                                                                                                "When?"]
    # the end user may ask for suggestions on their own web-app message; nobody else may
    fake.behaviour.next_answers = [['["A?", "B?", "C?"]']]
    message_id = events[-1][1]["message_id"]
    mine = client.post("/ai/suggested-questions", json={"message_id": message_id}, headers=other_auth)
    assert mine.status_code == 200 and mine.get_json()["data"] == ["A?", "B?", "C?"]
    stranger = register(client, "Stranger")
    assert client.post("/ai/suggested-questions", json={"message_id": message_id}, headers=stranger).status_code == 404


def test_review_on_the_course_debug_route_and_openapi_chat(client, auth, new_app, fake):
    configure(client, auth, new_app, review_config=REVIEW)
    fake.behaviour.answer_chunks = ["敏", "感词!"]
    events = parse_sse(client.post(f"/apps/{new_app}/conversations", json={"query": "hello"}, headers=auth)
                       .get_data(as_text=True))
    assert answer_of(events) == "**!" and "".join(d["thought"] for e, d in events if e == "agent_message") == "**!"
    blocked = parse_sse(client.post(f"/apps/{new_app}/conversations", json={"query": "慕课网"}, headers=auth)
                        .get_data(as_text=True))
    assert answer_of(blocked) == "很抱歉，该问题无法回复" and len(fake.requests) == 1
    assert client.post(f"/apps/{new_app}/publish", headers=auth).status_code == 200
    headers = {"Authorization": f"Bearer {new_key(client, auth, quota=100_000)['key']}"}
    stream = client.post("/openapi/chat", json={"app_id": new_app, "query": "hi", "stream": True}, headers=headers)
    assert stream.status_code == 200 and answer_of(parse_sse(stream.get_data(as_text=True))) == "**!"
    blocking = client.post("/openapi/chat", json={"app_id": new_app, "query": "SECRET?", "stream": False},
                           headers=headers)
    assert blocking.status_code == 200 and blocking.get_json()["data"]["answer"] == "很抱歉，该问题无法回复"


def test_the_document_example_paths_are_served_too(client, auth, new_app, fake):
    """The course document's request examples use ``/ai/prompt-optimize`` and
    ``/ai/suggested_questions`` where its interface lines say ``optimize-prompt`` / ``suggested-questions``."""
    fake.behaviour.answer_chunks = ["Be ", "kind."]
    events = parse_sse(client.post("/ai/prompt-optimize", json={"prompt": "be nice"}, headers=auth)
                       .get_data(as_text=True))
    assert "".join(d["optimized_prompt"] for _, d in events) == "Be kind."
    message = debug_message(client, auth, new_app)
    response = client.post("/ai/suggested_questions", json={"message_id": message["id"]}, headers=auth)
    assert response.status_code == 200 and len(response.get_json()["data"]) == 3
    assert client.post("/ai/prompt-optimize", json={"prompt": "x"}).status_code == 401
