"""End to end, seed 001's voice-engine requests against the live api (gunicorn + gevent), with a
dataset indexed by the real worker, the real local model and real espeak-ng speech."""

from __future__ import annotations

import base64
import time

import numpy as np

from tests.api.compat.test_seed001 import ENGINE_REQUEST
from tests.e2e.test_seed000 import curl
from tests.sse import data_frames

# Seed 001's documented request, as printed (no Content-Type); the model named there is the seed
# deployment's and is replaced by ours, like the port.
SEED001_CURL = ("""curl -X POST http://localhost:8000/chat/completions -H "Authorization: Bearer YOUR_LLM_API_KEY" """
                """-d '{"messages":[{"role":"user","content":"Hello, how are you?"}],"stream":true,"model":"gpt-4o-mini"}'""")


def test_rag_and_audio_with_the_real_model(api, auth_headers):
    file_id = api.post("/upload-files", headers=auth_headers, files={"file": (
        "zebras.txt", b"Zebras have black and white stripes. The stripes confuse biting flies.")}).json()["data"]["id"]
    dataset_id = api.post("/datasets", json={"name": "Voice"}, headers=auth_headers).json()["data"]["id"]
    batch = api.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [file_id]},
                     headers=auth_headers).json()["data"]["batch"]
    deadline = time.time() + 120
    while time.time() < deadline:
        progress = api.get(f"/datasets/{dataset_id}/documents/batch/{batch}", headers=auth_headers).json()["data"]
        if progress[0]["status"] in ("completed", "error"):
            break
        time.sleep(0.3)
    assert progress[0]["status"] == "completed", progress
    app_id = api.post("/apps", json={"name": "Voice"}, headers=auth_headers).json()["data"]["id"]
    api.post(f"/apps/{app_id}/config", json={"dataset_ids": [dataset_id]}, headers=auth_headers)
    key = api.post("/api-keys", json={"app_id": app_id}, headers=auth_headers).json()["data"]["key"]
    headers = {"Authorization": f"Bearer {key}"}
    body = {**ENGINE_REQUEST, "max_tokens": 32}

    base = str(api.base_url).rstrip("/")
    status, text = curl(SEED001_CURL, base, **{"http://localhost:8000": base, "YOUR_LLM_API_KEY": key,
                                               "gpt-4o-mini": "smollm2-135m"})
    plain = data_frames(text)
    assert status == 200 and plain[-1] == "[DONE]", text
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in plain[:-1] if c.get("choices")).strip()

    rag = data_frames(api.post("/rag/chat/completions", json=body, headers=headers).text)
    assert rag[0]["id"] == "waiting_msg" and rag[-1] == "[DONE]"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in rag[1:-1] if c.get("choices")).strip()

    audio = data_frames(api.post("/audio/chat/completions", json=body, headers=headers).text)
    assert audio[-1] == "[DONE]" and "transcript" in audio[0]["choices"][0]["delta"]["audio"]
    slices = [base64.b64decode(c["choices"][0]["delta"]["audio"]["data"]) for c in audio[:-1]
              if "data" in c["choices"][0]["delta"]["audio"]]
    assert slices and all(len(s) == 1280 for s in slices)
    samples = np.frombuffer(b"".join(slices), dtype="<i2").astype(np.float64)
    assert len(samples) / 16000 > 0.3 and np.sqrt((samples ** 2).mean()) > 300  # real, non-silent speech
