"""Course module 04 (knowledge bases): every route's request example replayed (ids replaced by
the test's own), the fields of its response example checked; indexing runs in-process."""

from __future__ import annotations

import uuid

from tests.api.course.conftest import envelope, missing
from tests.conftest import register
from tests.fixtures.files import ENGLISH

DATASET_FIELDS = {"id", "name", "icon", "description", "document_count", "character_count", "related_app_count",
                  "updated_at", "created_at"}
DOCUMENT_FIELDS = {"id", "name", "character_count", "hit_count", "position", "enabled", "disabled_at", "status",
                   "error", "updated_at", "created_at"}
BATCH_FIELDS = {"id", "name", "size", "extension", "mime_type", "position", "segment_count",
                "completed_segment_count", "error", "status", "processing_started_at", "parsing_completed_at",
                "splitting_completed_at", "completed_at", "stopped_at", "created_at"}
SEGMENT_FIELDS = {"id", "document_id", "dataset_id", "position", "content", "keywords", "character_count",
                  "token_count", "hit_count", "enabled", "disabled_at", "status", "error", "updated_at", "created_at"}
HIT_FIELDS = (SEGMENT_FIELDS - {"document_id"}) | {"document", "score"}


def test_dataset_crud_replay(client, logged_in, make_dataset, make_app):
    dataset_id = make_dataset("慕课LLMOps知识库")
    make_app(datasets=[dataset_id])
    page = envelope(client.get("/datasets?search_word=慕课&current_page=1&page_size=20", headers=logged_in))
    item = next(i for i in page["list"] if i["id"] == dataset_id)
    assert not missing(item, DATASET_FIELDS) and item["related_app_count"] == 1
    detail = envelope(client.get(f"/datasets/{dataset_id}", headers=logged_in))
    assert not missing(detail, DATASET_FIELDS | {"hit_count"})
    body = {"name": "慕课LLMOps知识库2", "icon": "https://cdn.imooc.com/dataset.jpg",
            "description": "Useful for when you want to answer queries about the 慕课LLMOps知识库"}
    envelope(client.post(f"/datasets/{dataset_id}", json=body, headers=logged_in))
    assert envelope(client.get(f"/datasets/{dataset_id}", headers=logged_in))["name"] == "慕课LLMOps知识库2"
    envelope(client.post(f"/datasets/{dataset_id}/delete", headers=logged_in))
    assert client.get(f"/datasets/{dataset_id}", headers=logged_in).status_code == 404


def test_documents_segments_and_hits_replay(client, logged_in, make_dataset, index_documents):
    dataset_id = make_dataset()
    created = index_documents(dataset_id, {"慕课LLMOps项目API文档.md": ENGLISH.encode()})
    assert not missing(created, {"documents", "batch"})
    assert not missing(created["documents"][0], {"id", "name", "status", "created_at"})
    document_id = created["documents"][0]["id"]

    progress = envelope(client.get(f"/datasets/{dataset_id}/documents/batch/{created['batch']}", headers=logged_in))
    assert not missing(progress[0], BATCH_FIELDS)
    assert progress[0]["extension"] == "md" and progress[0]["mime_type"] == "text/markdown"
    assert progress[0]["size"] == len(ENGLISH.encode()) and progress[0]["position"] == 1

    listed = envelope(client.get(f"/datasets/{dataset_id}/documents", headers=logged_in))
    assert not missing(listed["list"][0], DOCUMENT_FIELDS)
    envelope(client.post(f"/datasets/{dataset_id}/documents/{document_id}/name",
                         json={"name": "基于工具调用的智能体设计与实现.md"}, headers=logged_in))
    detail = envelope(client.get(f"/datasets/{dataset_id}/documents/{document_id}", headers=logged_in))
    assert not missing(detail, DOCUMENT_FIELDS | {"dataset_id", "segment_count"})
    assert detail["name"] == "基于工具调用的智能体设计与实现.md"

    hits = envelope(client.post(f"/datasets/{dataset_id}/hit", json={"query": "Calvin cycle carbon dioxide",
                                                                       "retrieval_strategy": "hybrid", "k": 10,
                                                                       "score": 0.0}, headers=logged_in))
    assert hits and not missing(hits[0], HIT_FIELDS)
    assert not missing(hits[0]["document"], {"id", "name", "extension", "mime_type"})
    queries = envelope(client.get(f"/datasets/{dataset_id}/queries", headers=logged_in))
    assert not missing(queries[0], {"id", "dataset_id", "query", "source", "created_at"})

    segments = envelope(client.get(f"/datasets/{dataset_id}/documents/{document_id}/segments", headers=logged_in))
    assert not missing(segments["list"][0], SEGMENT_FIELDS)
    body = {"content": "## 角色 你是一个拥有10年经验的资深Python工程师，精通Flask", "keywords": ["Python", "Flask", "工程师"]}
    segment = envelope(client.post(f"/datasets/{dataset_id}/documents/{document_id}/segments", json=body,
                                   headers=logged_in), 201)
    path = f"/datasets/{dataset_id}/documents/{document_id}/segments/{segment['id']}"
    envelope(client.post(path, json=body, headers=logged_in))
    envelope(client.post(f"{path}/enabled", json={"enabled": False}, headers=logged_in))
    one = envelope(client.get(path, headers=logged_in))
    assert not missing(one, SEGMENT_FIELDS | {"hash"}) and one["enabled"] is False and one["disabled_at"] > 0
    envelope(client.post(f"{path}/delete", headers=logged_in))
    envelope(client.post(f"/datasets/{dataset_id}/documents/{document_id}/enabled", json={"enabled": False},
                         headers=logged_in))
    assert envelope(client.get(f"/datasets/{dataset_id}/documents/{document_id}", headers=logged_in))["disabled_at"] > 0
    envelope(client.post(f"/datasets/{dataset_id}/documents/{document_id}/delete", headers=logged_in))


def test_document_rename_checks_input_and_owner(client, logged_in, make_dataset, index_documents):
    dataset_id = make_dataset()
    document_id = index_documents(dataset_id, {"a.txt": b"hello world"})["documents"][0]["id"]
    path = f"/datasets/{dataset_id}/documents/{document_id}/name"
    response = client.post(path, json={"name": ""}, headers=logged_in)
    assert response.status_code == 422 and "name" in response.get_json()["data"]
    other = register(client, "Other")
    assert client.post(path, json={"name": "x"}, headers=other).status_code == 404
    assert client.post(f"/datasets/{dataset_id}/documents/{uuid.uuid4()}/name", json={"name": "x"},
                       headers=logged_in).status_code == 404
