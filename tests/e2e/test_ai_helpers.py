"""Course module 08 on real processes and the real local model: prompt optimisation streams real
text; suggested questions are always 3 usable strings, whatever the small model writes."""

from __future__ import annotations

from tests.sse import parse_sse


def test_optimize_prompt_and_suggested_questions_with_the_local_model(api, auth_headers):
    response = api.post("/ai/optimize-prompt", headers=auth_headers,
                        json={"prompt": "You are a helpful travel agent. Help users plan trips."})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = [(e, d) for e, d in parse_sse(response.text) if e != "ping"]  # a keep-alive while the model starts
    assert events and {e for e, _ in events} == {"optimize_prompt"}, events[-1:]
    assert len("".join(d["optimized_prompt"] for _, d in events).strip()) > 20

    app_id = api.post("/apps", headers=auth_headers, json={"name": "Trips"}).json()["data"]["id"]
    api.post(f"/apps/{app_id}/config", headers=auth_headers,
             json={"model_config": {"parameters": {"max_tokens": 48}}})
    message = api.post(f"/apps/{app_id}/debug", headers=auth_headers,
                       json={"query": "What should I pack for a beach holiday?"}).json()["data"]
    assert message["status"] == "normal" and message["answer"]
    questions = api.post("/ai/suggested-questions", headers=auth_headers,
                         json={"message_id": message["id"]}).json()["data"]
    assert len(questions) == 3 and len(set(questions)) == 3
    assert all(isinstance(q, str) and 2 <= len(q) <= 150 for q in questions), questions
