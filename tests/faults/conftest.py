"""The fault-injection suite's own processes: an api (gunicorn), a Celery worker it kills, a
second worker on the ``memory`` queue that runs the re-dispatch jobs, a Chroma server it stops,
and — on the services profile — a Redis server of its own (never the machine's shared one), all
under the network guard. Chat models are the fake upstream (served as the ``local`` provider);
embeddings are the real local model. Leases and re-dispatch delays are seconds, not minutes, so
a crash is recovered within a test."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from bench.harness import Stack, free_port
from tests.conftest import NETGUARD_DIR, ROOT, _fresh_postgres_database
from tests.fakes.upstream import FakeUpstream

BIN = Path(sys.executable).parent


class Server:
    """A server process of the test's own (``chroma run``, ``redis-server``) on a fixed port, which
    the test may stop and start again (same port, same data)."""

    def __init__(self, name: str, command: list[str], ready, folder: Path):
        self.name, self.command, self.ready, self.folder = name, command, ready, folder
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.folder / f"{self.name}.log", "ab")  # noqa: SIM115 — held by the process
        self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
                                        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"}, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                break
            if self.ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start: {(self.folder / f'{self.name}.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


def chroma(folder: Path) -> tuple[Server, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return Server("chroma", [str(BIN / "chroma"), "run", "--path", str(folder / "chroma-data"), "--host", "127.0.0.1",
                             "--port", str(port)], ready, folder), url


def redis_server(folder: Path) -> tuple[Server, str]:
    import redis

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"

    def ready() -> bool:
        try:
            return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    return Server("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", str(folder)], ready, folder), url


@pytest.fixture(scope="session")
def fault_llm():
    server = FakeUpstream().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fault_stack(profile, tmp_path_factory, netguard_log, fault_llm):
    """api + worker (2 processes) + own Chroma (+ own Redis on the services profile). The stack
    exposes ``chroma`` (a ``Server``) and ``celery`` (a client on its broker, to act as beat)."""
    workdir = tmp_path_factory.mktemp("faults")
    chroma_server, chroma_url = chroma(workdir)
    servers = [chroma_server]
    env = {
        "PYTHONPATH": f"{NETGUARD_DIR}:{ROOT}",
        "LLMOPS_NETGUARD_LOG": str(netguard_log),
        "LOCAL_LLM_BASE_URL": fault_llm.base_url,
        "CHROMA_URL": chroma_url,
        "DOCUMENT_STUCK_AFTER_S": "2",
        "MEMORY_REDISPATCH_AFTER_S": "2",
        "INDEXING_LEASE_S": "3",
        "MEMORY_LEASE_S": "3",
        "INDEXING_RETRY_DELAY_S": "2",
        "INDEXING_MAX_ATTEMPTS": "2",
        "EMBEDDING_BATCH_SIZE": "4",  # small batches: kills land mid-document
        "EMBEDDING_PRICE": "0.01",  # every embedding call is metered: duplicated work shows in the usage log
        "NEW_ACCOUNT_CREDIT": "10000000",
        "USAGE_FLUSH_INTERVAL_S": "0.5",
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
        redis, redis_url = redis_server(workdir)
        servers.append(redis)
        env.update({
            "DATABASE_URL": _fresh_postgres_database("llmops_faults"),
            "CELERY_BROKER_URL": redis_url,
            "STATE_STORE_URL": redis_url,
            "RATELIMIT_STORAGE_URI": redis_url,
        })
    stack = Stack(workdir, env)
    celery = None
    try:
        for server in servers:
            server.start()
        stack.migrate()
        stack.start_api()
        stack.start_worker(concurrency=2)
        start_maintenance_worker(stack)
        from celery import Celery

        from config import celery_settings

        celery = Celery("faults-beat")
        celery.conf.update(celery_settings(env["CELERY_BROKER_URL"], 600))
        stack.chroma, stack.celery = chroma_server, celery
        yield stack
    finally:
        stack.stop()
        for server in servers:
            server.stop()


def start_maintenance_worker(stack) -> None:
    """A second worker on the ``memory`` queue only (re-dispatch jobs and folds), as a deployment
    with more than one worker has: re-dispatch runs while the other worker is busy indexing."""
    name = "maintenance"
    process = stack._spawn(name, [str(BIN / "celery"), "-A", "celery_app", "worker", "-Q", "memory", "--concurrency",
                                  "1", "--loglevel", "INFO", "-n", f"{name}-{time.time_ns()}@%h"])
    deadline = time.time() + 90
    while time.time() < deadline and "ready." not in stack.log(name):
        if process.poll() is not None:
            raise RuntimeError(f"maintenance worker exited:\n{stack.log(name)[-3000:]}")
        time.sleep(0.2)


class Beat:
    """Sends the re-dispatch jobs every ``interval`` seconds (as beat does, more often) while on."""

    def __init__(self, celery, interval: float = 1.0):
        self.celery, self.interval = celery, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for task in ("llmops.tasks.maintenance.redispatch_stuck_documents",
                         "llmops.tasks.maintenance.redispatch_pending_memory"):
                try:
                    self.celery.send_task(task, queue="memory")
                except Exception:  # noqa: BLE001 — a broker hiccup: next tick
                    pass

    def __enter__(self) -> Beat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def beat(fault_stack):
    with Beat(fault_stack.celery) as running:
        yield running


@pytest.fixture
def api(fault_stack):
    with httpx.Client(base_url=fault_stack.api_url, timeout=120) as client:
        yield client


@pytest.fixture
def auth_headers(api) -> dict:
    body = {"name": "Faults", "email": f"faults-{uuid.uuid4().hex[:10]}@example.com", "password": "secret123"}
    response = api.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}", "X-Email": body["email"]}


def sql(stack, statement: str, **params):
    """One statement on the stack's database → rows (SELECT) or the row count."""
    import sqlalchemy as sa

    engine = sa.create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return result.all() if statement.lstrip().upper().startswith("SELECT") else result.rowcount
    finally:
        engine.dispose()


def wait_until(predicate, timeout: float = 240.0, interval: float = 0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")
