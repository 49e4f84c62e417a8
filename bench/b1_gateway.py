"""B1 gateway overhead (README "Performance"): ``/v1/chat/completions`` stream and non-stream at
concurrency 1, 16, 64 — straight to the upstream (the floor), through our gateway, and through
the LiteLLM proxy (its own virtualenv, created here on first use) — in one run, interleaved.

Our gateway runs the production profile (gunicorn + gevent, PostgreSQL, Redis quota ledger) with
one worker process; LiteLLM gets one worker too. The upstream is ``bench.fixture_upstream``
(fixed answer, fixed per-chunk delay). The load generator is one asyncio process (httpx). Each
gateway's CPU time per request (its processes' user + system time over the timed requests) is
reported too: on a shared machine it moves far less than latencies do.

    python -m bench.b1_gateway [--concurrency 1 16 64] [--requests 400] [--no-litellm] [--update-readme]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import yaml

from bench.harness import ROOT, Stack, free_port, report, wait_http

LITELLM_VENV = ROOT / "bench" / ".venv-litellm"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/13"
MESSAGES = [{"role": "user", "content": "Say something short."}]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ensure_litellm() -> Path:
    """The LiteLLM proxy in its own virtualenv (installed from PyPI on first use)."""
    binary = LITELLM_VENV / "bin" / "litellm"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "--quiet", "litellm[proxy]"], check=True)
    return binary


def fresh_database(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def gateway_stack(work: Path, upstream: str, database: str, **env: str) -> tuple[Stack, str]:
    """Our api (production profile: gunicorn + gevent with one worker, PostgreSQL, Redis) with a
    registry whose only model, ``bench-model``, is served by ``upstream`` → (stack, API key)."""
    registry = work / "models.yaml"
    registry.write_text(yaml.safe_dump({"providers": {"bench": {"base_url": upstream, "api_key_env": None, "models": [
        {"name": "bench-model", "kind": "language", "context_window": 8192, "max_output": 256,
         "price": {"input": 1.0, "output": 2.0}}]}}}))
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    stack = Stack(work, {"DATABASE_URL": fresh_database(database), "CELERY_BROKER_URL": REDIS_URL,
                         "STATE_STORE_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": REDIS_URL,
                         "MODEL_REGISTRY_PATH": str(registry), "CHROMA_PATH": str(work / "chroma"),
                         # the model is priced: the benchmark account starts with $1M, so every request
                         # goes through the account-and-key reservation a paying user's would
                         "NEW_ACCOUNT_CREDIT": str(10**12), **env})
    try:
        stack.migrate()
        stack.start_api(workers=1)
        with httpx.Client(base_url=stack.api_url, timeout=30) as client:
            email = f"{database}-{uuid.uuid4().hex[:8]}@example.com"
            token = client.post("/auth/register", json={"name": database, "email": email, "password": "secret123"}
                                ).json()["data"]["access_token"]
            key = client.post("/api-keys", json={"remark": database}, headers={"Authorization": f"Bearer {token}"}
                              ).json()["data"]["key"]
    except BaseException:
        stack.stop()
        raise
    return stack, key


async def one(client: httpx.AsyncClient, url: str, headers: dict, stream: bool) -> tuple[float, float]:
    """(ms to the first content chunk or the body, ms to the end) of one request."""
    body = {"model": "bench-model", "messages": MESSAGES, "max_tokens": 32, "stream": stream}
    started = time.perf_counter()
    if not stream:
        response = await client.post(url, json=body, headers=headers)
        response.raise_for_status()
        response.json()
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, elapsed
    first = None
    async with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if first is None and '"content"' in line:
                first = (time.perf_counter() - started) * 1000
            if line.startswith("data: [DONE]"):
                break
    return first or 0.0, (time.perf_counter() - started) * 1000


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system, seconds) used so far by process ``pid`` and its descendants (Linux
    ``/proc``); 0 without a pid."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


async def load(url: str, headers: dict, stream: bool, concurrency: int, total: int, pid: int | None = None) -> dict:
    """``total`` requests, ``concurrency`` at a time → latencies, requests/s and (``pid``: the
    gateway's process) its CPU milliseconds per request — the figure a noisy shared machine
    disturbs least."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for _ in range(min(20, total)):  # warm-up: connections, caches
            await one(client, url, headers, stream)
        queue = list(range(total))
        firsts, totals, errors = [], [], 0

        async def worker():
            nonlocal errors
            while queue:
                queue.pop()
                try:
                    first, end = await one(client, url, headers, stream)
                    firsts.append(first)
                    totals.append(end)
                except httpx.HTTPError:
                    errors += 1

        started, cpu = time.perf_counter(), cpu_seconds(pid)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu
    return {"rps": round(len(totals) / elapsed, 1), "errors": errors,
            "cpu_ms_per_request": round(1000 * cpu / max(len(totals), 1), 2) if pid else None,
            "p50_ms": round(statistics.median(totals), 2), "p99_ms": round(percentile(totals, 0.99), 2),
            "first_p50_ms": round(statistics.median(firsts), 2)}


def run(concurrencies: list[int], requests: int, with_litellm: bool) -> dict:
    work = Path(tempfile.mkdtemp(prefix="b1-"))
    processes: list[subprocess.Popen] = []
    upstream_port = free_port()
    processes.append(subprocess.Popen([sys.executable, "-m", "bench.fixture_upstream", "--port", str(upstream_port)],
                                      cwd=ROOT))
    upstream = f"http://127.0.0.1:{upstream_port}/v1"
    wait_http(f"{upstream}/models", 30)
    targets = {"direct": (f"{upstream}/chat/completions", {}, None)}
    try:
        stack, key = gateway_stack(work, upstream, "llmops_b1")
    except BaseException:
        processes[0].terminate()
        raise
    try:
        targets["ours"] = (f"{stack.api_url}/v1/chat/completions", {"Authorization": f"Bearer {key}"},
                           stack.processes["api"].pid)
        if with_litellm:
            port, master = free_port(), "sk-bench-" + uuid.uuid4().hex
            config = work / "litellm.yaml"
            config.write_text(yaml.safe_dump({"model_list": [{"model_name": "bench-model", "litellm_params": {
                "model": "openai/bench-model", "api_base": upstream, "api_key": "none"}}]}))
            log = open(work / "litellm.log", "wb")  # noqa: SIM115 — held by the process
            processes.append(subprocess.Popen(
                [str(ensure_litellm()), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
                 "--num_workers", "1"], stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "LITELLM_MASTER_KEY": master, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                     "LITELLM_TELEMETRY": "False"}))
            # LiteLLM imports for minutes on a busy machine
            wait_http(f"http://127.0.0.1:{port}/health/liveliness", 600, processes[-1], work / "litellm.log")
            targets["litellm"] = (f"http://127.0.0.1:{port}/v1/chat/completions", {"Authorization": f"Bearer {master}"},
                                  processes[-1].pid)
        results: dict = {}
        for concurrency in concurrencies:
            for stream in (False, True):
                row = {}
                for name, (url, headers, pid) in targets.items():
                    row[name] = asyncio.run(load(url, headers, stream, concurrency, requests, pid))
                results[f"c{concurrency}-{'stream' if stream else 'json'}"] = row
    finally:
        stack.stop()
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
    return {"benchmark": "B1 gateway overhead", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "requests_per_point": requests, "upstream": "10 chunks, 5 ms apart", "results": results}


def table(r: dict) -> str:
    has_litellm = any("litellm" in row for row in r["results"].values())
    lines = [f"B1 on {r['machine']}, {r['requests_per_point']} requests a point, upstream {r['upstream']}, "
             "one worker process per gateway (ours: gunicorn+gevent, PostgreSQL, Redis):", "",
             "| point | direct p50 / p99 ms | ours p50 / p99 ms | added p50 / p99 ms | ours req/s"
             + (" | LiteLLM p50 / p99 ms | LiteLLM req/s | req/s ours ÷ LiteLLM" if has_litellm else "")
             + " | first-chunk overhead p50 ms | CPU ms per request ours" + (" / LiteLLM" if has_litellm else "") + " |",
             "|---|---|---|---|---" + ("|---|---|---" if has_litellm else "") + "|---|---|"]
    for point, row in r["results"].items():
        d, o = row["direct"], row["ours"]
        line = (f"| {point} | {d['p50_ms']} / {d['p99_ms']} | {o['p50_ms']} / {o['p99_ms']} "
                f"| {o['p50_ms'] - d['p50_ms']:.2f} / {o['p99_ms'] - d['p99_ms']:.2f} | {o['rps']} ")
        if has_litellm:
            lite = row["litellm"]
            line += f"| {lite['p50_ms']} / {lite['p99_ms']} | {lite['rps']} | {o['rps'] / lite['rps']:.2f}× "
        overhead = o["first_p50_ms"] - d["first_p50_ms"] if point.endswith("stream") else float("nan")
        line += f"| {overhead:.2f} " if point.endswith("stream") else "| — "
        cpu = [row[name].get("cpu_ms_per_request") for name in ("ours", "litellm") if name in row]
        line += "| " + " / ".join("—" if c is None else f"{c:.2f}" for c in cpu) + " |"
        lines.append(line)
    errors = {p: {n: v["errors"] for n, v in row.items() if v["errors"]} for p, row in r["results"].items()}
    errors = {p: e for p, e in errors.items() if e}
    lines += ["", f"Errors: {errors or 'none'}. Targets at c=16: added p50 ≤ 2 ms, p99 ≤ 15 ms; "
              "req/s ≥ 2× LiteLLM; first-chunk overhead ≤ 3 ms."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    result = run(args.concurrency, args.requests, not args.no_litellm)
    report("b1", result, table(result), args.update_readme)


if __name__ == "__main__":
    main()
