"""B3 chat pipeline (BENCHMARKS.md), without retrieval for now (issue 3 adds it).

Time from the request to the first ``agent_message`` of a streaming debug chat (memory on, a
stored summary recalled into the prompt) vs the local model's own time to first token for the
*same* messages sent straight to llama.cpp. Requests alternate (ours, floor, ours, ...) on one
idle model so both see the same prompt cache and machine noise. No worker runs: folds queue in the
broker instead of competing for the model while we measure.

    python -m bench.b3_chat_pipeline [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.harness import ROOT, Stack

SUMMARY = "The user is Ada, a tennis player from Paris who prefers short answers."
PRESET = "You are a friendly assistant. Answer in one sentence."
QUERY = "Suggest one way to warm up before a match."
MAX_TOKENS = 16


def first_event_ms(client: httpx.Client, url: str, body: dict, headers: dict, marker: str) -> float:
    """Milliseconds from sending the request to the first line containing ``marker``; the rest of
    the stream is drained so the model is idle for the next request."""
    started = time.perf_counter()
    first = None
    with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if first is None and marker in line:
                first = (time.perf_counter() - started) * 1000
    if first is None:
        raise RuntimeError(f"no {marker!r} in the stream from {url}")
    return first


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        stack = Stack(Path(workdir), {"DATABASE_URL": f"sqlite:///{workdir}/b3.db",
                                      "CELERY_BROKER_URL": f"sqla+sqlite:///{workdir}/broker.db",
                                      "STATE_STORE_URL": "database"})
        try:
            stack.start_llm()
            stack.migrate()
            stack.start_api()
            with httpx.Client(timeout=120) as client:
                api = stack.api_url
                token = client.post(f"{api}/auth/register", json={
                    "name": "bench", "email": f"b3-{uuid.uuid4().hex[:8]}@example.com", "password": "secret123",
                }).json()["data"]["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                app_id = client.post(f"{api}/apps", json={"name": "B3"}, headers=auth).json()["data"]["id"]
                client.post(f"{api}/apps/{app_id}/config", headers=auth, json={
                    "preset_prompt": PRESET, "memory_mode": "long_term_memory",
                    "model_config": {"dialog_round": 0, "parameters": {"temperature": 0.5, "top_p": 0.85,
                                                                         "max_tokens": MAX_TOKENS}},
                }).raise_for_status()
                client.post(f"{api}/apps/{app_id}/long-term-memory", headers=auth, json={"summary": SUMMARY})
                system = f"{PRESET}\n\nSummary of the conversation so far (long-term memory):\n{SUMMARY}"
                direct_body = {"model": "smollm2-135m", "stream": True, "temperature": 0.5, "top_p": 0.85,
                               "max_tokens": MAX_TOKENS, "stream_options": {"include_usage": True},
                               "messages": [{"role": "system", "content": system}, {"role": "user", "content": QUERY}]}
                ours_body = {"query": QUERY, "stream": True}
                ours_url = f"{api}/apps/{app_id}/debug"
                direct_url = f"{stack.llm_url}/chat/completions"
                for _ in range(3):  # warm-up: prompt cache, connection pools, imports
                    first_event_ms(client, ours_url, ours_body, auth, "event: agent_message")
                    first_event_ms(client, direct_url, direct_body, {}, '"content"')
                ours, floor = [], []
                for _ in range(rounds):
                    ours.append(first_event_ms(client, ours_url, ours_body, auth, "event: agent_message"))
                    floor.append(first_event_ms(client, direct_url, direct_body, {}, '"content"'))
        finally:
            stack.stop()
    overhead = [o - f for o, f in zip(ours, floor, strict=True)]
    return {
        "benchmark": "B3 chat pipeline (no retrieval yet)",
        "rounds": rounds,
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
                   f"{__import__('os').cpu_count()} cores",
        "ours_first_agent_message_ms": {"p50": statistics.median(ours), "p90": percentile(ours, 0.9)},
        "model_ttft_ms": {"p50": statistics.median(floor), "p90": percentile(floor, 0.9)},
        "overhead_ms": {"p50": statistics.median(overhead), "p90": percentile(overhead, 0.9)},
        "ratio_p50": statistics.median(ours) / statistics.median(floor),
        "target": "overhead p50 <= 30 ms",
    }


def table(result: dict) -> str:
    o, f, d = result["ours_first_agent_message_ms"], result["model_ttft_ms"], result["overhead_ms"]
    return "\n".join([
        f"B3, {result['rounds']} interleaved rounds on {result['machine']}:",
        "",
        "| measure | p50 ms | p90 ms |",
        "|---|---|---|",
        f"| debug chat → first `agent_message` (ours) | {o['p50']:.1f} | {o['p90']:.1f} |",
        f"| llama.cpp alone → first token (floor) | {f['p50']:.1f} | {f['p90']:.1f} |",
        f"| overhead (ours − floor, per pair) | {d['p50']:.1f} | {d['p90']:.1f} |",
        "",
        f"Ratio ours/floor at p50: **{result['ratio_p50']:.2f}×** (target: {result['target']}).",
    ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    result = run(args.rounds)
    out = ROOT / "bench" / "results" / "b3.json"
    out.write_text(json.dumps(result, indent=2))
    text = table(result)
    print(text)
    if args.update_readme:
        replace_block("b3", text)


def replace_block(name: str, text: str) -> None:
    """Put ``text`` between the README's ``<!-- bench:NAME -->`` markers."""
    readme = ROOT / "README.md"
    content = readme.read_text(encoding="utf-8")
    head, rest = content.split(f"<!-- bench:{name} -->", 1)
    _, tail = rest.split(f"<!-- /bench:{name} -->", 1)
    readme.write_text(f"{head}<!-- bench:{name} -->\n{text}\n<!-- /bench:{name} -->{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
