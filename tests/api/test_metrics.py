"""``/metrics``: Prometheus text with the llmops_* series (docs/api.md C4)."""

import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.test_api_keys import new_key
from tests.api.test_gateway import sdk
from tests.money import grant


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def total(samples: dict, name: str, **labels) -> float:
    return sum(s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_follow_gateway_traffic(app, client, auth, fake, priced):
    grant(app, auth["X-Email"], 1000)
    before = scrape(client)
    key = new_key(client, auth, quota=20)  # credits: the first call holds 7 + 4 x 2 = 15 and costs 19
    gateway = sdk(app, key["key"])
    gateway.chat.completions.create(model=priced, messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
    with pytest.raises(openai.RateLimitError):  # the second call is over the key's cap on purpose
        gateway.chat.completions.create(model=priced, messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
    after = scrape(client)
    grew = lambda name, **labels: total(after, name, **labels) - total(before, name, **labels)  # noqa: E731
    assert grew("llmops_llm_requests_total", surface="gateway", provider="local", status="success") == 1
    assert grew("llmops_llm_tokens_total", provider="local", type="completion") == 4
    assert grew("llmops_quota_refusals_total", reason="quota") == 1
    assert grew("llmops_gateway_overhead_seconds_count", endpoint="chat.completions") == 1
    assert grew("llmops_http_requests_total", endpoint="/v1/chat/completions", status="429") == 1
    assert "llmops_http_request_duration_seconds_bucket" in after
    assert {s.labels["queue"] for s in after["llmops_queue_depth"]} == {"indexing", "memory", "usage", "maintenance"}
    assert all(name.startswith(("llmops_", "python_", "process_")) for name in after)


def test_a_published_app_chat_counts_its_tokens_once(app, client, auth, new_app, fake):
    """Issue 11 reported published-app chat counting its tokens twice; each model call is observed
    exactly once, on the surface that made it (``studio``), blocking and streaming alike."""
    assert client.post(f"/apps/{new_app}/publish", headers=auth).status_code == 200
    headers = {"Authorization": f"Bearer {new_key(client, auth, quota=100_000)['key']}"}
    before = scrape(client)
    assert client.post(f"/v1/apps/{new_app}/chat", json={"query": "Hi"}, headers=headers).status_code == 200
    streamed = client.post(f"/v1/apps/{new_app}/chat", json={"query": "Hi", "stream": True}, headers=headers)
    assert "event: agent_end" in streamed.get_data(as_text=True)
    after = scrape(client)
    grew = lambda name, **labels: total(after, name, **labels) - total(before, name, **labels)  # noqa: E731
    completion, prompt = len(fake.behaviour.answer_chunks), fake.behaviour.prompt_tokens
    assert grew("llmops_llm_requests_total") == 2
    assert grew("llmops_llm_tokens_total", type="completion") == 2 * completion
    assert grew("llmops_llm_tokens_total", type="prompt") == 2 * prompt
    assert grew("llmops_llm_requests_total", surface="gateway") == 0
