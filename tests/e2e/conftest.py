"""The real processes: llama.cpp with SmolLM2, gunicorn (gevent) api, a Celery worker — on the
profile under test, every one under the network guard."""

from __future__ import annotations

import uuid

import httpx
import pytest

from bench.harness import Stack
from tests.conftest import NETGUARD_DIR, ROOT, _fresh_postgres_database, _fresh_redis, redis_test_url
from tests.fakes.upstream import FakeUpstream

SEED003_API_KEY = f"sk-seed003-{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def slow_upstream():
    """A fake upstream that takes a second to answer, served as the registry's ``ollama``
    provider: requests stay in flight long enough to race for a quota."""
    server = FakeUpstream().start()
    server.behaviour.first_chunk_delay_s = 1.0
    yield server
    server.stop()


@pytest.fixture(scope="session")
def openai_upstream():
    """A fake upstream served as the registry's ``openai`` provider (no OPENAI_API_KEY is set, so
    only requests that bring their own key reach it: seed 000's per-conversation ``api_key``)."""
    server = FakeUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def priced_upstream():
    """A fake upstream served as the registry's ``vllm`` provider (a key is set, so it is a paid
    provider: only models an admin adds with a price are served, ``priced_model``); it holds each
    answer a second so concurrent requests are in flight together."""
    server = FakeUpstream().start()
    server.behaviour.first_chunk_delay_s = 1.0
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tools_upstream():
    """A fake upstream served as the registry's ``zhipu`` provider (a key is set): ``glm-4-flash`` is
    listed with ``tool_call`` and free, so agent tests script its tool calls (tests/e2e/test_agent_tools.py)."""
    server = FakeUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(profile, tmp_path_factory, netguard_log, chroma_server, slow_upstream, openai_upstream, priced_upstream,
          tools_upstream):
    workdir = tmp_path_factory.mktemp("e2e")
    env = {
        "LLMOPS_BASE_URL_OLLAMA": slow_upstream.base_url,
        "LLMOPS_BASE_URL_OPENAI": openai_upstream.base_url,
        "LLMOPS_BASE_URL_VLLM": priced_upstream.base_url,
        "VLLM_API_KEY": "sk-operator-vllm",
        "LLMOPS_BASE_URL_ZHIPU": tools_upstream.base_url,
        "ZHIPU_API_KEY": "sk-operator-zhipu",
        # seed 003's clients send no key: they are charged to this one (imported by tests/e2e/test_seed003.py)
        "SEED003_API_KEY": SEED003_API_KEY,
        "USAGE_FLUSH_INTERVAL_S": "0.5",
        "PYTHONPATH": f"{NETGUARD_DIR}:{ROOT}",
        "LLMOPS_NETGUARD_LOG": str(netguard_log),
        "MEMORY_REDISPATCH_AFTER_S": "2",
        "DOCUMENT_STUCK_AFTER_S": "3",
        "INDEXING_LEASE_S": "3",  # a killed worker's document is taken over 3 s later
        "MEMORY_LEASE_S": "3",
        "EMBEDDING_BATCH_SIZE": "4",  # small batches: progress, pause and kills land mid-document
        "SSE_PING_INTERVAL_S": "10",
        # every e2e test registers its own accounts from 127.0.0.1; the per-IP limit is tested in tests/api
        "LOGIN_RATE_LIMIT": "1000 per minute",
    }
    if profile == "embedded":
        env.update({
            "DATABASE_URL": f"sqlite:///{workdir / 'llmops.db'}",
            "CELERY_BROKER_URL": f"sqla+sqlite:///{workdir / 'broker.db'}",
            "STATE_STORE_URL": "database",
            "RATELIMIT_STORAGE_URI": "memory://",
        })
    else:
        e2e_redis_url = redis_test_url(offset=1)
        env.update({
            "DATABASE_URL": _fresh_postgres_database("llmops_e2e"),
            "CELERY_BROKER_URL": _fresh_redis(e2e_redis_url),
            "STATE_STORE_URL": e2e_redis_url,
            "RATELIMIT_STORAGE_URI": e2e_redis_url,
            "CHROMA_URL": chroma_server,
        })
    stack = Stack(workdir, env)
    try:
        stack.start_llm()
        stack.migrate()
        # services profile: two api processes, so stop/logout are proven across processes
        stack.start_api(workers=1 if profile == "embedded" else 2)
        stack.start_worker()
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def api(stack):
    with httpx.Client(base_url=stack.api_url, timeout=120) as client:
        yield client


@pytest.fixture
def auth_headers(api) -> dict:
    body = {"name": "E2E", "email": f"e2e-{uuid.uuid4().hex[:10]}@example.com", "password": "secret123"}
    response = api.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


PRICED_MODEL = "vllm/e2e-priced"
PRICE_IN, PRICE_OUT = 3, 5  # credits per prompt / completion token (USD 3 / 5 per 1M tokens)


def sql(stack, statement: str, **params):
    """Run one statement on the stack's database (e2e set-up only)."""
    import sqlalchemy as sa

    engine = sa.create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            return conn.execute(sa.text(statement), params).all() if statement.lstrip().upper().startswith("SELECT") \
                else conn.execute(sa.text(statement), params).rowcount
    finally:
        engine.dispose()


def flask_cli(stack, *args: str) -> str:
    """``flask --app wsgi llmops ARGS`` against the stack → its output (asserts success)."""
    import subprocess

    from bench.harness import BIN

    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "llmops", *args], cwd=ROOT, env=stack.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="session")
def priced_model(stack) -> str:
    """``vllm/e2e-priced``, added by an admin through ``POST /admin/models`` with a price."""
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=stack.api_url, timeout=60) as client:
        token = client.post("/auth/register", json={"name": "Admin", "email": email, "password": "secret123"}) \
            .json()["data"]["access_token"]
        sql(stack, "UPDATE account SET is_admin = true WHERE email = :email", email=email)
        saved = client.post("/admin/models", headers={"Authorization": f"Bearer {token}"}, json={
            "provider": "vllm", "model": "e2e-priced", "input_price": PRICE_IN, "output_price": PRICE_OUT,
            "max_output": 1000})
        assert saved.status_code == 200, saved.text
    import time

    time.sleep(5.5)  # every api process re-reads the registry within 5 s
    return PRICED_MODEL
