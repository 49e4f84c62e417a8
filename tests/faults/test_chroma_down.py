"""The Chroma server (the suite's own ``chroma run``) stopped and started again: retrieval answers
a clear 503 while it is down (full-text search still works), a document indexed meanwhile waits
in its stage saying why, and completes by itself once the server is back."""

from __future__ import annotations

import time
import uuid

from tests.e2e.test_indexing_recovery import big_text
from tests.faults.conftest import wait_until


def test_chroma_stopped_then_back(fault_stack, api, auth_headers):
    stack = fault_stack
    dataset_id = api.post("/datasets", json={"name": f"chroma-{uuid.uuid4().hex[:6]}"}, headers=auth_headers).json()["data"]["id"]

    def add(name: str, paragraphs: int) -> str:
        file_id = api.post("/upload-files", files={"file": (name, big_text(paragraphs))},
                           headers=auth_headers).json()["data"]["id"]
        created = api.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [file_id]},
                           headers=auth_headers)
        return created.json()["data"]["documents"][0]["id"]

    def document(document_id: str) -> dict:
        return api.get(f"/datasets/{dataset_id}/documents/{document_id}", headers=auth_headers).json()["data"]

    def hit(strategy: str):
        return api.post(f"/datasets/{dataset_id}/hit", json={"query": "Calvin cycle", "retrieval_strategy": strategy,
                                                             "k": 10}, headers=auth_headers)

    first = add("before.txt", 20)
    assert wait_until(lambda: (d := document(first))["status"] in ("completed", "error") and d,
                      timeout=120)["status"] == "completed"
    assert hit("semantic").status_code == 200

    stack.chroma.stop()
    try:
        down = hit("semantic")
        assert down.status_code == 503, down.text
        assert "vector store" in down.json()["message"]
        assert hit("hybrid").status_code == 503
        assert hit("full_text").status_code == 200  # no vector store needed

        second = add("during.txt", 30)
        waiting = wait_until(lambda: (d := document(second))["error"].startswith("waiting:") and d, timeout=120)
        assert waiting["status"] in ("splitting", "indexing") and "vector store" in waiting["error"]
        time.sleep(5)  # retried every 2 s meanwhile: still waiting, never failed
        still = document(second)
        assert still["status"] in ("splitting", "indexing") and still["error"].startswith("waiting:")
    finally:
        stack.chroma.start()

    done = wait_until(lambda: (d := document(second))["status"] in ("completed", "error") and d, timeout=120)
    assert done["status"] == "completed" and done["error"] == ""
    assert done["completed_segment_count"] == done["segment_count"] > 0
    assert hit("semantic").status_code == 200
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(stack.env["CHROMA_URL"].rsplit(":", 1)[1]))
    vectors = client.get_collection(f"dataset_{uuid.UUID(dataset_id).hex}").count()
    assert vectors == document(first)["segment_count"] + done["segment_count"]  # the waiting one's too, once
