"""Fixtures for the course front end's API (tests/api/course/test_module_NN_*.py): a logged-in
client, factories for apps, datasets, indexed documents and published apps, SSE parsing and a
field check. Each module replays the course API's request examples and checks the fields its
response examples list."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable

import pytest

from tests.conftest import register
from tests.sse import parse_sse  # noqa: F401 — re-exported for the course tests


def missing(data: dict, fields: Iterable[str]) -> set[str]:
    """The ``fields`` absent from ``data``: ``assert not missing(data, FIELDS)`` names them."""
    return set(fields) - set(data)


def envelope(response, status: int = 200) -> dict:
    """The ``data`` of a ``success`` envelope answered with ``status`` (fails with the body)."""
    body = response.get_json()
    assert response.status_code == status and body["code"] == "success", (response.status_code, body)
    return body["data"]


@pytest.fixture
def logged_in(client) -> dict:
    """Authorization headers of a fresh account (the course front end's ``Authorization: Bearer``)."""
    return register(client, "Course user")


@pytest.fixture
def make_app(client, logged_in) -> Callable[..., str]:
    """``make_app(headers=None, **draft)`` → the id of a new app (created with the course's
    request example, ``fileList`` included); ``draft`` goes to ``POST /apps/:id/draft-app-config``."""
    def make(headers: dict | None = None, **draft) -> str:
        headers = headers or logged_in
        body = {"name": "LLM应用产品经理", "icon": "https://cdn.imooc.com/2024/05/14/218e5217.png",
                "description": "一个能帮你解答关于LLM应用产品开发的Agent智能体。", "fileList": []}
        app_id = envelope(client.post("/apps", json=body, headers=headers), 201)["id"]
        if draft:
            envelope(client.post(f"/apps/{app_id}/draft-app-config", json=draft, headers=headers))
        return app_id
    return make


@pytest.fixture
def make_dataset(client, logged_in) -> Callable[..., str]:
    """``make_dataset(name=None, headers=None)`` → the id of a new dataset."""
    def make(name: str | None = None, headers: dict | None = None) -> str:
        body = {"name": name or f"慕课LLMOps知识库-{uuid.uuid4().hex[:6]}", "icon": "https://cdn.imooc.com/dataset.jpg",
                "description": "Useful for when you want to answer queries about the 慕课LLMOps知识库"}
        response = client.post("/datasets", json=body, headers=headers or logged_in)
        return envelope(response, 201)["id"]
    return make


@pytest.fixture
def upload_file(client, logged_in) -> Callable[..., dict]:
    """``upload_file(name, data, headers=None)`` → the course upload's ``data`` (``/upload-files/file``)."""
    def upload(name: str, data: bytes, headers: dict | None = None) -> dict:
        response = client.post("/upload-files/file", data={"file": (io.BytesIO(data), name)},
                               headers=headers or logged_in, content_type="multipart/form-data")
        return envelope(response)
    return upload


@pytest.fixture
def index_documents(app, client, logged_in, upload_file) -> Callable[..., dict]:
    """``index_documents(dataset_id, {name: bytes})`` → the documents-creation ``data``
    (``{documents, batch}``), every document indexed in-process."""
    def index(dataset_id: str, files: dict[str, bytes], headers: dict | None = None) -> dict:
        from llmops.services.knowledge import indexing_service

        ids = [upload_file(name, data, headers)["id"] for name, data in files.items()]
        created = envelope(client.post(f"/datasets/{dataset_id}/documents",
                                       json={"upload_file_ids": ids, "process_type": "automatic"},
                                       headers=headers or logged_in), 201)
        with app.app_context():
            for document in created["documents"]:
                indexing_service.index_document(uuid.UUID(document["id"]))
        return created
    return index


@pytest.fixture
def published_app(client, logged_in, make_app) -> Callable[..., str]:
    """``published_app(headers=None, **draft)`` → the id of a new app, published."""
    def make(headers: dict | None = None, **draft) -> str:
        app_id = make_app(headers, **draft)
        envelope(client.post(f"/apps/{app_id}/publish", headers=headers or logged_in))
        return app_id
    return make
