"""OpenAI conformance of ``/v1/chat/completions`` whatever the upstream omits or ignores: the
fields OpenAI's schema requires, ``n`` answers, ``max_completion_tokens``; and the gateway driven
by LangChain's ``ChatOpenAI``/``OpenAIEmbeddings`` (langchain-openai) as a real client."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

from llmops.extensions import db
from llmops.models import ProviderOverride
from llmops.services.core import model_service
from tests.api.test_api_keys import new_key
from tests.api.test_gateway import flush
from tests.money import balance, grant

MODEL = "smollm2-135m"
HI = [{"role": "user", "content": "Hi"}]


@pytest.fixture
def key(app, client, auth, fake):
    flush(app)
    grant(app, auth["X-Email"], 1_000_000)
    return new_key(client, auth, quota=500_000)


def post(client, key: dict, **body):
    return client.post("/v1/chat/completions", json={"model": MODEL, "messages": HI, **body},
                       headers={"Authorization": f"Bearer {key['key']}"})


def test_every_required_field_is_there_when_the_upstream_omits_it(client, key, fake):
    fake.behaviour.send_usage = False  # the fake's message has no refusal, its choice no logprobs
    data = post(client, key).get_json()
    assert {"id", "object", "created", "model", "choices", "usage"} <= set(data)
    assert data["object"] == "chat.completion" and isinstance(data["created"], int)
    choice = data["choices"][0]
    assert set(choice) >= {"index", "message", "finish_reason", "logprobs"} and choice["logprobs"] is None
    assert choice["message"] == {"role": "assistant", "content": "Hello, world!", "refusal": None}
    usage = data["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] and usage["estimated"]


@pytest.mark.parametrize("honour_n", [True, False])
def test_n_answers_are_n_choices(app, client, auth, key, fake, priced, honour_n):
    fake.behaviour.honour_n = honour_n
    before = balance(app, auth["X-Email"])[0]
    data = post(client, key, model=priced, n=3, max_tokens=10).get_json()
    assert [c["index"] for c in data["choices"]] == [0, 1, 2]
    assert all(c["message"]["content"] == "Hello, world!" for c in data["choices"])
    assert len(fake.requests) == (1 if honour_n else 3)  # an upstream ignoring n is asked three times
    assert fake.requests[-1]["n"] == (3 if honour_n else 1)
    prompt = 11 if honour_n else 33  # each fanned-out call bills its prompt
    assert (data["usage"]["prompt_tokens"], data["usage"]["completion_tokens"]) == (prompt, 12)
    record = flush(app)[0]
    assert (record["prompt_tokens"], record["completion_tokens"]) == (prompt, 12)
    assert before - balance(app, auth["X-Email"])[0] == prompt + 12 * 2 == record["cost_credits"]


def test_n_with_stream_is_a_400_naming_n(client, key, fake):
    response = post(client, key, n=2, stream=True)
    assert response.status_code == 400 and response.get_json()["error"]["param"] in ("n", None)
    assert "n must be 1 when stream is true" in response.get_json()["error"]["message"] and fake.requests == []


def test_max_completion_tokens_is_honoured_and_reserved(app, client, auth, fake, priced):
    flush(app)
    grant(app, auth["X-Email"], 100)  # ~7 + 5 x 2 fits; ~7 + 1000 (the model's max_output) x 2 does not
    key = new_key(client, auth)
    assert post(client, key, model=priced).status_code == 429 and fake.requests == []
    assert post(client, key, model=priced, max_completion_tokens=5).status_code == 200
    sent = fake.requests[-1]
    assert sent["max_tokens"] == 5 and "max_completion_tokens" not in sent  # llama.cpp reads max_tokens only
    post(client, key, model=priced, max_completion_tokens=7, max_tokens=500)
    assert fake.requests[-1]["max_tokens"] == 7  # the smaller of the two
    flush(app)


def test_openai_gets_max_completion_tokens(app, client, auth, key, fake):
    with app.app_context():
        model_service.set_provider_override("openai", fake.base_url, None, True)
    try:
        app.config["PROVIDER_API_KEYS"] = {**app.config["PROVIDER_API_KEYS"], "OPENAI_API_KEY": "sk-test"}
        app.runtime.reset("model_registry")
        assert post(client, key, model="gpt-4o-mini", max_tokens=9).status_code == 200
        sent = fake.requests[-1]
        assert sent["max_completion_tokens"] == 9 and "max_tokens" not in sent
    finally:
        app.config["PROVIDER_API_KEYS"].pop("OPENAI_API_KEY")
        with app.app_context():
            db.session.delete(db.session.get(ProviderOverride, "openai"))
            db.session.commit()
        app.runtime.reset("model_registry")
        flush(app)


def _http(app) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://gateway.test")


def test_langchain_chat_openai_drives_the_gateway(app, key, fake):
    llm = ChatOpenAI(model=MODEL, base_url="http://gateway.test/v1", api_key=key["key"], max_retries=0,
                     max_tokens=20, http_client=_http(app), stream_usage=True)
    answer = llm.invoke([HumanMessage("Hi")])
    assert isinstance(answer, AIMessage) and answer.content == "Hello, world!"
    assert answer.usage_metadata["input_tokens"] == 11 and answer.usage_metadata["output_tokens"] == 4
    assert fake.requests[-1]["max_tokens"] == 20  # LangChain sends max_completion_tokens: honoured
    chunks = list(llm.stream("Hi"))
    assert "".join(c.content for c in chunks) == "Hello, world!"
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.usage_metadata["total_tokens"] == 15  # the usage chunk (stream_options.include_usage)
    batch = llm.batch(["one", "two", "three"], config={"max_concurrency": 3})
    assert [b.content for b in batch] == ["Hello, world!"] * 3
    records = flush(app)
    assert len(records) == 5 and all(r["status"] == "success" for r in records)


def test_langchain_embeddings_drive_the_gateway(app, key):
    embeddings = OpenAIEmbeddings(model="all-MiniLM-L6-v2", base_url="http://gateway.test/v1", api_key=key["key"],
                                  check_embedding_ctx_length=False, http_client=_http(app), max_retries=0)
    vectors = embeddings.embed_documents(["The Moon orbits the Earth.", "月亮"])
    query = embeddings.embed_query("What orbits the Earth?")
    assert len(vectors) == 2 and all(len(v) == 384 for v in [*vectors, query])
    moon, other = (sum(a * b for a, b in zip(query, v, strict=True)) for v in vectors)
    assert moon > other  # real vectors, base64-decoded by the client
    flush(app)
