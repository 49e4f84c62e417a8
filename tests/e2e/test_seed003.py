"""End to end, seed 003's documented ``curl`` examples run literally (with ``curl``, no API key, as
its clients send them) against the live api with the real local model. The stack is configured
with ``SEED003_API_KEY``; the key is imported with ``flask llmops create-api-key --key`` — the way
an operator moves an existing deployment's key over — so usage is still accounted to it."""

from __future__ import annotations

import json
import subprocess
import time
import uuid

from bench.harness import BIN, ROOT
from tests.e2e.conftest import SEED003_API_KEY
from tests.e2e.test_seed000 import curl

NON_STREAM = """curl -X POST "http://localhost:8000/api/v1/chat/completions" \\
-H "Content-Type: application/json" \\
-d '{
  "messages": [{"role": "user", "content": "用Python写一个快速排序"}],
  "stream": false
}'"""
STREAM = """curl -N -X POST "http://localhost:8000/api/v1/chat/completions" \\
-H "Content-Type: application/json" \\
-d '{
  "messages": [{"role": "user", "content": "用Python写一个快速排序"}],
  "stream": true
}'"""
VISION = """curl -X POST "http://localhost:8000/api/v1/vision/completions" \\
-F "image=@path/to/your/image.jpg" \\
-F "model=gpt-4-vision-preview\""""
MODELS = """curl "http://localhost:8000/api/v1/models\""""

# the smallest valid JPEG header is enough for the type check; the upstream never sees it here
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def import_key(stack, api) -> dict:
    email = f"seed003-{uuid.uuid4().hex[:8]}@example.com"
    registered = api.post("/auth/register", json={"name": "Seed 003", "email": email, "password": "secret123"})
    assert registered.status_code == 201, registered.text
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "llmops", "create-api-key", email, "--key",
                           SEED003_API_KEY, "--remark", "seed 003 clients"], cwd=ROOT, env=stack.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == SEED003_API_KEY, done.stderr
    return {"Authorization": f"Bearer {registered.json()['data']['access_token']}"}


def test_seed003_curl_examples_without_a_key(stack, api, tmp_path):
    owner = import_key(stack, api)
    base = stack.api_url
    status, body = curl(NON_STREAM, base, **{"http://localhost:8000": base})
    assert status == 200, body
    answer = json.loads(body)
    assert answer["object"] == "chat.completion" and answer["choices"][0]["message"]["content"].strip()
    assert answer["model"] == "smollm2-135m"  # no model given: the active language model

    status, body = curl(STREAM, base, **{"http://localhost:8000": base})
    assert status == 200, body
    data = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    text = "".join((json.loads(d)["choices"][0]["delta"].get("content") or "") for d in data[:-1]
                   if json.loads(d)["choices"])
    assert text.strip()

    status, body = curl(MODELS, base, **{"http://localhost:8000": base})
    assert status == 200 and "smollm2-135m" in [m["id"] for m in json.loads(body)["data"]]

    image = tmp_path / "image.jpg"
    image.write_bytes(JPEG)
    status, body = curl(VISION, base, **{"http://localhost:8000": base, "path/to/your/image.jpg": str(image)})
    # no vision model runs on this machine: the seed's {"detail"} error, naming the model
    assert status in (404, 503) and "gpt-4-vision-preview" in json.loads(body)["detail"], body

    # the keyless requests were accounted to the imported key
    keys = api.get("/api-keys", headers=owner).json()["data"]["list"]
    assert len(keys) == 1 and keys[0]["remark"] == "seed 003 clients"
    for _ in range(40):  # usage is written by the worker from the buffered batches
        response = api.get("/api/logs", headers={"Authorization": f"Bearer {SEED003_API_KEY}"})
        logs = response.json().get("data") if response.status_code == 200 else None
        if logs and logs["paginator"]["total_record"] >= 2:
            break
        time.sleep(1.0)
    assert logs["paginator"]["total_record"] >= 2, logs
