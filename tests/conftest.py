"""Fixtures for every profile.

``pytest --profile embedded`` (SQLite, SQLite broker, database state store) or
``pytest --profile services`` (PostgreSQL and Redis on 127.0.0.1 — a missing service fails the
run, it is never skipped). Outbound network access is blocked for this process and every process
the tests start (``tests/netguard``); any attempt fails the test that made it.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NETGUARD_DIR = ROOT / "tests" / "netguard"

sys.path.insert(0, str(NETGUARD_DIR))
import sitecustomize as netguard  # noqa: E402,F401 — installs the audit hook in this process

from config import TestingConfig, celery_settings  # noqa: E402
from tests.fakes.upstream import FakeUpstream  # noqa: E402

# fixtures of tests/fakes/tool_server.py (tool_server, tool_model) for the agent tests
pytest_plugins = ["tests.fakes.tool_server"]

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_BASE_URL = "redis://127.0.0.1:6379"
# Concurrent test runs on one machine (several checkouts) each claim a slot, so their
# PostgreSQL databases and Redis databases never meet: slot n uses Redis dbs 15-2n and 14-2n and
# database names suffixed with n (slot 0 keeps the plain names, as CI sees them).
TEST_SLOTS = 7
_SLOT_KEY = "llmops-test-slot:{}"
_slot: int | None = None


def _claim_slot() -> int:
    """This run's slot (0..6), claimed in Redis db 0 with the pid; a dead owner's slot is taken over."""
    global _slot
    if _slot is not None:
        return _slot
    import atexit

    import redis

    client = redis.Redis.from_url(f"{REDIS_BASE_URL}/0", socket_connect_timeout=5)
    for n in range(TEST_SLOTS):
        key = _SLOT_KEY.format(n)
        owner = client.get(key)
        if owner is not None and _pid_alive(int(owner)) and int(owner) != os.getpid():
            continue
        if owner is not None:
            client.delete(key)
        if client.set(key, os.getpid(), nx=True, ex=6 * 3600):
            _slot = n
            atexit.register(_release_slot, client, key)
            return n
    raise RuntimeError(f"all {TEST_SLOTS} test slots are taken by running test sessions")


def _release_slot(client, key: str) -> None:
    if client.get(key) == str(os.getpid()).encode():
        client.delete(key)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def redis_test_url(offset: int = 0) -> str:
    """A Redis database of this run's own: ``offset`` 0 for the app fixtures, 1 for e2e stacks."""
    return f"{REDIS_BASE_URL}/{15 - 2 * _claim_slot() - offset}"


def pytest_addoption(parser):
    parser.addoption("--profile", default="embedded", choices=["embedded", "services"],
                     help="embedded: SQLite + SQLite broker; services: PostgreSQL + Redis")


def pytest_sessionfinish(session, exitstatus):
    """The network guard's last word: any outbound attempt recorded by any process of this run
    (the app in-process, gunicorn, workers, the local model) fails the whole run, however late it
    happened — after the test that checks the log mid-run, or in a process's shutdown."""
    log = os.environ.get("LLMOPS_NETGUARD_LOG")
    violations = Path(log).read_text().strip() if log and Path(log).exists() else ""
    if violations:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "outbound connection attempts (tests/netguard)", red=True)
            reporter.write_line(violations)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def profile(request) -> str:
    return request.config.getoption("--profile")


@pytest.fixture(scope="session")
def netguard_log(tmp_path_factory) -> Path:
    log = tmp_path_factory.mktemp("netguard") / "violations.log"
    log.touch()
    os.environ["LLMOPS_NETGUARD_LOG"] = str(log)
    return log


def _fresh_postgres_database(name: str) -> str:
    """An empty database ``name`` (suffixed with this run's slot) → its SQLAlchemy URL."""
    import psycopg

    slot = _claim_slot()
    name = f"{name}_{slot}" if slot else name

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _fresh_redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    client.flushdb()
    return url


@pytest.fixture(scope="session")
def chroma_server(profile, tmp_path_factory):
    """A real Chroma server process (``chroma run`` from the chromadb package) for the services
    profile; None in the embedded profile (PersistentClient on disk)."""
    if profile != "services":
        yield None
        return
    import subprocess
    import time

    import httpx

    from bench.harness import free_port

    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = open(folder / "chroma.log", "wb")  # noqa: SIM115 — held by the server process
    process = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path", str(folder / "data"),
                                "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError(f"chroma server did not start: {(folder / 'chroma.log').read_text()[-2000:]}")
    yield url
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture(scope="session")
def profile_urls(profile, tmp_path_factory, netguard_log, chroma_server) -> dict:
    """Database, broker, state-store and instance settings of the chosen profile (fresh state)."""
    instance = tmp_path_factory.mktemp("instance")
    if profile == "embedded":
        return {
            "LLMOPS_INSTANCE_DIR": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'llmops.db'}",
            "CELERY_BROKER_URL": f"sqla+sqlite:///{instance / 'broker.db'}",
            "STATE_STORE_URL": "database",
            "CHROMA_PATH": str(instance / "chroma"),
        }
    return {
        "LLMOPS_INSTANCE_DIR": str(instance),
        "DATABASE_URL": _fresh_postgres_database("llmops_test"),
        "CELERY_BROKER_URL": _fresh_redis(redis_test_url()),
        "STATE_STORE_URL": redis_test_url(),
        "CHROMA_PATH": str(instance / "chroma"),
        "CHROMA_URL": chroma_server,
    }


@pytest.fixture(scope="session")
def upstream():
    """The fake OpenAI-compatible upstream, reset before each test that uses it."""
    server = FakeUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app(profile_urls, upstream):
    """One app per session, schema made by the migrations; the ``local`` provider points at the
    fake upstream (the real local model is used by ``tests/e2e``)."""
    from flask_migrate import upgrade

    from llmops import create_app

    overrides = {
        "INSTANCE_DIR": Path(profile_urls["LLMOPS_INSTANCE_DIR"]),
        "SQLALCHEMY_DATABASE_URI": profile_urls["DATABASE_URL"],
        "CELERY": celery_settings(profile_urls["CELERY_BROKER_URL"], 600),
        "STATE_STORE_URL": profile_urls["STATE_STORE_URL"],
        "QUOTA_STORE_URL": profile_urls["STATE_STORE_URL"],
        "CHROMA_PATH": profile_urls["CHROMA_PATH"],
        "CHROMA_URL": profile_urls.get("CHROMA_URL"),
        "LOCAL_LLM_BASE_URL": upstream.base_url,
        "SSE_PING_INTERVAL_S": 10.0,
    }
    app = create_app(TestingConfig, **overrides)
    with app.app_context():
        upgrade()
    yield app
    from llmops.extensions import db

    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def fake(upstream):
    upstream.reset()
    return upstream


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield


def register(client, name: str = "Tester") -> dict:
    """Register a fresh account → Authorization headers (each test gets its own account)."""
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    response = client.post("/auth/register", json={"name": name, "email": email, "password": "secret123"})
    assert response.status_code == 201, response.get_json()
    token = response.get_json()["data"]["access_token"]
    return {"Authorization": f"Bearer {token}", "X-Email": email}


@pytest.fixture
def auth(client) -> dict:
    return register(client)


@pytest.fixture
def other_auth(client) -> dict:
    return register(client, "Other")


@pytest.fixture
def new_app(client, auth) -> str:
    response = client.post("/apps", json={"name": "Test bot", "description": "for tests"}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"]


@pytest.fixture
def admin_auth(app, client) -> dict:
    """Authorization headers of a fresh admin account."""
    from llmops.extensions import db
    from llmops.models import Account

    headers = register(client, "Admin")
    with app.app_context():
        db.session.query(Account).filter_by(email=headers["X-Email"]).one().is_admin = True
        db.session.commit()
    return headers


@pytest.fixture
def priced(app) -> str:
    """A model on the fake upstream priced 1 / 2 credits per prompt / completion token (tests/money.py)."""
    from tests.money import add_priced_model

    return add_priced_model(app)


@pytest.fixture
def paid_provider(app, fake, monkeypatch):
    """``deepseek-chat``: a listed, priced model of a provider with a key set, on the fake upstream."""
    from tests.money import paid_provider as configure

    yield from configure(app, fake, monkeypatch)
