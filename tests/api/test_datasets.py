"""Knowledge bases through the API: upload checks, indexing every file type, hit testing,
document actions, ownership. Indexing runs in-process here (tests/e2e uses a real worker)."""

import io
import uuid

import pytest

from llmops.runtime import runtime
from llmops.services.knowledge import indexing_service
from tests.fixtures.files import corpus, pdf_bytes, zip_bomb_docx


def upload(client, auth, name, data):
    return client.post("/upload-files", data={"file": (io.BytesIO(data), name)}, headers=auth,
                       content_type="multipart/form-data")


def new_dataset(client, auth, name=None):
    response = client.post("/datasets", json={"name": name or f"kb-{uuid.uuid4().hex[:6]}"}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"]


def index_files(app, client, auth, dataset_id, files: dict[str, bytes]) -> dict:
    ids = [upload(client, auth, name, data).get_json()["data"]["id"] for name, data in files.items()]
    created = client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": ids}, headers=auth).get_json()
    with app.app_context():
        for document in created["data"]["documents"]:
            indexing_service.index_document(uuid.UUID(document["id"]))
    return created["data"]


@pytest.mark.parametrize("name, data, status, words", [
    ("empty.txt", b"", 422, "empty"),
    ("virus.exe", b"MZ\x90\x00", 415, "not supported"),
    ("fake.pdf", b"this is not a pdf at all", 415, "not a PDF"),
    ("fake.docx", b"plain text pretending", 415, "not a valid .docx"),
    ("encrypted.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, 415, "password-protected"),
    ("binary.txt", b"\x00\x01\x02\x03" * 100, 415, "binary"),
])
def test_upload_rejects_bad_files_with_a_clear_4xx(client, auth, name, data, status, words):
    response = upload(client, auth, name, data)
    assert response.status_code == status, response.get_json()
    assert words in response.get_json()["message"]


def test_upload_size_limit_is_413(app, client, auth, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024)
    response = upload(client, auth, "big.txt", b"a" * 2048)
    assert response.status_code == 413


def test_zip_bomb_docx_is_refused(client, auth):
    response = upload(client, auth, "bomb.docx", zip_bomb_docx(300))
    assert response.status_code == 415 and "zip bomb" in response.get_json()["message"]


def test_upload_returns_hash_and_metadata(client, auth):
    data = upload(client, auth, "note.txt", b"hello knowledge").get_json()["data"]
    assert data["extension"] == "txt" and data["size"] == 15 and len(data["hash"]) == 64


def test_every_file_type_is_indexed_and_found(app, client, auth):
    dataset_id = new_dataset(client, auth)
    created = index_files(app, client, auth, dataset_id, corpus())
    progress = client.get(f"/datasets/{dataset_id}/documents/batch/{created['batch']}", headers=auth).get_json()["data"]
    assert [d["status"] for d in progress] == ["completed"] * len(corpus()), progress
    for document in progress:
        assert document["segment_count"] >= 1 and document["completed_segment_count"] == document["segment_count"]
        assert document["parsing_completed_at"] and document["splitting_completed_at"] and document["completed_at"]
    cases = {
        "Why are there ocean tides?": "tides.pdf",
        "How do bees tell others where flowers are?": "bees.docx",
        "长城有多长？": "great-wall.md",
        "Which planet is the largest?": "jupiter.pptx",
        "which metal has the highest melting point": "metals.xlsx",
    }
    for strategy in ("semantic", "full_text", "hybrid"):
        for query, expected in cases.items():
            body = {"query": query, "retrieval_strategy": strategy, "k": 3, "score": 0}
            records = client.post(f"/datasets/{dataset_id}/hit", json=body, headers=auth).get_json()["data"]
            assert records and records[0]["document"]["name"] == expected, (strategy, query, records[:2])
            assert 0 <= records[0]["score"] <= 1
    dataset = client.get(f"/datasets/{dataset_id}", headers=auth).get_json()["data"]
    assert dataset["document_count"] == len(corpus()) and dataset["hit_count"] >= 15 and dataset["word_count"] > 0
    queries = client.get(f"/datasets/{dataset_id}/queries", headers=auth).get_json()["data"]
    assert len(queries) == 10 and queries[0]["query"] == "which metal has the highest melting point"


def test_reindexing_is_idempotent(app, client, auth):
    dataset_id = new_dataset(client, auth)
    created = index_files(app, client, auth, dataset_id, {"a.txt": b"Alpha beta gamma. " * 200})
    document_id = created["documents"][0]["id"]
    before = client.get(f"/datasets/{dataset_id}/documents/{document_id}", headers=auth).get_json()["data"]
    from llmops.extensions import db
    from llmops.models import Document
    with app.app_context():
        row = db.session.get(Document, uuid.UUID(document_id))
        row.status = "splitting"  # as if redelivered after the split
        db.session.commit()
        indexing_service.index_document(row.id)
        collection = runtime().vector_store._collection(uuid.UUID(dataset_id))
        assert collection.count() == before["segment_count"]
    after = client.get(f"/datasets/{dataset_id}/documents/{document_id}", headers=auth).get_json()["data"]
    assert after["segment_count"] == before["segment_count"] and after["status"] == "completed"


def test_broken_document_ends_in_error_with_message(app, client, auth):
    dataset_id = new_dataset(client, auth)
    truncated = pdf_bytes(["Some text"])[:60]  # starts like a PDF, then stops
    created = index_files(app, client, auth, dataset_id, {"broken.pdf": truncated, "ok.txt": b"Fine content here."})
    documents = {d["name"]: d for d in client.get(f"/datasets/{dataset_id}/documents", headers=auth)
                 .get_json()["data"]["list"]}
    assert documents["broken.pdf"]["status"] == "error" and documents["broken.pdf"]["error"]
    assert documents["ok.txt"]["status"] == "completed"
    batch = client.get(f"/datasets/{dataset_id}/documents/batch/{created['batch']}", headers=auth).get_json()["data"]
    assert next(d for d in batch if d["name"] == "broken.pdf")["stopped_at"]


def test_non_utf8_text_is_indexed(app, client, auth):
    dataset_id = new_dataset(client, auth)
    index_files(app, client, auth, dataset_id, {"gbk.txt": "故宫是明清两代的皇家宫殿，位于北京中轴线的中心。".encode("gbk")})
    records = client.post(f"/datasets/{dataset_id}/hit", json={"query": "故宫", "retrieval_strategy": "full_text"},
                          headers=auth).get_json()["data"]
    assert records and "故宫" in records[0]["content"]


def test_disable_delete_and_retry(app, client, auth):
    dataset_id = new_dataset(client, auth)
    created = index_files(app, client, auth, dataset_id, {"x.txt": b"Zebras have black and white stripes."})
    document_id = created["documents"][0]["id"]
    hit = {"query": "zebra stripes", "retrieval_strategy": "hybrid", "score": 0}
    assert client.post(f"/datasets/{dataset_id}/hit", json=hit, headers=auth).get_json()["data"]
    base = f"/datasets/{dataset_id}/documents/{document_id}"
    assert client.post(f"{base}/enabled", json={"enabled": False}, headers=auth).status_code == 200
    assert client.post(f"/datasets/{dataset_id}/hit", json=hit, headers=auth).get_json()["data"] == []
    client.post(f"{base}/enabled", json={"enabled": True}, headers=auth)
    assert client.post(f"{base}/retry", headers=auth).status_code == 200
    assert client.get(base, headers=auth).get_json()["data"]["status"] == "waiting"
    with app.app_context():
        indexing_service.index_document(uuid.UUID(document_id))
    assert client.get(base, headers=auth).get_json()["data"]["status"] == "completed"
    assert client.post(f"{base}/delete", headers=auth).status_code == 200
    assert client.get(base, headers=auth).status_code == 404
    assert client.post(f"/datasets/{dataset_id}/hit", json=hit, headers=auth).get_json()["data"] == []


@pytest.mark.parametrize("body, field", [
    ({"query": "x", "k": 11}, "k"), ({"query": "x", "score": 1.5}, "score"), ({"query": ""}, "query"),
    ({"query": "x", "retrieval_strategy": "magic"}, "retrieval_strategy"),
])
def test_hit_testing_validation(client, auth, body, field):
    dataset_id = new_dataset(client, auth)
    response = client.post(f"/datasets/{dataset_id}/hit", json=body, headers=auth)
    assert response.status_code == 422 and field in response.get_json()["data"]


def test_custom_rule_validation(client, auth):
    dataset_id = new_dataset(client, auth)
    file_id = upload(client, auth, "a.txt", b"text").get_json()["data"]["id"]
    for segment, field in (({"separators": ["\n"], "chunk_size": 50, "chunk_overlap": 10}, "rule.segment.chunk_size"),
                           ({"separators": ["\n"], "chunk_size": 200, "chunk_overlap": 150}, "rule.segment.chunk_overlap")):
        rule = {"pre_process_rules": [], "segment": segment}
        response = client.post(f"/datasets/{dataset_id}/documents", headers=auth,
                               json={"upload_file_ids": [file_id], "process_type": "custom", "rule": rule})
        assert response.status_code == 422 and field in response.get_json()["data"], response.get_json()
    missing = client.post(f"/datasets/{dataset_id}/documents", headers=auth,
                          json={"upload_file_ids": [file_id], "process_type": "custom"})
    assert missing.status_code == 422 and "rule" in missing.get_json()["data"]


def test_other_account_gets_not_found(client, auth, other_auth):
    dataset_id = new_dataset(client, auth)
    file_id = upload(client, auth, "a.txt", b"text").get_json()["data"]["id"]
    assert client.get(f"/datasets/{dataset_id}", headers=other_auth).status_code == 404
    assert client.post(f"/datasets/{dataset_id}/hit", json={"query": "x"}, headers=other_auth).status_code == 404
    other_dataset = new_dataset(client, other_auth)
    stolen = client.post(f"/datasets/{other_dataset}/documents", json={"upload_file_ids": [file_id]}, headers=other_auth)
    assert stolen.status_code == 404


def test_dataset_crud_and_unique_name(client, auth):
    dataset_id = new_dataset(client, auth, "Manuals")
    assert client.post("/datasets", json={"name": "Manuals"}, headers=auth).status_code == 409
    assert client.post(f"/datasets/{dataset_id}", json={"description": "d"}, headers=auth).get_json()["data"]["description"] == "d"
    listed = client.get("/datasets?search_word=Manu", headers=auth).get_json()["data"]["list"]
    assert [d["name"] for d in listed] == ["Manuals"]
    assert {"document_count", "word_count", "app_count", "hit_count"} <= set(listed[0])
    assert client.post(f"/datasets/{dataset_id}/delete", headers=auth).status_code == 200
    assert client.get(f"/datasets/{dataset_id}", headers=auth).status_code == 404


def test_embedding_models(client, auth):
    models = client.get("/embedding-models", headers=auth).get_json()["data"]
    assert models[0]["model"] == "all-MiniLM-L6-v2" and models[0]["is_default"] and models[0]["dimension"] == 384


def test_debug_chat_retrieves_from_bound_datasets(app, client, auth, new_app, fake):
    dataset_id = new_dataset(client, auth)
    index_files(app, client, auth, dataset_id, {"tides.pdf": corpus()["tides.pdf"], "bees.docx": corpus()["bees.docx"]})
    config = {"dataset_ids": [dataset_id], "retrieval_config": {"retrieval_strategy": "hybrid", "k": 2, "score": 0.1}}
    assert client.post(f"/apps/{new_app}/config", json=config, headers=auth).status_code == 200
    assert client.get(f"/datasets/{dataset_id}", headers=auth).get_json()["data"]["app_count"] == 1
    raw = client.post(f"/apps/{new_app}/debug", json={"query": "What causes ocean tides?", "stream": True},
                      headers=auth).get_data(as_text=True)
    from tests.sse import parse_sse
    events = parse_sse(raw)
    assert [e for e, _ in events][0] == "dataset_retrieval" and events[-1][0] == "agent_end"
    records = events[0][1]["records"]
    assert records[0]["document_name"] == "tides.pdf" and set(records[0]) == {
        "segment_id", "document_id", "document_name", "dataset_id", "score", "content"}
    assert "gravitational pull" in fake.requests[-1]["messages"][0]["content"]  # context reached the prompt
    message = client.get(f"/apps/{new_app}/messages", headers=auth).get_json()["data"]["list"][0]
    assert message["retrieval_records"][0]["segment_id"] == records[0]["segment_id"]
    sources = [q["source"] for q in client.get(f"/datasets/{dataset_id}/queries", headers=auth).get_json()["data"]]
    assert sources[0] == "app"


def test_binding_a_dataset_of_another_account_is_rejected(client, auth, other_auth, new_app):
    foreign = new_dataset(client, other_auth)
    response = client.post(f"/apps/{new_app}/config", json={"dataset_ids": [foreign]}, headers=auth)
    assert response.status_code == 422 and "dataset_ids" in response.get_json()["data"]


def test_segments_crud_reindexes_at_once(app, client, auth):
    dataset_id = new_dataset(client, auth)
    created = index_files(app, client, auth, dataset_id, {"owls.txt": b"Owls hunt at night with silent flight."})
    document_id = created["documents"][0]["id"]
    base = f"/datasets/{dataset_id}/documents/{document_id}/segments"
    listed = client.get(base, headers=auth).get_json()["data"]
    assert listed["paginator"]["total_record"] == 1
    new = client.post(base, json={"content": "Penguins cannot fly but swim fast.", "keywords": ["penguin"]}, headers=auth)
    assert new.status_code == 201
    segment_id = new.get_json()["data"]["id"]
    hit = {"query": "penguins swimming", "retrieval_strategy": "full_text", "score": 0}
    assert client.post(f"/datasets/{dataset_id}/hit", json=hit, headers=auth).get_json()["data"][0]["segment_id"] == segment_id
    updated = client.post(f"{base}/{segment_id}", json={"content": "Kiwi birds lay huge eggs."}, headers=auth)
    assert updated.get_json()["data"]["content"] == "Kiwi birds lay huge eggs."
    kiwi = {"query": "kiwi eggs", "retrieval_strategy": "semantic", "score": 0.3}
    assert client.post(f"/datasets/{dataset_id}/hit", json=kiwi, headers=auth).get_json()["data"][0]["segment_id"] == segment_id
    assert client.post(f"{base}/{segment_id}/enabled", json={"enabled": False}, headers=auth).status_code == 200
    assert client.post(f"/datasets/{dataset_id}/hit", json=kiwi, headers=auth).get_json()["data"] == []
    assert client.post(f"{base}/{segment_id}/delete", headers=auth).status_code == 200
    assert client.get(f"{base}/{segment_id}", headers=auth).status_code == 404
    assert client.get(base, headers=auth).get_json()["data"]["paginator"]["total_record"] == 1
    assert client.post(base, json={"content": ""}, headers=auth).status_code == 422


def test_vectors_live_in_the_configured_chroma(app, client, auth, profile):
    """Services profile: vectors are in the Chroma *server* (HttpClient); embedded: on disk."""
    dataset_id = new_dataset(client, auth)
    index_files(app, client, auth, dataset_id, {"moon.txt": b"The Moon orbits the Earth every 27 days."})
    import chromadb
    from chromadb.config import Settings

    from llmops.rag.vector_store import VectorStore

    if profile == "services":
        host, port = app.config["CHROMA_URL"].rsplit(":", 1)
        independent = chromadb.HttpClient(host=host.split("//")[1], port=int(port),
                                          settings=Settings(anonymized_telemetry=False))
    else:
        assert app.config["CHROMA_URL"] is None
        independent = chromadb.PersistentClient(path=app.config["CHROMA_PATH"], settings=Settings(anonymized_telemetry=False))
    assert independent.get_collection(VectorStore.collection_name(dataset_id)).count() == 1


def test_search_structures_follow_every_change(app, client, auth):
    """The full-text snapshot is rebuilt and the vector moved on each change, not just filtered at
    load time: a record disabled then enabled again must come back with every strategy."""
    dataset_id = new_dataset(client, auth)
    created = index_files(app, client, auth, dataset_id, {"z.txt": b"Zebras have black and white stripes.",
                                                          "g.txt": b"Giraffes have very long necks."})
    zebra = next(d["id"] for d in created["documents"] if d["name"] == "z.txt")
    base = f"/datasets/{dataset_id}/documents/{zebra}"
    segment_id = client.get(f"{base}/segments", headers=auth).get_json()["data"]["list"][0]["id"]

    def found(strategy: str) -> bool:
        hit = {"query": "zebra stripes", "retrieval_strategy": strategy, "score": 0.01}
        return any(r["segment_id"] == segment_id
                   for r in client.post(f"/datasets/{dataset_id}/hit", json=hit, headers=auth).get_json()["data"])

    with app.app_context():
        store, cache = runtime().vector_store, runtime().fulltext_cache
        assert all(found(s) for s in ("semantic", "full_text", "hybrid"))
        builds = cache.builds
        assert found("full_text") and cache.builds == builds  # unchanged dataset: the snapshot is reused
        client.post(f"{base}/segments/{segment_id}/enabled", json={"enabled": False}, headers=auth)
        assert (store.count(uuid.UUID(dataset_id)), store.count(uuid.UUID(dataset_id), parked=True)) == (1, 1)
        assert not any(found(s) for s in ("semantic", "full_text", "hybrid")) and cache.builds == builds + 1
        client.post(f"{base}/segments/{segment_id}/enabled", json={"enabled": True}, headers=auth)
        assert all(found(s) for s in ("semantic", "full_text", "hybrid")) and cache.builds == builds + 2
        client.post(f"{base}/enabled", json={"enabled": False}, headers=auth)
        assert not found("full_text") and store.count(uuid.UUID(dataset_id), parked=True) == 1
        client.post(f"{base}/enabled", json={"enabled": True}, headers=auth)
        assert found("full_text") and found("semantic")
        client.post(f"{base}/delete", headers=auth)
        assert not found("full_text") and store.count(uuid.UUID(dataset_id)) == 1


def test_another_process_sees_changes_at_once(app, client, auth):
    """A second app instance (its own snapshot cache, as another api process) over the same
    database notices a change made through the first one."""
    from config import TestingConfig
    from llmops import create_app
    from llmops.services.knowledge import retrieval_service

    dataset_id = new_dataset(client, auth)
    created = index_files(app, client, auth, dataset_id, {"o.txt": b"Octopuses have three hearts."})
    document_id = created["documents"][0]["id"]
    second = create_app(TestingConfig, **dict(app.config))
    with second.app_context():
        account_id = uuid.UUID(client.get("/account", headers=auth).get_json()["data"]["id"])
        query = ("octopus hearts", "full_text")
        assert retrieval_service.retrieve(account_id, [uuid.UUID(dataset_id)], *query, k=3)
    client.post(f"/datasets/{dataset_id}/documents/{document_id}/enabled", json={"enabled": False}, headers=auth)
    with second.app_context():
        assert retrieval_service.retrieve(account_id, [uuid.UUID(dataset_id)], *query, k=3) == []
        assert runtime().fulltext_cache.builds == 2  # rebuilt from the new version, not merely filtered
