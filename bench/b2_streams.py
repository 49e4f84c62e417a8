"""B2 open streams (README "Performance"): N = 1,000 concurrent ``/v1/chat/completions`` streams through
one api process (gunicorn + gevent, one worker), each held open for seconds by the upstream.
All must complete with zero errors; the api process's memory growth per open stream is reported
(resident memory at the peak of open streams minus after warm-up, divided by N).

    python -m bench.b2_streams [--streams 1000] [--update-readme]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from bench.b1_gateway import gateway_stack
from bench.harness import ROOT, Stack, free_port, report, wait_http

CHUNKS, DELAY_MS = 40, 150  # each stream stays open about 6 s


def rss_of_api(stack: Stack) -> int:
    """Resident bytes of the api's gunicorn worker (the one process serving the streams)."""
    master = psutil.Process(stack.processes["api"].pid)
    return sum(child.memory_info().rss for child in master.children(recursive=True))


async def run_streams(url: str, headers: dict, count: int, stack: Stack) -> dict:
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=count + 10)
    opened, done, errors, peak = 0, 0, [], 0
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        body = {"model": "bench-model", "messages": [{"role": "user", "content": "long answer"}], "stream": True}

        async def one():
            nonlocal opened, done
            try:
                async with client.stream("POST", url, json=body, headers=headers) as response:
                    response.raise_for_status()
                    opened += 1
                    chunks = 0
                    async for line in response.aiter_lines():
                        if line.startswith("data: [DONE]"):
                            break
                        if '"content"' in line:
                            chunks += 1
                    if chunks != CHUNKS:
                        errors.append(f"{chunks} chunks")
                done += 1
            except httpx.HTTPError as exc:
                errors.append(exc.__class__.__name__)

        async def sample():
            nonlocal peak
            while done + len(errors) < count:
                if opened - done >= count * 0.95:
                    peak = max(peak, rss_of_api(stack))
                await asyncio.sleep(0.2)

        started = time.perf_counter()
        await asyncio.gather(sample(), *(one() for _ in range(count)))
        elapsed = time.perf_counter() - started
    return {"completed": done, "errors": len(errors), "error_kinds": sorted(set(errors))[:5], "seconds": round(elapsed, 1),
            "peak_rss": peak}


def run(count: int) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))  # inherited by the processes
    work = Path(tempfile.mkdtemp(prefix="b2-"))
    port = free_port()
    upstream_process = subprocess.Popen([sys.executable, "-m", "bench.fixture_upstream", "--port", str(port),
                                         "--chunks", str(CHUNKS), "--chunk-delay-ms", str(DELAY_MS)], cwd=ROOT)
    upstream = f"http://127.0.0.1:{port}/v1"
    wait_http(f"{upstream}/models", 30)
    try:
        stack, key = gateway_stack(work, upstream, "llmops_b2", ACCESS_LOG="0")
    except BaseException:
        upstream_process.terminate()
        raise
    try:
        url, headers = f"{stack.api_url}/v1/chat/completions", {"Authorization": f"Bearer {key}"}
        asyncio.run(run_streams(url, headers, 50, stack))  # warm-up: imports, pools, first allocations
        baseline = rss_of_api(stack)
        result = asyncio.run(run_streams(url, headers, count, stack))
    finally:
        stack.stop()
        upstream_process.terminate()
        upstream_process.wait(timeout=20)
    growth = max(result["peak_rss"] - baseline, 0)
    return {"benchmark": "B2 open streams", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "streams": count, "stream_length": f"{CHUNKS} chunks, {DELAY_MS} ms apart", **result,
            "baseline_rss_mb": round(baseline / 2**20, 1), "peak_rss_mb": round(result["peak_rss"] / 2**20, 1),
            "growth_per_stream_kb": round(growth / count / 1024, 1), "target": "all complete, 0 errors, <= 100 KB/stream"}


def table(r: dict) -> str:
    return "\n".join([
        f"B2 on {r['machine']}: {r['streams']} concurrent streams ({r['stream_length']}) through one gunicorn+gevent "
        "worker:", "",
        "| completed | errors | wall s | api RSS after warm-up MB | api RSS, all streams open MB | growth per stream KB |",
        "|---|---|---|---|---|---|",
        f"| {r['completed']} | {r['errors']} | {r['seconds']} | {r['baseline_rss_mb']} | {r['peak_rss_mb']} "
        f"| {r['growth_per_stream_kb']} |", "",
        f"Target: {r['target']}.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    result = run(args.streams)
    report("b2", result, table(result), args.update_readme)


if __name__ == "__main__":
    main()
