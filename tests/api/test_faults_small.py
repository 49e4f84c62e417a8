"""Smaller faults, through the API: an embedding provider that fails during hit testing is a 503
saying so (not a 500); the per-account storage quota is a 413 with the figures; seed-000 user
names differing only in case are two accounts."""

from __future__ import annotations

import uuid

import pytest

from llmops.providers.embeddings import OpenAIEmbeddings
from tests.api.test_datasets import new_dataset, upload
from tests.fixtures.files import ENGLISH


@pytest.fixture
def broken_embeddings(app, monkeypatch):
    """The embedding model switched to an OpenAI-compatible API on a port nobody listens on."""
    from bench.harness import free_port

    broken = OpenAIEmbeddings(f"http://127.0.0.1:{free_port()}/v1", "key", "remote-embed", 384)
    broken._client = broken._client.with_options(max_retries=0)
    monkeypatch.setattr(app.runtime, "embedding_model", broken)


def test_embedding_failure_during_hit_testing_is_a_clear_503(app, client, auth, broken_embeddings):
    dataset_id = new_dataset(client, auth)
    for strategy in ("semantic", "hybrid"):
        response = client.post(f"/datasets/{dataset_id}/hit", json={"query": "tides", "retrieval_strategy": strategy},
                               headers=auth)
        assert response.status_code == 503, response.get_json()
        assert "embedding model" in response.get_json()["message"]
    full_text = client.post(f"/datasets/{dataset_id}/hit", json={"query": "tides", "retrieval_strategy": "full_text"},
                            headers=auth)
    assert full_text.status_code == 200  # needs no embedding


def test_storage_quota_is_a_413_with_the_figures(app, client, auth):
    saved = app.config["ACCOUNT_STORAGE_BYTES"]
    app.config["ACCOUNT_STORAGE_BYTES"] = 3000
    try:
        assert upload(client, auth, "one.txt", b"a" * 2000).status_code == 201
        refused = upload(client, auth, "two.txt", b"b" * 1500)
        assert refused.status_code == 413
        body = refused.get_json()
        assert "storage quota exceeded" in body["message"] and "1.5 KB" in body["message"]
        assert body["data"]["limit_bytes"] == 3000 and body["data"]["used_bytes"] == 2000
        assert upload(client, auth, "small.txt", b"c" * 900).status_code == 201  # what fits still does
    finally:
        app.config["ACCOUNT_STORAGE_BYTES"] = saved


def test_seed000_usernames_differing_in_case_are_two_accounts(client):
    name = f"Alice{uuid.uuid4().hex[:6]}"
    for username, password in ((name, "secret-one1"), (name.lower(), "secret-two2"), (name.upper(), "secret-3three")):
        registered = client.post("/api/users/register", json={"username": username, "password": password})
        assert registered.status_code == 201, registered.get_json()
    assert client.post("/api/users/register", json={"username": name, "password": "x-secret-9"}).status_code == 400
    tokens = set()
    for username, password in ((name, "secret-one1"), (name.lower(), "secret-two2")):
        login = client.post("/api/users/login", json={"username": username, "password": password})
        assert login.status_code == 200, login.get_json()
        tokens.add(login.get_json()["token"])
    assert client.post("/api/users/login", json={"username": name, "password": "secret-two2"}).status_code == 401
    assert len(tokens) == 2


def test_indexing_waits_while_the_embedding_provider_is_down(app, client, auth, broken_embeddings, monkeypatch):
    from llmops.extensions import db
    from llmops.models import Document
    from llmops.services.knowledge import indexing_service

    queued = []
    monkeypatch.setattr(indexing_service, "dispatch", lambda i, countdown=None: queued.append((i, countdown)))
    dataset_id = new_dataset(client, auth)
    file_id = upload(client, auth, "wait.txt", ENGLISH.encode()).get_json()["data"]["id"]
    created = client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [file_id]}, headers=auth)
    document_id = uuid.UUID(created.get_json()["data"]["documents"][0]["id"])
    queued.clear()  # the dispatch of the creation
    with app.app_context():
        assert indexing_service.index_document(document_id) == "waiting"
        document = db.session.get(Document, document_id)
        assert document.status == "indexing" and document.error.startswith("waiting:")
        assert document.claimed_by is None and document.attempts == 0
    assert queued == [(document_id, app.config["INDEXING_RETRY_DELAY_S"])]


def test_segment_add_and_edit_while_the_embedding_provider_is_down_are_a_503_and_change_nothing(
        app, client, auth, request):
    from tests.api.test_datasets import index_files

    dataset_id = new_dataset(client, auth)
    document_id = index_files(app, client, auth, dataset_id, {"tides.txt": ENGLISH.encode()})["documents"][0]["id"]
    base = f"/datasets/{dataset_id}/documents/{document_id}"
    before = client.get(f"{base}/segments", headers=auth).get_json()["data"]
    segment = before["list"][0]
    document_before = client.get(base, headers=auth).get_json()["data"]
    request.getfixturevalue("broken_embeddings")  # the provider goes down now

    added = client.post(f"{base}/segments", json={"content": "A segment added while embeddings are down."},
                        headers=auth)
    assert added.status_code == 503, added.get_json()
    assert "embedding model" in added.get_json()["message"] and "not saved" in added.get_json()["message"]
    edited = client.post(f"{base}/segments/{segment['id']}", json={"content": "New text that cannot be embedded."},
                         headers=auth)
    assert edited.status_code == 503, edited.get_json()
    assert "embedding model" in edited.get_json()["message"]

    after = client.get(f"{base}/segments", headers=auth).get_json()["data"]
    assert after["paginator"]["total_record"] == before["paginator"]["total_record"]
    assert client.get(f"{base}/segments/{segment['id']}", headers=auth).get_json()["data"]["content"] == segment["content"]
    document_after = client.get(base, headers=auth).get_json()["data"]
    assert (document_after["segment_count"], document_after["character_count"]) == \
        (document_before["segment_count"], document_before["character_count"])
