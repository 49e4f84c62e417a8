"""Seed 000 (llm-backend-api, docs/api.md C1) through the Flask client: the seed's documented bodies,
status codes and stream format, and the sample's faults fixed (ids, ownership, plaintext keys).
The same flow against the live server with the real model and worker: tests/e2e/test_seed000.py."""

import io
import uuid

import pytest

from llmops.extensions import db
from llmops.models import ModelConversation, ProviderOverride
from llmops.services.knowledge import indexing_service
from tests.sse import data_frames

PASSWORD = "SecureP@ssw0rd!"


def seed_user(client) -> dict:
    """Register and log in as the seed does → Authorization headers."""
    username = f"john_doe_{uuid.uuid4().hex[:8]}"
    registered = client.post("/api/users/register", json={"username": username, "password": PASSWORD})
    assert registered.status_code == 201 and registered.get_json() == {"message": "User registered successfully"}
    login = client.post("/api/users/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.get_json()
    return {"Authorization": f"Bearer {login.get_json()['token']}"}


def events(response) -> list[dict]:
    """The ``data:`` frames of a seed 000 stream, parsed (comments/keep-alives skipped)."""
    assert response.mimetype == "text/event-stream"
    return data_frames(response)


@pytest.fixture
def user(client):
    return seed_user(client)


@pytest.fixture
def openai_at_fake(app, fake):
    """The registry's ``openai`` provider served by the fake upstream (as ``set-provider`` would)."""
    from llmops.services.core import model_service

    with app.app_context():
        model_service.set_provider_override("openai", fake.base_url, None, True)
    yield fake
    with app.app_context():
        db.session.delete(db.session.get(ProviderOverride, "openai"))
        db.session.commit()
        app.runtime.reset("model_registry")


def test_register_and_login_as_documented(client):
    username = f"jane_{uuid.uuid4().hex[:8]}"
    assert client.post("/api/users/register", json={"username": username, "password": PASSWORD}).status_code == 201
    again = client.post("/api/users/register", json={"username": username, "password": PASSWORD})
    assert again.status_code == 400 and "already exists" in again.get_json()["error"]
    bad = client.post("/api/users/register", json={"username": "x", "password": "short"})
    assert bad.status_code == 400 and set(bad.get_json()["fields"]) == {"username", "password"}
    wrong = client.post("/api/users/login", json={"username": username, "password": "Wrong-pass1"})
    assert wrong.status_code == 401 and wrong.get_json() == {"error": "invalid username or password"}
    token = client.post("/api/users/login", json={"username": username, "password": PASSWORD}).get_json()["token"]
    # the same JWT works on the studio API
    assert client.get("/account", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_routes_need_the_token(client):
    response = client.get("/api/conversations/list")
    assert response.status_code == 401 and "error" in response.get_json()
    rag = client.get("/api/rag/kb/list", headers={"Authorization": "Bearer not-a-jwt"})
    assert rag.status_code == 401 and rag.get_json()["success"] is False


def test_conversation_lifecycle_with_the_documented_bodies(app, client, user, openai_at_fake):
    created = client.post("/api/conversations/create", headers=user,
                          json={"title": "My New Conversation", "model": "gpt-4o", "api_key": "your-api-key-here"})
    assert created.status_code == 200, created.get_json()
    body = created.get_json()
    assert set(body) == {"conversation_id", "title", "model", "api_key", "created_time"}
    assert isinstance(body["conversation_id"], int) and body["model"] == "gpt-4o"
    assert body["api_key"] != "your-api-key-here" and body["api_key"].startswith("your")  # masked
    number = body["conversation_id"]
    with app.app_context():  # stored encrypted, not in plain text
        row = db.session.get(ModelConversation, number)
        assert "your-api-key-here" not in row.api_key_ciphertext

    chat = client.post(f"/api/chat/{number}", headers=user, json={"message": "介绍一下RUST"})
    assert chat.status_code == 200
    frames = events(chat)
    assert [f["event"] for f in frames] == ["message"] * 4 + ["done", "full_response"]
    assert "".join(f["data"] for f in frames[:4]) == "Hello, world!"
    assert frames[4]["data"] == "Stream finished" and frames[5]["data"] == "Hello, world!"
    # the conversation's own key went upstream, to the model it named
    assert openai_at_fake.authorizations[-1] == "Bearer your-api-key-here"
    assert openai_at_fake.requests[-1]["model"] == "gpt-4o"

    history = client.get(f"/api/conversations/history/{number}", headers=user).get_json()
    assert history["conversation_id"] == number and history["title"] == "My New Conversation"
    assert history["messages"] == [
        {"role": "user", "content": "介绍一下RUST", "message_id": 1},
        {"role": "assistant", "content": "Hello, world!", "message_id": 2},
    ]
    client.post(f"/api/chat/{number}", headers=user, json={"message": "And Go?"})
    sent = openai_at_fake.requests[-1]["messages"]
    assert [m["content"] for m in sent[1:]] == ["介绍一下RUST", "Hello, world!", "And Go?"]  # history kept

    listed = client.get("/api/conversations/list", headers=user).get_json()
    assert listed == [{"conversation_id": number, "title": "My New Conversation", "created_time": body["created_time"]}]
    deleted = client.post(f"/api/conversations/del/{number}", headers=user)
    assert deleted.status_code == 200 and deleted.get_json() == {"message": "Conversation deleted successfully"}
    assert client.get(f"/api/conversations/history/{number}", headers=user).status_code == 404
    assert client.post(f"/api/chat/{number}", headers=user, json={"message": "hi"}).status_code == 404
    assert client.get("/api/conversations/list", headers=user).get_json() == []
    with app.app_context():
        assert db.session.get(ModelConversation, number).api_key_ciphertext is None  # key erased


def test_ids_never_collide_and_default_model(client, user, fake):
    numbers = [client.post("/api/conversations/create", headers=user, json={"title": f"c{i}"}).get_json()
               for i in range(20)]
    assert len({n["conversation_id"] for n in numbers}) == 20
    assert numbers[0]["model"] == "smollm2-135m" and numbers[0]["api_key"] is None  # the active language model
    page = client.get("/api/conversations/list?limit=5&offset=5", headers=user).get_json()
    assert [c["title"] for c in page] == [f"c{i}" for i in range(5, 10)]


def test_another_users_conversation_is_not_found(client, user, fake):
    number = client.post("/api/conversations/create", headers=user, json={"title": "mine"}).get_json()["conversation_id"]
    intruder = seed_user(client)
    assert client.get(f"/api/conversations/history/{number}", headers=intruder).status_code == 404
    assert client.post(f"/api/chat/{number}", headers=intruder, json={"message": "hi"}).status_code == 404
    assert client.post(f"/api/conversations/del/{number}", headers=intruder).status_code == 404
    assert client.get("/api/conversations/list", headers=intruder).get_json() == []
    assert client.get(f"/api/conversations/history/{number}", headers=user).status_code == 200


def test_bad_requests_name_the_field(client, user, fake):
    unknown = client.post("/api/conversations/create", headers=user, json={"title": "t", "model": "no-such-model"})
    assert unknown.status_code == 400 and "model" in unknown.get_json()["fields"]
    keyless = client.post("/api/conversations/create", headers=user, json={"title": "t", "model": "gpt-4o"})
    assert keyless.status_code == 400 and "api_key" in keyless.get_json()["error"]  # OPENAI_API_KEY unset here
    assert client.post("/api/chat/abc", headers=user, json={"message": "hi"}).status_code == 400
    huge = 99999999999999999999  # beyond every integer column: not found, not a database error
    assert client.post(f"/api/chat/{huge // 100}", headers=user, json={"message": "hi"}).status_code == 404
    kb_id = client.post("/api/rag/kb/create", headers=user, json={"kb_name": "probe"}).get_json()["kb_id"]
    rag = client.post("/api/rag/chat", headers=user, json={"conversation_id": huge, "kb_id": kb_id, "message": "m"})
    assert rag.status_code == 404 and rag.get_json()["success"] is False
    number = client.post("/api/conversations/create", headers=user, json={"title": "t"}).get_json()["conversation_id"]
    empty = client.post(f"/api/chat/{number}", headers=user, json={"message": ""})
    assert empty.status_code == 400 and "message" in empty.get_json()["fields"]
    missing = client.post(f"/api/chat/{number}", headers=user, data="not json", content_type="application/json")
    assert missing.status_code == 400


def test_upstream_failure_mid_stream_is_an_error_event(client, user, fake):
    number = client.post("/api/conversations/create", headers=user, json={"title": "t"}).get_json()["conversation_id"]
    fake.behaviour.fail_status, fake.behaviour.fail_times = 500, 1
    frames = events(client.post(f"/api/chat/{number}", headers=user, json={"message": "hi"}))
    assert [f["event"] for f in frames] == ["error"] and frames[0]["data"]
    history = client.get(f"/api/conversations/history/{number}", headers=user).get_json()
    assert history["messages"] == [{"role": "user", "content": "hi", "message_id": 1}]


def test_knowledge_base_flow(app, client, user, fake):
    models = client.get("/api/rag/models", headers=user).get_json()
    assert models["success"] is True and models["models"] == ["all-MiniLM-L6-v2"]
    # the seed's example names its old deployment's model: created on ours, and the answer says so
    other_model = client.post("/api/rag/kb/create", headers=user,
                              json={"kb_name": "旧知识库", "embedding_model": "zhipu-embedding-3"}).get_json()
    assert other_model["success"] is True and other_model["embedding_model"] == "all-MiniLM-L6-v2"
    assert "zhipu-embedding-3" in other_model["message"] and "不可用" in other_model["message"]
    client.post("/api/rag/kb/delete", headers=user, json={"kb_id": other_model["kb_id"]})
    created = client.post("/api/rag/kb/create", headers=user, json={"kb_name": "法律知识库"}).get_json()
    assert created["success"] is True and created["message"] == "知识库创建成功，使用模型: all-MiniLM-L6-v2"
    assert client.post("/api/rag/kb/create", headers=user, json={"kb_name": "法律知识库"}).status_code == 400  # taken
    kb_id = created["kb_id"]
    kbs = client.get("/api/rag/kb/list", headers=user).get_json()
    assert kbs["message"] == "知识库列表获取成功"
    assert [(k["kb_id"], k["kb_name"], k["embedding_model"]) for k in kbs["kbs"]] == [
        (kb_id, "法律知识库", "all-MiniLM-L6-v2")]

    text = ("不可抗力条款是指合同中约定的因不可预见、不可避免、不可克服的客观情况，导致合同无法履行时，"
            "免除当事人部分或全部责任的条款。\n\nThe warranty period for the product is two years.")
    upload = client.post("/api/rag/doc/upload", headers=user, content_type="multipart/form-data",
                         data={"kb_id": kb_id, "file": (io.BytesIO(text.encode()), "法律条款.txt")})
    assert upload.status_code == 200, upload.get_json()
    doc_id = upload.get_json()["doc_id"]
    assert upload.get_json()["status"] == "waiting"  # the tests' wait is 0 s; the e2e test waits for real
    with app.app_context():
        indexing_service.index_document(uuid.UUID(doc_id))
    docs = client.get(f"/api/rag/doc/list?kb_id={kb_id}", headers=user).get_json()
    doc = docs["docs"][0]
    assert (doc["doc_id"], doc["kb_id"], doc["doc_name"], doc["file_type"], doc["status"]) == (
        doc_id, kb_id, "法律条款.txt", "txt", "completed")

    found = client.post("/api/rag/retrieve", headers=user, json={"kb_id": kb_id, "query": "什么是不可抗力条款？"}).get_json()
    assert found["success"] is True and found["message"] == "检索成功"
    best = found["results"][0]
    assert "不可抗力" in best["content"] and best["doc_id"] == doc_id and best["doc_name"] == "法律条款.txt"
    assert 0.0 < best["score"] <= 1.0

    number = client.post("/api/conversations/create", headers=user, json={"title": "rag"}).get_json()["conversation_id"]
    chat = client.post("/api/rag/chat", headers=user,
                       json={"conversation_id": number, "kb_id": kb_id, "message": "什么是不可抗力条款？", "top_k": 3})
    frames = events(chat)
    assert [f["event"] for f in frames][-2:] == ["done", "full_response"]
    system = fake.requests[-1]["messages"][0]["content"]
    assert "不可抗力条款是指" in system  # the retrieved context reached the model

    intruder = seed_user(client)
    assert client.get(f"/api/rag/doc/list?kb_id={kb_id}", headers=intruder).status_code == 404
    assert client.post("/api/rag/retrieve", headers=intruder, json={"kb_id": kb_id, "query": "x"}).status_code == 404
    assert client.post("/api/rag/kb/delete", headers=intruder, json={"kb_id": kb_id}).status_code == 404
    assert client.post("/api/rag/chat", headers=user, json={"conversation_id": number, "kb_id": str(uuid.uuid4()),
                                                            "message": "x"}).status_code == 404

    deleted = client.post("/api/rag/doc/delete", headers=user, json={"kb_id": kb_id, "doc_id": doc_id}).get_json()
    assert deleted == {"success": True, "message": "文档删除成功"}
    assert client.get(f"/api/rag/doc/list?kb_id={kb_id}", headers=user).get_json()["docs"] == []
    assert client.post("/api/rag/kb/delete", headers=user, json={"kb_id": kb_id}).get_json() == {
        "success": True, "message": "知识库删除成功"}
    assert client.get("/api/rag/kb/list", headers=user).get_json()["kbs"] == []


def test_bad_uploads(client, user):
    kb_id = client.post("/api/rag/kb/create", headers=user, json={"kb_name": "kb"}).get_json()["kb_id"]
    no_file = client.post("/api/rag/doc/upload", headers=user, content_type="multipart/form-data",
                          data={"kb_id": kb_id})
    assert no_file.status_code == 400 and no_file.get_json()["success"] is False
    fake_pdf = client.post("/api/rag/doc/upload", headers=user, content_type="multipart/form-data",
                           data={"kb_id": kb_id, "file": (io.BytesIO(b"plain text, not a pdf"), "x.pdf")})
    assert fake_pdf.status_code == 415 and fake_pdf.get_json()["success"] is False
    bad_kb = client.post("/api/rag/doc/upload", headers=user, content_type="multipart/form-data",
                         data={"kb_id": "not-a-uuid", "file": (io.BytesIO(b"hello"), "a.txt")})
    assert bad_kb.status_code == 400 and "kb_id" in bad_kb.get_json()["message"]


def test_login_guessing_is_limited_per_username(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    username = f"target_{uuid.uuid4().hex[:8]}"
    statuses = [client.post("/api/users/login", json={"username": username, "password": "Guess-1234"},
                            environ_base={"REMOTE_ADDR": f"10.1.2.{i}"}).status_code for i in range(4)]
    assert statuses == [401, 401, 401, 429]
    refused = client.post("/api/users/login", json={"username": username, "password": "x"},
                          environ_base={"REMOTE_ADDR": "10.1.3.1"})
    assert refused.status_code == 429 and "too many requests" in refused.get_json()["error"]
