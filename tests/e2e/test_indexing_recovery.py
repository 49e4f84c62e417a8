"""End to end on the real worker: pause/resume mid-indexing continues from where it stopped, and
a worker killed mid-document (its broker message lost) finishes the document after a restart
without duplicating segments or vectors."""

from __future__ import annotations

import time

from tests.fixtures.files import ENGLISH


def big_text(paragraphs: int = 160) -> bytes:
    return "\n\n".join(f"Paragraph {i}. {ENGLISH} Topic number {i} adds detail." for i in range(paragraphs)).encode()


def start_document(api, headers, name: str) -> tuple[str, str]:
    file_id = api.post("/upload-files", files={"file": (name, big_text())}, headers=headers).json()["data"]["id"]
    dataset_id = api.post("/datasets", json={"name": f"recovery-{name}"}, headers=headers).json()["data"]["id"]
    created = api.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [file_id]}, headers=headers).json()
    return dataset_id, created["data"]["documents"][0]["id"]


def document(api, headers, dataset_id, document_id) -> dict:
    return api.get(f"/datasets/{dataset_id}/documents/{document_id}", headers=headers).json()["data"]


def wait_until(predicate, timeout=180.0, interval=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")


def test_pause_and_resume_continue_from_the_stage_reached(api, auth_headers):
    dataset_id, document_id = start_document(api, auth_headers, "pause.txt")
    wait_until(lambda: document(api, auth_headers, dataset_id, document_id)["completed_segment_count"] > 0)
    assert api.post(f"/datasets/{dataset_id}/documents/{document_id}/pause", headers=auth_headers).status_code == 200
    time.sleep(3)  # the worker finishes its current batch, then stops
    paused = document(api, auth_headers, dataset_id, document_id)
    time.sleep(2)
    still = document(api, auth_headers, dataset_id, document_id)
    assert still["completed_segment_count"] == paused["completed_segment_count"] < paused["segment_count"]
    assert still["status"] == "indexing" and still["is_paused"]
    assert api.post(f"/datasets/{dataset_id}/documents/{document_id}/resume", headers=auth_headers).status_code == 200
    done = wait_until(lambda: (d := document(api, auth_headers, dataset_id, document_id))["status"] == "completed" and d)
    assert done["completed_segment_count"] == done["segment_count"]


def test_worker_killed_mid_document_finishes_after_restart(api, stack, auth_headers):
    dataset_id, document_id = start_document(api, auth_headers, "kill.txt")
    wait_until(lambda: document(api, auth_headers, dataset_id, document_id)["completed_segment_count"] > 0)
    stack.kill("worker")
    before = document(api, auth_headers, dataset_id, document_id)
    assert before["status"] == "indexing" and before["completed_segment_count"] < before["segment_count"]
    time.sleep(4)  # older than DOCUMENT_STUCK_AFTER_S, so the restarted worker re-dispatches it
    stack.start_worker()
    done = wait_until(lambda: (d := document(api, auth_headers, dataset_id, document_id))["status"] == "completed" and d)
    assert done["completed_segment_count"] == done["segment_count"] == before["segment_count"]
    segments = api.get(f"/datasets/{dataset_id}/documents/{document_id}/segments", params={"page_size": 50},
                       headers=auth_headers).json()["data"]
    assert segments["paginator"]["total_record"] == done["segment_count"]
    records = api.post(f"/datasets/{dataset_id}/hit", json={"query": "Calvin cycle", "k": 10, "score": 0},
                       headers=auth_headers).json()["data"]
    assert len({r["segment_id"] for r in records}) == len(records) == 10  # no duplicated vectors
