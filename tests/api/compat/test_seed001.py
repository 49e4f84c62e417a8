"""Seed 001: the voice AI engine's custom-LLM requests (its extra fields included) against
``/chat/completions`` and ``/rag/chat/completions``."""


from tests.api.test_api_keys import new_key
from tests.api.test_datasets import index_files, new_dataset
from tests.sse import data_frames

ENGINE_REQUEST = {  # what the engine sends with vendor "custom" (seed 001's wire details)
    "model": "smollm2-135m", "stream": True,
    "context": {"appId": "a1", "userId": "u1", "channel": "c1"},
    "messages": [{"role": "user", "content": "What makes zebras look striped?", "turn_id": 3,
                  "timestamp": 1731234567890, "metadata": {"source": "asr", "interrupted": False}}],
}


def test_chat_completions_accepts_the_engine_fields(client, auth, fake):
    key = new_key(client, auth)["key"]
    response = client.post("/chat/completions", json=ENGINE_REQUEST, headers={"Authorization": f"Bearer {key}"})
    chunks = data_frames(response)
    assert response.mimetype == "text/event-stream" and chunks[-1] == "[DONE]"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1] if c["choices"]) == "Hello, world!"
    sent = fake.requests[-1]
    assert "context" not in sent and set(sent["messages"][0]) == {"role", "content"}  # not sent upstream
    wrong = client.post("/chat/completions", json=ENGINE_REQUEST, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_api_key"


def test_rag_sends_the_waiting_chunk_then_retrieves_from_the_bound_app(app, client, auth, new_app, fake):
    dataset_id = new_dataset(client, auth)
    index_files(app, client, auth, dataset_id, {"zebra.txt": b"Zebras have black and white stripes that confuse flies."})
    client.post(f"/apps/{new_app}/config", json={"dataset_ids": [dataset_id]}, headers=auth)
    key = new_key(client, auth, app_id=new_app)["key"]
    response = client.post("/rag/chat/completions", json=ENGINE_REQUEST, headers={"Authorization": f"Bearer {key}"})
    chunks = data_frames(response)
    assert chunks[0]["id"] == "waiting_msg" and chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1] == "[DONE]" and any(c["choices"] and c["choices"][0]["delta"].get("content") for c in chunks[1:-1])
    system = fake.requests[-1]["messages"][0]
    assert system["role"] == "system" and "black and white stripes" in system["content"]


def test_rag_context_dataset_ids_must_be_the_accounts(client, auth, other_auth, fake):
    foreign = new_dataset(client, other_auth)
    key = new_key(client, auth)["key"]
    body = {**ENGINE_REQUEST, "context": {"dataset_ids": [foreign]}}
    chunks = data_frames(client.post("/rag/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}))
    assert chunks[0]["id"] == "waiting_msg" and "unknown dataset" in chunks[1]["error"]["message"] and chunks[-1] == "[DONE]"
    assert fake.requests == []  # nothing went upstream


def decode_audio(chunks: list) -> tuple[list[str], list[bytes]]:
    import base64

    transcripts, slices = [], []
    for chunk in chunks:
        if chunk == "[DONE]":
            continue
        audio = chunk["choices"][0]["delta"]["audio"]
        if "transcript" in audio:
            transcripts.append(audio["transcript"])
        else:
            slices.append(base64.b64decode(audio["data"]))
    return transcripts, slices


def test_audio_speaks_the_answer_as_pcm16_16k(client, auth, fake):
    import numpy as np

    fake.behaviour.answer_chunks = ["Zebras have stripes. ", "They ", "confuse biting flies."]
    key = new_key(client, auth)["key"]
    response = client.post("/audio/chat/completions", json=ENGINE_REQUEST, headers={"Authorization": f"Bearer {key}"})
    chunks = data_frames(response)
    assert response.mimetype == "text/event-stream" and chunks[-1] == "[DONE]"
    first = chunks[0]["choices"][0]["delta"]["audio"]
    assert first["transcript"] == "Zebras have stripes."  # a transcript chunk opens each sentence
    transcripts, slices = decode_audio(chunks)
    assert "".join(transcripts) == "Zebras have stripes. They confuse biting flies."
    assert slices and all(len(s) == 1280 for s in slices)  # 40 ms of PCM16 mono at 16 kHz
    samples = np.frombuffer(b"".join(slices), dtype="<i2").astype(np.float64)
    seconds = len(samples) / 16000
    assert 1.0 < seconds < 8.0, seconds  # two short sentences of speech at 16 kHz
    assert np.sqrt((samples ** 2).mean()) > 300  # not silence
    # the first sentence's audio comes before the second sentence's transcript (spoken while streaming)
    order = ["t" if "transcript" in c["choices"][0]["delta"]["audio"] else "a" for c in chunks[:-1]]
    assert order[0] == "t" and order.index("t", 1) > order.index("a")


def test_a_malformed_context_is_a_400_before_the_stream(client, auth, fake):
    key = new_key(client, auth)["key"]
    for context in ("a string", {"dataset_ids": "abc"}, {"dataset_ids": ["not-a-uuid"]}):
        response = client.post("/rag/chat/completions", json={**ENGINE_REQUEST, "context": context},
                               headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 400 and response.get_json()["error"]["param"].startswith("context")
    assert fake.requests == []


def test_the_documented_curl_body_without_content_type(client, auth, fake):
    """Seed 001's curl line sends its JSON with ``-d`` and no Content-Type (form-encoded)."""
    key = new_key(client, auth)["key"]
    body = '{"messages":[{"role":"user","content":"Hello, how are you?"}],"stream":true,"model":"smollm2-135m"}'
    response = client.post("/chat/completions", data=body, content_type="application/x-www-form-urlencoded",
                           headers={"Authorization": f"Bearer {key}"})
    chunks = data_frames(response)
    assert response.status_code == 200 and chunks[-1] == "[DONE]"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1] if c["choices"]) == "Hello, world!"
