"""Faults of real processes under load: a gunicorn worker killed with 50 streams open (both
profiles), PostgreSQL connections terminated, Redis stopped and restarted (services profile: a
``redis-server`` this module starts itself on a free port, never the machine's own).

Each test ends by settling the books — the usage flush, the reconciliation job (``flask llmops
reconcile-usage``, what beat runs each minute), the usage worker — and checks that nothing was lost
or counted twice: one usage row per request that reached the model, and balance, ``used`` and the
key's ``used_quota`` equal to the rows' costs (and, with Redis, its counter equal to the database)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import httpx
import psutil
import pytest
import sqlalchemy as sa

from bench.harness import BIN, Stack, free_port
from tests.conftest import NETGUARD_DIR, ROOT, _fresh_postgres_database
from tests.fakes.upstream import FakeUpstream

GRANT = 10_000_000
MODEL = "priced-model"  # 1 / 2 credits per prompt / completion token, served by the fake upstream
TOTAL_TIMEOUT_S = 8  # LLM_TOTAL_TIMEOUT_S of the stack: a call still open this long + the grace is dead
GRACE_S = 2


class RedisServer:
    """A private redis-server (append-only file on, as a production broker has) on a free port."""

    def __init__(self, folder):
        self.folder, self.port = folder, free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--save", "", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a clean shutdown: the append-only file is complete
            self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def upstream():
    server = FakeUpstream().start()
    yield server
    server.stop()


@contextlib.contextmanager
def running_stack(profile: str, workdir, upstream, netguard_log, **overrides):
    """The api (gunicorn, 2 gevent workers) and a Celery worker on ``profile`` → (stack, redis server
    or None); ``overrides``: environment variables."""
    env = {
        "LOCAL_LLM_BASE_URL": upstream.base_url,
        "LLM_TOTAL_TIMEOUT_S": str(TOTAL_TIMEOUT_S), "USAGE_HOLD_GRACE_S": str(GRACE_S),
        "LLM_READ_TIMEOUT_S": "5", "USAGE_FLUSH_INTERVAL_S": "0.5", "LOGIN_RATE_LIMIT": "1000 per minute",
        "PYTHONPATH": f"{NETGUARD_DIR}:{ROOT}", "LLMOPS_NETGUARD_LOG": str(netguard_log), "ACCESS_LOG": "0",
        **overrides,
    }
    redis_server = None
    if profile == "embedded":
        env.update({"DATABASE_URL": f"sqlite:///{workdir / 'llmops.db'}",
                    "CELERY_BROKER_URL": f"sqla+sqlite:///{workdir / 'broker.db'}",
                    "STATE_STORE_URL": "database", "RATELIMIT_STORAGE_URI": "memory://"})
    else:
        redis_server = RedisServer(workdir)
        redis_server.start()
        env.update({"DATABASE_URL": _fresh_postgres_database(f"llmops_faults_{workdir.name[-6:]}".lower()
                                                             .replace("-", "_")),
                    "CELERY_BROKER_URL": redis_server.url, "STATE_STORE_URL": redis_server.url,
                    "RATELIMIT_STORAGE_URI": redis_server.url})
    stack = Stack(workdir, env)
    try:
        stack.migrate()
        sql(stack, "INSERT INTO model_price (provider, model, kind, input_price, output_price, max_output, updated_at) "
                   "VALUES ('local', :model, 'language', 1.0, 2.0, 1000, CURRENT_TIMESTAMP)", model=MODEL)
        stack.start_api(workers=2)
        stack.start_worker()
        yield stack, redis_server
    finally:
        stack.stop()
        if redis_server is not None:
            redis_server.stop()


@pytest.fixture(scope="module")
def world(profile, tmp_path_factory, netguard_log, upstream):
    with running_stack(profile, tmp_path_factory.mktemp("faults"), upstream, netguard_log) as running:
        yield running


def sql(stack, statement: str, **params):
    engine = sa.create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return result.all() if result.returns_rows else result.rowcount
    finally:
        engine.dispose()


@pytest.fixture
def customer(world, upstream):
    """A fresh account with credit and an API key → (account id, key id, plain key)."""
    upstream.reset()
    return new_customer(world[0])


def new_customer(stack) -> tuple[str, str, str]:
    email = f"fault-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=stack.api_url, timeout=30) as http:
        token = http.post("/auth/register", json={"name": "F", "email": email, "password": "secret123"}) \
            .json()["data"]["access_token"]
        sql(stack, "UPDATE account SET balance = :grant WHERE email = :email", grant=GRANT, email=email)
        key = http.post("/api-keys", json={"remark": "faults"}, headers={"Authorization": f"Bearer {token}"}) \
            .json()["data"]
    account_id = sql(stack, "SELECT id FROM account WHERE email = :email", email=email)[0][0]
    return str(account_id), key["id"], key["key"]


def chat(http: httpx.Client, key: str, stream: bool = False) -> httpx.Response:
    return http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                     json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 50,
                           "stream": stream})


def settle_books(stack, account_id: str, expected_rows: int | None = None) -> list:
    """Wait until every hold of the account is past its expiry, run the reconciliation, and wait
    for the usage worker → the account's usage rows (status, cost_credits)."""
    time.sleep(TOTAL_TIMEOUT_S + GRACE_S + 1)
    done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "llmops", "reconcile-usage"], cwd=ROOT, env=stack.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    query = "SELECT status, cost_credits FROM usage_log WHERE account_id = :account"
    params = {"account": account_id if stack.env["DATABASE_URL"].startswith("postgresql") else
              uuid.UUID(account_id).hex}
    deadline, previous = time.time() + 30, None
    while time.time() < deadline:
        found = sql(stack, query, **params)
        if expected_rows is not None and len(found) >= expected_rows:
            break
        if previous is not None and len(found) == len(previous):
            break
        previous = found
        time.sleep(2)
    return sql(stack, query, **params)


def assert_books_balance(stack, redis_server, account_id: str, key_id: str, rows: list) -> None:
    """Balance, ``used`` and the key's ``used_quota`` equal the usage rows' costs; with Redis, its
    counter equals the database and nothing is held any more."""
    spent = sum(int(cost) for _, cost in rows)
    is_pg = stack.env["DATABASE_URL"].startswith("postgresql")
    account = account_id if is_pg else uuid.UUID(account_id).hex
    key = key_id if is_pg else uuid.UUID(key_id).hex
    balance, used = sql(stack, "SELECT balance, used FROM account WHERE id = :id", id=account)[0]
    used_quota = sql(stack, "SELECT used_quota FROM api_key WHERE id = :id", id=key)[0][0]
    assert (GRANT - balance, used, used_quota) == (spent, spent, spent)
    if redis_server is not None:
        import redis

        client = redis.Redis.from_url(redis_server.url)
        assert int(client.get(f"llmops:bal:{account_id}")) == balance  # quotas exact
        assert not [h for h in client.hvals("llmops:holds") if account_id.encode() in h]
    else:
        assert sql(stack, "SELECT COUNT(*) FROM quota_hold WHERE account_id = :id", id=account)[0][0] == 0


def worker_pids(stack) -> list[int]:
    master = psutil.Process(stack.processes["api"].pid)
    return [child.pid for child in master.children()]


def test_kill_9_of_a_gunicorn_worker_with_50_open_streams(world, customer, upstream):
    stack, redis_server = world
    account_id, key_id, key = customer
    upstream.behaviour.answer_chunks = ["tok "] * 16
    upstream.behaviour.chunk_delay_s = 0.3  # ~5 s a stream
    started, outcomes = threading.Barrier(51), []

    def stream() -> None:
        text, done, status, error = "", False, None, None
        try:
            with httpx.Client(base_url=stack.api_url, timeout=30) as http, \
                    http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                                json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}],
                                      "max_tokens": 50, "stream": True}) as response:
                status, first = response.status_code, True
                if status != 200:
                    text = response.read().decode()[:300]  # the error, for the assertion's message
                for line in response.iter_lines():
                    if first:
                        first = False
                        started.wait(timeout=60)
                    if line == "data: [DONE]":
                        done = True
                    elif line.startswith("data: "):
                        chunk = json.loads(line[6:])
                        text += "".join((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices", []))
        except httpx.HTTPError as exc:
            error = exc
        outcomes.append((done, text, status, error))

    threads = [threading.Thread(target=stream) for _ in range(50)]
    for thread in threads:
        thread.start()
    started.wait(timeout=60)  # every stream has its first chunk
    port = int(stack.api_url.rsplit(":", 1)[1])
    load = {pid: sum(1 for c in psutil.Process(pid).net_connections("tcp")
                     if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)
            for pid in worker_pids(stack)}
    victim = max(load, key=load.get)
    assert load[victim] >= 1
    os.kill(victim, signal.SIGKILL)
    with httpx.Client(base_url=stack.api_url, timeout=30) as http:  # the other requests go on
        upstream.behaviour.chunk_delay_s = 0.0
        assert all(chat(http, key).status_code == 200 for _ in range(10))
    for thread in threads:
        thread.join(timeout=60)
    cut = [o for o in outcomes if o[3] is not None]  # the connection broke: the killed worker's streams
    assert len(cut) == load[victim], [(o[2], repr(o[3])) for o in cut][:5]
    assert all(done and status == 200 and text == "tok " * 16 for done, text, status, error in outcomes
               if error is None), [o[:3] for o in outcomes if not o[0] and o[3] is None][:5]
    cut = len(cut)
    rows = settle_books(stack, account_id, expected_rows=60)
    statuses = sorted(status for status, _ in rows)
    assert len(rows) == 60  # one row per request: nothing lost, nothing twice
    assert statuses.count("lost") == cut and statuses.count("success") == 60 - cut
    assert_books_balance(stack, redis_server, account_id, key_id, rows)


def load_loop(stack, key: str, stop: threading.Event, results: list, studio_token: str | None = None) -> None:
    with httpx.Client(base_url=stack.api_url, timeout=30) as http:
        while not stop.is_set():
            try:
                response = chat(http, key)
                results.append((time.time(), response.status_code, response.text[:300]))
                if studio_token:
                    listed = http.get("/apps", headers={"Authorization": f"Bearer {studio_token}"})
                    results.append((time.time(), listed.status_code, listed.text[:300]))
            except httpx.HTTPError as exc:
                results.append((time.time(), 0, repr(exc)))


def test_postgresql_connections_terminated_mid_load(world, customer, profile):
    if profile != "services":
        pytest.skip("PostgreSQL is the services profile's database")
    stack, redis_server = world
    account_id, key_id, key = customer
    database = stack.env["DATABASE_URL"].rsplit("/", 1)[1]
    stop, results = threading.Event(), []
    threads = [threading.Thread(target=load_loop, args=(stack, key, stop, results)) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    killed = 0
    for _ in range(3):
        killed += len(sql_admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()", database))
        time.sleep(1)
    last_kill = time.time()
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert killed >= 3
    statuses = [status for _, status, _ in results]
    assert set(statuses) <= {200, 503}, [r for r in results if r[1] not in (200, 503)][:3]
    assert all(status == 200 for when, status, _ in results if when > last_kill + 1)  # recovered
    assert statuses.count(200) > 20
    rows = settle_books(stack, account_id)
    assert sorted({s for s, _ in rows}) in (["success"], ["lost", "success"])
    assert [s for s, _ in rows].count("success") == statuses.count(200)
    assert_books_balance(stack, redis_server, account_id, key_id, rows)


def sql_admin(statement: str, *params) -> list:
    import psycopg

    from tests.conftest import POSTGRES_ADMIN_URL

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        return conn.execute(statement, params).fetchall()


def test_redis_stopped_and_restarted_under_load(world, customer, profile):
    if profile != "services":
        pytest.skip("Redis is the services profile's broker, state store and ledger")
    stack, redis_server = world
    account_id, key_id, key = customer
    stop, results = threading.Event(), []
    threads = [threading.Thread(target=load_loop, args=(stack, key, stop, results)) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    redis_server.stop()
    down_from = time.time()
    time.sleep(4)
    redis_server.start()
    up_again = time.time()
    time.sleep(5)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    statuses = [status for _, status, _ in results]
    assert set(statuses) <= {200, 503}, [r for r in results if r[1] not in (200, 503)][:3]
    unavailable = [text for when, status, text in results if status == 503]
    assert unavailable and all("Redis" in text for text in unavailable)  # a clear 503 while it was down
    assert any(status == 200 for when, status, _ in results if when < down_from)
    assert any(status == 200 for when, status, _ in results if when > up_again + 1)  # and back after
    rows = settle_books(stack, account_id)
    # no usage lost: a row for every answer (a request answered by the model whose response then met
    # Redis down — e.g. the rate-limit headers — is a 503 with its usage rightly recorded)
    assert statuses.count(200) <= [s for s, _ in rows].count("success") <= statuses.count(200) + len(unavailable)
    assert set(s for s, _ in rows) <= {"success", "lost"}
    assert_books_balance(stack, redis_server, account_id, key_id, rows)


def test_sigterm_flushes_the_usage_buffer(profile, tmp_path_factory, netguard_log, upstream):
    """A stopping api sends what its buffer holds (gunicorn's ``worker_exit``): the rows arrive long
    before the reconciliation could write them (its grace is an hour here) and nothing waits in a hold."""
    upstream.reset()
    with running_stack(profile, tmp_path_factory.mktemp("sigterm"), upstream, netguard_log,
                       USAGE_FLUSH_INTERVAL_S="3600", USAGE_HOLD_GRACE_S="3600") as (stack, redis_server):
        account_id, key_id, key = new_customer(stack)
        with httpx.Client(base_url=stack.api_url, timeout=30) as http:
            assert [chat(http, key).status_code for _ in range(8)] == [200] * 8
        api = stack.processes["api"]
        os.kill(api.pid, signal.SIGTERM)  # gunicorn's graceful stop: each worker gets SIGTERM
        api.wait(timeout=60)
        params = {"account": account_id if stack.env["DATABASE_URL"].startswith("postgresql") else
                  uuid.UUID(account_id).hex}
        deadline, rows = time.time() + 60, []
        while time.time() < deadline and len(rows) < 8:
            time.sleep(1)
            rows = sql(stack, "SELECT status, cost_credits FROM usage_log WHERE account_id = :account", **params)
        assert [status for status, _ in rows] == ["success"] * 8
        assert_books_balance(stack, redis_server, account_id, key_id, rows)
