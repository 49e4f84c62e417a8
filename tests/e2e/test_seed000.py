"""End to end, seed 000's documented ``curl`` examples run literally (with ``curl``) against the live
api (gunicorn + gevent): only the host/port and the placeholders the seed asks the reader to fill
in (YOUR_JWT_TOKEN, the ids it returned, the document path) are substituted. The document is
indexed by the real worker, retrieval uses the real embeddings, chat the real local model.

The embedding model ``zhipu-embedding-3`` is the seed deployment's: the knowledge base is created
on ours and the answer names it. For the knowledge-base chat a second conversation is created on
the real local model. The ``gpt-4o`` conversation with its own ``api_key`` runs verbatim: the registry's
``openai`` provider is served by a local fake upstream that records the key it receives.
"""

from __future__ import annotations

import json
import subprocess

from tests.fixtures.files import docx_bytes
from tests.sse import data_frames

# The seed's "Example curl Commands", as printed in its README (ports aside).
REGISTER = """curl -X POST http://localhost:8080/api/users/register \\
-H "Content-Type: application/json" \\
-d '{
    "username": "john_doe",
    "password": "SecureP@ssw0rd!"
}'"""
LOGIN = """curl -X POST http://localhost:8080/api/users/login \\
-H "Content-Type: application/json" \\
-d '{
    "username": "john_doe",
    "password": "SecureP@ssw0rd!"
}'"""
CREATE_CONVERSATION = """curl -X POST http://localhost:8080/api/conversations/create \\
-H "Content-Type: application/json" \\
-H "Authorization: Bearer YOUR_JWT_TOKEN" \\
-d '{
    "title": "My New Conversation",
    "model": "gpt-4o",
    "api_key": "your-api-key-here"
}'"""
CHAT = """curl -X POST http://localhost:8080/api/chat/329629 \\
-H "Content-Type: application/json" \\
-H "Authorization: Bearer YOUR_JWT_TOKEN" \\
-d '{
    "message": "介绍一下RUST"
}'"""
HISTORY = """curl -X GET http://localhost:8080/api/conversations/history/329629 \\
-H "Content-Type: application/json" \\
-H "Authorization: Bearer YOUR_JWT_TOKEN\""""
LIST = """curl -X GET http://localhost:8080/api/conversations/list \\
-H "Content-Type: application/json" \\
-H "Authorization: Bearer YOUR_JWT_TOKEN\""""
DELETE = """curl -X POST http://localhost:8080/api/conversations/del/329629 \\
-H "Content-Type: application/json" \\
-H "Authorization: Bearer YOUR_JWT_TOKEN\""""
KB_CREATE = """curl -X POST http://localhost:8080/api/rag/kb/create \\
-H "Content-Type: application/json" \\
-H "Authorization: Bearer YOUR_JWT_TOKEN" \\
-d '{
    "kb_name": "法律知识库",
    "embedding_model": "zhipu-embedding-3"
}'"""
KB_LIST = """curl -X GET http://localhost:8080/api/rag/kb/list \\
-H "Authorization: Bearer YOUR_JWT_TOKEN\""""
DOC_UPLOAD = """curl -X POST http://localhost:8080/api/rag/doc/upload \\
-H "Authorization: Bearer YOUR_JWT_TOKEN" \\
-F "kb_id=a1b2c3d4-5678-90ab-cdef-123456789abc" \\
-F "file=@/path/to/your/document.docx\""""
RETRIEVE = """curl -X POST http://localhost:8080/api/rag/retrieve \\
-H "Content-Type: application/json" \\
-H "Authorization: Bearer YOUR_JWT_TOKEN" \\
-d '{
    "kb_id": "a1b2c3d4-5678-90ab-cdef-123456789abc",
    "query": "什么是不可抗力条款？",
    "top_k": 5
}'"""
RAG_CHAT = """curl -X POST http://localhost:8080/api/rag/chat \\
-H "Content-Type: application/json" \\
-H "Authorization: Bearer YOUR_JWT_TOKEN" \\
-d '{
    "conversation_id": 329629,
    "kb_id": "a1b2c3d4-5678-90ab-cdef-123456789abc",
    "message": "什么是不可抗力条款？",
    "top_k": 3
}'"""

CONTRACT = [
    "合同协议",
    "第十条 不可抗力条款是指合同中约定的因不可预见、不可避免、不可克服的客观情况，导致合同无法履行或无法完全履行时，"
    "免除当事人部分或全部责任的条款。",
    "第十一条 付款方式：买方应在收到货物后三十日内以银行转账方式支付全部货款。",
    "Article 12. Either party may terminate this agreement with ninety days written notice.",
]


def curl(command: str, base_url: str, **fills: str) -> tuple[int, str]:
    """Run one documented command with the placeholders filled → (HTTP status, body)."""
    command = command.replace("http://localhost:8080", base_url)
    for placeholder, value in fills.items():
        command = command.replace(placeholder, value)
    done = subprocess.run(["bash", "-c", command + ' -sS -N -w "\\n%{http_code}"'], capture_output=True, text=True,
                          timeout=300, check=True)
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def frames(body: str) -> list[dict]:
    return data_frames(body)


def test_seed000_curl_examples(stack, openai_upstream, tmp_path):
    base = stack.api_url
    # the examples register the fixed user john_doe: a second run on the same stack logs in instead
    status, body = curl(REGISTER, base)
    assert status in (201, 400), body
    assert status == 400 or json.loads(body) == {"message": "User registered successfully"}
    status, body = curl(LOGIN, base)
    assert status == 200, body
    token = json.loads(body)["token"]

    status, body = curl(CREATE_CONVERSATION, base, YOUR_JWT_TOKEN=token)
    assert status == 200, body
    created = json.loads(body)
    assert created["title"] == "My New Conversation" and created["model"] == "gpt-4o"
    assert created["api_key"] != "your-api-key-here" and isinstance(created["conversation_id"], int)
    number = str(created["conversation_id"])

    openai_upstream.reset()
    status, body = curl(CHAT, base, YOUR_JWT_TOKEN=token, **{"329629": number})
    assert status == 200, body
    events = frames(body)
    assert [e["event"] for e in events][-2:] == ["done", "full_response"]
    assert "".join(e["data"] for e in events if e["event"] == "message") == events[-1]["data"] == "Hello, world!"
    assert openai_upstream.authorizations == ["Bearer your-api-key-here"]  # the conversation's own key

    status, body = curl(HISTORY, base, YOUR_JWT_TOKEN=token, **{"329629": number})
    assert status == 200 and [m["content"] for m in json.loads(body)["messages"]] == ["介绍一下RUST", "Hello, world!"]
    status, body = curl(LIST, base, YOUR_JWT_TOKEN=token)
    assert status == 200 and int(number) in [c["conversation_id"] for c in json.loads(body)]

    # knowledge base: verbatim; the documented model is the seed deployment's, ours is used and named
    status, body = curl(KB_CREATE, base, YOUR_JWT_TOKEN=token)
    assert status == 200, body
    kb = json.loads(body)
    assert kb["success"] is True and kb["embedding_model"] == "all-MiniLM-L6-v2" and "zhipu-embedding-3" in kb["message"]
    kb_id = kb["kb_id"]
    status, body = curl(KB_LIST, base, YOUR_JWT_TOKEN=token)
    assert status == 200 and kb_id in [k["kb_id"] for k in json.loads(body)["kbs"]]

    document = tmp_path / "合同协议.docx"
    document.write_bytes(docx_bytes(CONTRACT))
    status, body = curl(DOC_UPLOAD, base, YOUR_JWT_TOKEN=token, **{
        "a1b2c3d4-5678-90ab-cdef-123456789abc": kb_id, "/path/to/your/document.docx": str(document)})
    assert status == 200, body
    uploaded = json.loads(body)
    assert uploaded["success"] is True and uploaded["status"] == "completed", uploaded  # indexed by the worker
    assert uploaded["message"] == f"文档上传处理成功，共分割并添加 {uploaded['segment_count']} 个文本块"
    assert uploaded["segment_count"] >= 1

    status, body = curl(RETRIEVE, base, YOUR_JWT_TOKEN=token, **{"a1b2c3d4-5678-90ab-cdef-123456789abc": kb_id})
    assert status == 200, body
    results = json.loads(body)["results"]
    assert "不可抗力" in results[0]["content"] and results[0]["doc_name"] == "合同协议.docx"

    # the knowledge-base chat, on a conversation with the real local model
    status, body = curl(CREATE_CONVERSATION, base, YOUR_JWT_TOKEN=token, **{
        '"model": "gpt-4o",\n    "api_key": "your-api-key-here"': '"model": "smollm2-135m"'})
    assert status == 200, body
    local = str(json.loads(body)["conversation_id"])
    status, body = curl(RAG_CHAT, base, YOUR_JWT_TOKEN=token, **{
        "a1b2c3d4-5678-90ab-cdef-123456789abc": kb_id, "329629": local})
    assert status == 200, body
    events = frames(body)
    assert [e["event"] for e in events][-2:] == ["done", "full_response"], events[-3:]
    streamed = "".join(e["data"] for e in events if e["event"] == "message")
    assert streamed.strip() and streamed == events[-1]["data"]
    assert events.count({"event": "done", "data": "Stream finished"}) == 1

    status, body = curl(DELETE, base, YOUR_JWT_TOKEN=token, **{"329629": number})
    assert status == 200 and json.loads(body) == {"message": "Conversation deleted successfully"}
    status, body = curl(HISTORY, base, YOUR_JWT_TOKEN=token, **{"329629": number})
    assert status == 404
