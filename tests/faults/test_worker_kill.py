"""kill -9 of the Celery worker (main process and its pool) while a backlog is queued and the
re-dispatch jobs run every second (as beat, only more often): every document is indexed once and
completely, every memory round folded once.

"Once" is measured where duplicated work shows: each embedding call of indexing is metered
(``EMBEDDING_PRICE``) and logged with its tokens, so the tokens charged for indexing may exceed
the documents' own tokens only by the batches the kill interrupted (at most one per pool
process); each fold is a model call the fake upstream counts, and a round folded twice would
bump its summary's version twice.
"""

from __future__ import annotations

import time
import uuid

from tests.e2e.test_indexing_recovery import big_text
from tests.faults.conftest import sql, start_maintenance_worker, wait_until

DOCUMENTS = 4
POOL = 2  # worker processes: in-flight work a kill can interrupt
BATCH = 4  # EMBEDDING_BATCH_SIZE of the stack


def account_id(stack, headers) -> str:
    return str(sql(stack, "SELECT id FROM account WHERE email = :e", e=headers["X-Email"])[0][0])


def slow_pdf(pages: int = 300) -> bytes:
    """A PDF that takes the worker several seconds to parse (longer than DOCUMENT_STUCK_AFTER_S)."""
    from tests.fixtures.files import pdf_with

    lines = ["Chlorophyll absorbs red and blue light in the chloroplast.", "The Calvin cycle fixes carbon dioxide."]
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    return pdf_with(pages=pages, stream=stream.encode())


# small segments (at most 100 tokens): the batches a kill may interrupt are small next to any
# duplicated run, so the charged tokens tell them apart
RULE = {"pre_process_rules": [{"id": "remove_extra_space", "enabled": True}],
        "segment": {"separators": ["\n\n", "\n"], "chunk_size": 100, "chunk_overlap": 0}}


def test_worker_killed_mid_indexing_with_a_backlog(fault_stack, api, auth_headers, beat):
    """The backlog starts with a PDF whose parsing outlasts DOCUMENT_STUCK_AFTER_S: re-dispatch
    must not hand it to the second pool process meanwhile."""
    stack = fault_stack
    dataset_id = api.post("/datasets", json={"name": f"kill-{uuid.uuid4().hex[:6]}"}, headers=auth_headers).json()["data"]["id"]
    files = [("slow.pdf", slow_pdf())] + [(f"doc{i}.txt", big_text(8 + 2 * i)) for i in range(DOCUMENTS - 1)]
    file_ids = [api.post("/upload-files", files={"file": file}, headers=auth_headers).json()["data"]["id"]
                for file in files]
    created = api.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": file_ids, "process_type": "custom",
                                                                   "rule": RULE}, headers=auth_headers)
    assert created.status_code == 201, created.text
    ids = [d["id"] for d in created.json()["data"]["documents"]]

    def documents() -> list[dict]:
        return [api.get(f"/datasets/{dataset_id}/documents/{i}", headers=auth_headers).json()["data"] for i in ids]

    # kill while the PDF is half-way indexed
    wait_until(lambda: 0 < (d := documents()[0])["completed_segment_count"] < d["segment_count"], timeout=180,
               interval=0.1)
    stack.kill("worker")
    before = documents()
    assert sum(d["status"] == "completed" for d in before) < DOCUMENTS
    time.sleep(4)  # past the dead runs' 3 s leases
    stack.start_worker(concurrency=POOL)

    def finished() -> list[dict] | None:
        current = documents()
        return current if all(d["status"] in ("completed", "error") for d in current) else None

    done = wait_until(finished, timeout=300)
    assert [d["status"] for d in done] == ["completed"] * DOCUMENTS, [(d["status"], d["error"]) for d in done]
    assert all(d["completed_segment_count"] == d["segment_count"] > 0 for d in done)
    total_segments = sum(d["segment_count"] for d in done)
    account = account_id(stack, auth_headers)
    segments = sql(stack, "SELECT document_id, position FROM segment WHERE account_id = :a", a=account)
    assert len(segments) == len(set(segments)) == total_segments  # no duplicated segment rows

    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(stack.env["CHROMA_URL"].rsplit(":", 1)[1]))
    collection = client.get_collection(f"dataset_{uuid.UUID(dataset_id).hex}")
    assert collection.count() == total_segments  # no duplicated or orphaned vectors

    time.sleep(2)  # a duplicate run still queued would run now
    segment_tokens, largest = sql(stack, "SELECT COALESCE(SUM(token_count), 0), COALESCE(MAX(token_count), 0) "
                                         "FROM segment WHERE account_id = :a", a=account)[0]
    charged = sql(stack, "SELECT COALESCE(SUM(prompt_tokens), 0) FROM usage_log WHERE account_id = :a "
                         "AND endpoint = 'documents.index'", a=account)[0][0]
    # every segment embedded once, plus at most the batches the kill interrupted
    assert segment_tokens <= charged <= segment_tokens + POOL * BATCH * largest, (charged, segment_tokens, largest)


def test_worker_killed_mid_fold_with_a_backlog(fault_stack, fault_llm, api, auth_headers, beat):
    stack = fault_stack
    rounds = 6
    stack.kill("worker")  # the folds queue up while no worker runs
    stack.kill("maintenance")
    fault_llm.reset()
    apps = []
    for i in range(rounds):  # one app each: folds never race for one summary
        app_id = api.post("/apps", json={"name": f"memory {i}"}, headers=auth_headers).json()["data"]["id"]
        assert api.post(f"/apps/{app_id}/config", json={"memory_mode": "long_term_memory"},
                        headers=auth_headers).status_code == 200
        answer = api.post(f"/apps/{app_id}/debug", json={"query": f"My lucky number is {i}."}, headers=auth_headers)
        assert answer.status_code == 200, answer.text
        apps.append(app_id)
    fault_llm.behaviour.first_chunk_delay_s = 2.0  # each fold is a 2 s model call
    fault_llm.behaviour.answer_chunks = ["A summary."]

    def folds() -> int:
        return sum("New lines of conversation" in str(r.get("messages")) for r in fault_llm.requests)

    def pending() -> int:
        return sql(stack, "SELECT COUNT(*) FROM message m JOIN app a ON a.id = m.app_id WHERE a.account_id = :a "
                          "AND m.memory_status = 'pending'", a=account_id(stack, auth_headers))[0][0]

    assert pending() == rounds
    stack.start_worker(concurrency=POOL)
    start_maintenance_worker(stack)
    wait_until(lambda: folds() >= 1, timeout=60)
    time.sleep(0.5)  # a fold in flight
    stack.kill("worker")
    assert pending() > 0
    time.sleep(4)  # past the dead runs' 3 s leases
    stack.start_worker(concurrency=POOL)
    wait_until(lambda: pending() == 0, timeout=120)
    time.sleep(3)  # any duplicate still queued would run now

    for app_id in apps:
        memory = api.get(f"/apps/{app_id}/long-term-memory", headers=auth_headers).json()["data"]
        assert memory["summary"] == "A summary."
    versions = sql(stack, "SELECT c.summary_version FROM conversation c JOIN app a ON a.debug_conversation_id = c.id "
                          "WHERE a.account_id = :a", a=account_id(stack, auth_headers))
    assert sorted(v for (v,) in versions) == [1] * rounds  # each round folded exactly once
    # one model call per round, plus at most the calls the kill interrupted
    assert rounds <= folds() <= rounds + POOL, folds()


def test_a_document_that_keeps_killing_its_worker_stops(fault_stack, api, auth_headers):
    """The worker dies (kill -9) each time it parses one document: after INDEXING_MAX_ATTEMPTS (2
    here) the document stops in error saying so, instead of being re-dispatched forever."""
    stack = fault_stack
    dataset_id = api.post("/datasets", json={"name": f"poison-{uuid.uuid4().hex[:6]}"}, headers=auth_headers).json()["data"]["id"]
    file_id = api.post("/upload-files", files={"file": ("poison.pdf", slow_pdf())},
                       headers=auth_headers).json()["data"]["id"]
    created = api.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [file_id]}, headers=auth_headers)
    document_id, batch = created.json()["data"]["documents"][0]["id"], created.json()["data"]["batch"]

    def document() -> dict:
        return api.get(f"/datasets/{dataset_id}/documents/{document_id}", headers=auth_headers).json()["data"]

    def progress() -> dict:
        return api.get(f"/datasets/{dataset_id}/documents/batch/{batch}", headers=auth_headers).json()["data"][0]

    started = 0
    for _attempt in range(2):  # a new run has started parsing (a later processing_started_at): kill it
        run = wait_until(lambda started=started: (p := progress())["status"] == "parsing"
                         and p["processing_started_at"] > started and p, timeout=120, interval=0.1)
        started = run["processing_started_at"]
        stack.kill("worker")
        time.sleep(4)  # past the dead run's 3 s lease: the restarted worker takes the document again
        stack.start_worker(concurrency=POOL)
    stopped = wait_until(lambda: (d := document())["status"] in ("completed", "error") and d, timeout=120)
    assert stopped["status"] == "error", stopped
    assert "after 2 attempts" in stopped["error"] and "parsing" in stopped["error"]
