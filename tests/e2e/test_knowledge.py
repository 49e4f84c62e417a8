"""End to end: files uploaded over HTTP are indexed by the real worker (real unstructured, real
embeddings, real Chroma), progress is visible, hit testing finds them, and a debug chat of a bound
app streams ``dataset_retrieval`` before the model's answer."""

from __future__ import annotations

import time

from tests.fixtures.files import corpus
from tests.sse import parse_sse


def test_upload_index_retrieve_and_chat(api, auth_headers):
    files = corpus()
    ids = []
    for name, data in files.items():
        response = api.post("/upload-files", files={"file": (name, data)}, headers=auth_headers)
        assert response.status_code == 201, response.text
        ids.append(response.json()["data"]["id"])
    dataset_id = api.post("/datasets", json={"name": "Science"}, headers=auth_headers).json()["data"]["id"]
    created = api.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": ids}, headers=auth_headers)
    assert created.status_code == 201, created.text
    batch = created.json()["data"]["batch"]
    seen_statuses: set[str] = set()
    deadline = time.time() + 300
    while time.time() < deadline:
        progress = api.get(f"/datasets/{dataset_id}/documents/batch/{batch}", headers=auth_headers).json()["data"]
        seen_statuses.update(d["status"] for d in progress)
        if all(d["status"] in ("completed", "error") for d in progress):
            break
        time.sleep(0.3)
    assert [d["status"] for d in progress] == ["completed"] * len(files), progress
    assert seen_statuses - {"completed"}, "progress was never visible before completion"
    assert all(d["completed_segment_count"] == d["segment_count"] > 0 for d in progress)

    for strategy in ("semantic", "full_text", "hybrid"):
        records = api.post(f"/datasets/{dataset_id}/hit", headers=auth_headers, json={
            "query": "What causes ocean tides?", "retrieval_strategy": strategy, "k": 3}).json()["data"]
        assert records and records[0]["document"]["name"] == "tides.pdf", (strategy, records)

    app_id = api.post("/apps", json={"name": "Science bot"}, headers=auth_headers).json()["data"]["id"]
    config = {"dataset_ids": [dataset_id], "retrieval_config": {"retrieval_strategy": "hybrid", "k": 2, "score": 0.2},
              "model_config": {"parameters": {"max_tokens": 64}}}
    assert api.post(f"/apps/{app_id}/config", json=config, headers=auth_headers).json()["code"] == "success"
    text = api.post(f"/apps/{app_id}/debug", json={"query": "What causes ocean tides?", "stream": True},
                    headers=auth_headers).text
    events = parse_sse(text)
    names = [e for e, _ in events]
    assert names[0] == "dataset_retrieval" and names[-1] == "agent_end", names
    assert names.index("dataset_retrieval") < names.index("agent_message")
    assert events[0][1]["records"][0]["document_name"] == "tides.pdf"
