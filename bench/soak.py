"""Soak: a bounded mixed load for N minutes against the live stack on the production profile,
sampling every process's memory and file descriptors and the database connections.

    python -m bench.soak [--minutes 10] [--users 6] [--update-readme]

The stack: gunicorn (gevent, 2 workers), a Celery worker (2 processes) and beat, on
``LLMOPS_CONFIG=production`` with PostgreSQL (a fresh database), a ``redis-server`` of its own on a
free port and a ``chroma run`` server; model calls go to the B1/B2 fixture upstream
(``bench.fixture_upstream``), so what is measured is our processes, not a model. ``--users``
virtual users loop over a weighted mix — studio chat (SSE) on an app with a knowledge base, ``/v1``
streams, document uploads (indexed by the worker) and retrieval (``/datasets/:id/hit``) — each
waiting for its answer before the next request (bounded load).

Every 10 s: the RSS and open file descriptors of each process (and its children: gunicorn and
Celery pool workers), PostgreSQL connections to the database, Redis clients. The report gives, per
process, RSS and fds at the start of the second minute (after warm-up) and at the end, and the
least-squares trend over that span (MB / min), plus the requests by kind and every 5xx.
Bench code, not product code.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psutil
import yaml

from bench.harness import BIN, ROOT, Stack, free_port, report, wait_http

POSTGRES_ADMIN_URL = os.environ.get("SOAK_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SAMPLE_EVERY_S = 10
WARM_UP_S = 60
MIX = (("studio_chat", 4), ("v1_stream", 4), ("retrieval", 3), ("upload", 1))
TEXTS = [
    "Ocean tides are caused mainly by the Moon's gravity pulling on the Earth's oceans.",
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen in plant leaves.",
    "Volcanoes form where molten rock from the mantle reaches the surface through the crust.",
    "The heart pumps blood through arteries and veins, carrying oxygen to every organ.",
]


def fresh_database(name: str) -> str:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def database_connections(name: str) -> int:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        return int(conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()[0])


class Services:
    """The soak's own redis-server, chroma server and fixture upstream (stopped by ``stop``)."""

    def __init__(self, work: Path):
        self.work, self.processes, self.names = work, [], []
        self.redis_url = self.chroma_url = self.upstream_url = ""

    def _spawn(self, name: str, command: list[str], **env) -> subprocess.Popen:
        log = open(self.work / f"{name}.log", "ab")  # noqa: SIM115 — owned by the child
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **env}, start_new_session=True)
        self.processes.append(process)
        self.names.append(name)
        return process

    def start(self) -> None:
        port = free_port()
        self._spawn("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--dir", str(self.work)])
        self.redis_url = f"redis://127.0.0.1:{port}/0"
        port = free_port()
        self._spawn("chroma", [str(BIN / "chroma"), "run", "--path", str(self.work / "chroma"), "--host", "127.0.0.1",
                               "--port", str(port)], ANONYMIZED_TELEMETRY="False")
        self.chroma_url = f"http://127.0.0.1:{port}"
        port = free_port()
        self._spawn("upstream", [sys.executable, "-m", "bench.fixture_upstream", "--port", str(port), "--chunks", "20",
                                 "--chunk-delay-ms", "20"])
        self.upstream_url = f"http://127.0.0.1:{port}/v1"
        wait_http(f"{self.chroma_url}/api/v2/heartbeat", 90)
        wait_http(f"{self.upstream_url}/models", 30)
        import redis

        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                redis.Redis.from_url(self.redis_url).ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


class Load:
    """Virtual users over ``MIX``; counts requests by kind and status."""

    def __init__(self, api_url: str, token: str, key: str, app_id: str, dataset_id: str):
        self.api_url, self.key, self.app_id, self.dataset_id = api_url, key, app_id, dataset_id
        self.auth = {"Authorization": f"Bearer {token}"}
        self.counts: Counter = Counter()
        self.server_errors: list[str] = []
        self.lock = threading.Lock()

    def user(self, stop: threading.Event, seed: int) -> None:
        rng = random.Random(seed)
        kinds = [kind for kind, weight in MIX for _ in range(weight)]
        with httpx.Client(base_url=self.api_url, timeout=120) as http:
            while not stop.is_set():
                kind = rng.choice(kinds)
                try:
                    status = getattr(self, kind)(http, rng)
                except httpx.HTTPError as exc:
                    status = f"transport:{exc.__class__.__name__}"
                with self.lock:
                    self.counts[(kind, status)] += 1
                    if isinstance(status, int) and status >= 500 or isinstance(status, str):
                        self.server_errors.append(f"{kind} {status}")

    def studio_chat(self, http: httpx.Client, rng: random.Random) -> int:
        with http.stream("POST", f"/apps/{self.app_id}/debug", headers=self.auth,
                         json={"query": rng.choice(["What causes tides?", "How do volcanoes form?"]),
                               "stream": True}) as response:
            text = "".join(response.iter_text())
        return response.status_code if "event: agent_end" in text or response.status_code != 200 else 599

    def v1_stream(self, http: httpx.Client, rng: random.Random) -> int:
        with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {self.key}"},
                         json={"model": "bench-model", "messages": [{"role": "user", "content": "Hi"}],
                               "max_tokens": 32, "stream": True, "stream_options": {"include_usage": True}}) as response:
            text = "".join(response.iter_text())
        return response.status_code if "data: [DONE]" in text or response.status_code != 200 else 599

    def retrieval(self, http: httpx.Client, rng: random.Random) -> int:
        return http.post(f"/datasets/{self.dataset_id}/hit", headers=self.auth,
                         json={"query": rng.choice(["tides and the Moon", "plants make sugar"]),
                               "retrieval_strategy": rng.choice(["semantic", "full_text", "hybrid"]), "k": 3}).status_code

    def upload(self, http: httpx.Client, rng: random.Random) -> int:
        text = "\n\n".join(rng.sample(TEXTS, 3)) + f"\n\nNote {uuid.uuid4().hex}."
        uploaded = http.post("/upload-files", headers=self.auth,
                             files={"file": (f"note-{uuid.uuid4().hex[:6]}.txt", text.encode())})
        if uploaded.status_code != 201:
            return uploaded.status_code
        return http.post(f"/datasets/{self.dataset_id}/documents", headers=self.auth,
                         json={"upload_file_ids": [uploaded.json()["data"]["id"]]}).status_code


def processes_of(stack: Stack, services: Services) -> dict[str, psutil.Process]:
    """Every process to sample, by name (children: ``api/worker-<pid>``, ``worker/pool-<pid>``)."""
    found = {}
    for name, popen in [*stack.processes.items(), *zip(services.names, services.processes, strict=True)]:
        try:
            process = psutil.Process(popen.pid)
        except psutil.NoSuchProcess:
            continue
        found[name] = process
        for child in process.children(recursive=True):
            found[f"{name}/{child.pid}"] = child
    return found


def sample(stack: Stack, services: Services, database: str) -> dict:
    point: dict = {"t": time.time(), "rss_mb": {}, "fds": {}}
    for name, process in processes_of(stack, services).items():
        try:
            point["rss_mb"][name] = process.memory_info().rss / 2**20
            point["fds"][name] = process.num_fds()
        except psutil.Error:
            pass
    point["db_connections"] = database_connections(database)
    import redis

    point["redis_clients"] = int(redis.Redis.from_url(services.redis_url).info("clients")["connected_clients"])
    return point


def trend(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) → value per minute."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / spread if spread else 0.0


def summarize(samples: list[dict], started: float) -> dict:
    steady = [s for s in samples if s["t"] - started >= WARM_UP_S] or samples
    names = sorted({n for s in steady for n in s["rss_mb"]})
    per_process = {}
    for name in names:
        rss = [(s["t"], s["rss_mb"][name]) for s in steady if name in s["rss_mb"]]
        fds = [(s["t"], s["fds"][name]) for s in steady if name in s["fds"]]
        if len(rss) < 2:
            continue
        per_process[name] = {"rss_start_mb": round(rss[0][1], 1), "rss_end_mb": round(rss[-1][1], 1),
                             "rss_max_mb": round(max(v for _, v in rss), 1),
                             "rss_trend_mb_per_min": round(trend(rss), 2),
                             "fds_start": int(fds[0][1]), "fds_end": int(fds[-1][1]),
                             "fds_trend_per_min": round(trend(fds), 2)}
    db = [(s["t"], s["db_connections"]) for s in steady]
    return {"processes": per_process,
            "db_connections": {"start": db[0][1], "end": db[-1][1], "max": max(v for _, v in db),
                               "trend_per_min": round(trend(db), 2)},
            "redis_clients_max": max(s["redis_clients"] for s in steady)}


def run(minutes: float, users: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    services = Services(work)
    try:
        services.start()
    except BaseException:
        services.stop()
        raise
    registry = work / "models.yaml"
    registry.write_text(yaml.safe_dump({"providers": {"bench": {"base_url": services.upstream_url, "api_key_env": None,
                                                                "models": [{"name": "bench-model", "kind": "language",
                                                                            "context_window": 8192, "max_output": 256,
                                                                            "price": {"input": 1.0, "output": 2.0}}]}}}))
    database = "llmops_soak"
    try:
        database_url = fresh_database(database)
    except BaseException:
        services.stop()
        raise
    stack = Stack(work, {
        "LLMOPS_CONFIG": "production", "SECRET_KEY": secrets.token_urlsafe(48), "REGISTRATION": "open",
        "DATABASE_URL": database_url, "CELERY_BROKER_URL": services.redis_url,
        "STATE_STORE_URL": services.redis_url, "RATELIMIT_STORAGE_URI": services.redis_url,
        "CHROMA_URL": services.chroma_url, "MODEL_REGISTRY_PATH": str(registry),
        "DEFAULT_LLM_PROVIDER": "bench", "DEFAULT_LLM_MODEL": "bench-model", "NEW_ACCOUNT_CREDIT": str(10**12),
        "ACCESS_LOG": "0", "LOGIN_RATE_LIMIT": "1000 per minute", "UPLOAD_FOLDER": str(work / "uploads"),
    })
    samples: list[dict] = []
    try:
        stack.migrate()
        stack.start_api(workers=2)
        stack.start_worker(concurrency=2)
        stack._spawn("beat", [str(BIN / "celery"), "-A", "celery_app", "beat", "--schedule", str(work / "beat"),
                              "--loglevel", "INFO"])
        with httpx.Client(base_url=stack.api_url, timeout=60) as http:
            email = f"soak-{uuid.uuid4().hex[:8]}@example.com"
            token = http.post("/auth/register", json={"name": "Soak", "email": email, "password": "secret123"}
                              ).json()["data"]["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            key = http.post("/api-keys", json={"remark": "soak"}, headers=auth).json()["data"]["key"]
            dataset_id = http.post("/datasets", json={"name": "Soak"}, headers=auth).json()["data"]["id"]
            app_id = http.post("/apps", json={"name": "Soak bot"}, headers=auth).json()["data"]["id"]
            config = {"dataset_ids": [dataset_id], "model_config": {"provider": "bench", "model": "bench-model",
                                                                    "parameters": {"max_tokens": 64}}}
            assert http.post(f"/apps/{app_id}/config", json=config, headers=auth).status_code == 200
        load = Load(stack.api_url, token, key, app_id, dataset_id)
        load.upload(httpx.Client(base_url=stack.api_url, timeout=60), random.Random(0))  # something to retrieve
        stop = threading.Event()
        threads = [threading.Thread(target=load.user, args=(stop, seed), daemon=True) for seed in range(users)]
        started = time.time()
        for thread in threads:
            thread.start()
        deadline = started + minutes * 60
        while time.time() < deadline:
            samples.append(sample(stack, services, database))
            print(f"[soak] {int(time.time() - started)} s: {sum(load.counts.values())} requests, "
                  f"{len(load.server_errors)} 5xx/errors", flush=True)
            time.sleep(max(0.0, min(SAMPLE_EVERY_S, deadline - time.time())))
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        samples.append(sample(stack, services, database))
        elapsed = time.time() - started
    finally:
        stack.stop()
        services.stop()
    by_kind: Counter = Counter()
    for (kind, _status), count in load.counts.items():
        by_kind[kind] += count
    return {"benchmark": "soak", "machine": f"{platform.machine()}, {os.cpu_count()} cores", "minutes": round(elapsed / 60, 1),
            "users": users, "requests": dict(by_kind), "requests_total": sum(by_kind.values()),
            "server_errors": len(load.server_errors), "server_error_kinds": sorted(set(load.server_errors))[:10],
            "statuses": {f"{k} {s}": c for (k, s), c in sorted(load.counts.items(), key=str)},
            **summarize(samples, started),
            "samples": [{**s, "t": round(s["t"] - started, 1)} for s in samples]}


def table(r: dict) -> str:
    lines = [f"Soak on {r['machine']}: {r['minutes']} min, {r['users']} users looping over studio chat (SSE, with "
             f"retrieval), /v1 streams, retrieval and uploads — {r['requests_total']} requests "
             f"({', '.join(f'{k} {v}' for k, v in sorted(r['requests'].items()))}), **{r['server_errors']} 5xx or "
             "failed streams**. Production profile (PostgreSQL, Redis, Chroma server), fixture upstream. "
             f"After a {WARM_UP_S} s warm-up:", "",
             "| process | RSS start → end MB | RSS trend MB/min | fds start → end | fds trend /min |",
             "|---|---|---|---|---|"]
    for name, p in r["processes"].items():
        lines.append(f"| {name} | {p['rss_start_mb']} → {p['rss_end_mb']} | {p['rss_trend_mb_per_min']} "
                     f"| {p['fds_start']} → {p['fds_end']} | {p['fds_trend_per_min']} |")
    db = r["db_connections"]
    lines += ["", f"PostgreSQL connections: {db['start']} → {db['end']} (max {db['max']}, trend {db['trend_per_min']}/min); "
                  f"Redis clients at most {r['redis_clients_max']}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    result = run(args.minutes, args.users)
    report("soak", result, table(result), args.update_readme)


if __name__ == "__main__":
    main()
