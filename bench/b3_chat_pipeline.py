"""B3 chat pipeline (README "Performance"): request → first ``agent_message`` of a streaming debug chat
with long-term memory on (a stored summary recalled into the prompt) and hybrid retrieval (k=4)
over a 10k-segment dataset bound to the app, vs the local model's own time to first token for
the *same* messages (same system prompt, same retrieved context) sent straight to llama.cpp.
Requests alternate (ours, floor, ours, ...) on one idle model so both see the same prompt cache
and machine noise. No worker runs: folds queue in the broker instead of competing for the model.

The dataset is written before the api starts, with the product's own index code
(``bench.b5_retrieval.build_dataset``: B5's synthetic corpus and its cached vectors).

    python -m bench.b3_chat_pipeline [--rounds 30] [--segments 10000]
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

from bench.harness import Stack, report

SUMMARY = "The user is Ada, a tennis player from Paris who prefers short answers."
PRESET = "You are a friendly assistant. Answer in one sentence."
QUERY = "Suggest one way to warm up before a match."
MAX_TOKENS = 16
PASSWORD = "secret123"


def build_corpus(workdir: Path, env: dict, segments: int) -> tuple[str, str]:
    """An account and a ``segments``-segment dataset in the stack's database and Chroma → (e-mail, dataset id)."""
    import numpy as np

    from bench.b5_retrieval import build_dataset, corpus_vectors, sentences, vocabulary
    from config import Config, celery_settings
    from llmops import create_app

    app = create_app(Config, SQLALCHEMY_DATABASE_URI=env["DATABASE_URL"], CHROMA_PATH=env["CHROMA_PATH"], CHROMA_URL=None,
                     CELERY=celery_settings(env["CELERY_BROKER_URL"], 600), STATE_STORE_URL="database",
                     QUOTA_STORE_URL="database", INSTANCE_DIR=workdir / "build", UPLOAD_FOLDER=str(workdir / "uploads"))
    with app.app_context():
        from llmops.extensions import db
        from llmops.models import Account, UploadFile
        from llmops.runtime import runtime
        from llmops.services.core import account_service

        rng = np.random.default_rng(5)  # B5's corpus: its cached vectors are reused
        texts = sentences(segments, vocabulary(20000, rng), rng)
        vectors = corpus_vectors(texts, runtime().embedding_model)
        email = f"b3-{uuid.uuid4().hex[:8]}@example.com"
        account_service.register("bench", email, PASSWORD)
        account_id = db.session.query(Account).filter_by(email=email).one().id
        upload = UploadFile(account_id=account_id, name="b3.txt", key="-", size=1, extension="txt", hash="0")
        db.session.add(upload)
        db.session.flush()
        dataset_id, _ = build_dataset(account_id, upload.id, "b3", texts, vectors)
        db.engine.dispose()
    return email, str(dataset_id)


def floor_system_prompt(records: list[dict]) -> str:
    """The system prompt the product builds for this turn (preset, memory, retrieved context)."""
    from llmops.providers.tokens import estimate_messages_tokens
    from llmops.services.studio.chat_service import CONTEXT_SAFETY_MARGIN, context_block

    system = f"{PRESET}\n\nSummary of the conversation so far (long-term memory):\n{SUMMARY}"
    budget = int(4096 * (1 - CONTEXT_SAFETY_MARGIN)) - MAX_TOKENS
    messages = [{"role": "system", "content": system}, {"role": "user", "content": QUERY}]
    return system + context_block(records, budget - estimate_messages_tokens(messages))


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


def run(rounds: int, segments: int = 10000) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        env = {"DATABASE_URL": f"sqlite:///{workdir}/b3.db", "CELERY_BROKER_URL": f"sqla+sqlite:///{workdir}/broker.db",
               "STATE_STORE_URL": "database", "CHROMA_PATH": str(work / "chroma")}
        stack = Stack(work, env)
        try:
            stack.migrate()
            email, dataset_id = build_corpus(work, env, segments)
            stack.start_llm()
            stack.start_api()
            with httpx.Client(timeout=120) as client:
                api = stack.api_url
                token = client.post(f"{api}/auth/password-login", json={"email": email, "password": PASSWORD}
                                    ).json()["data"]["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                app_id = client.post(f"{api}/apps", json={"name": "B3"}, headers=auth).json()["data"]["id"]
                client.post(f"{api}/apps/{app_id}/config", headers=auth, json={
                    "preset_prompt": PRESET, "memory_mode": "long_term_memory",
                    "dataset_ids": [dataset_id],
                    "retrieval_config": {"retrieval_strategy": "hybrid", "k": 4, "score": 0},
                    "model_config": {"dialog_round": 0, "parameters": {"temperature": 0.5, "top_p": 0.85,
                                                                         "max_tokens": MAX_TOKENS}},
                }).raise_for_status()
                client.post(f"{api}/apps/{app_id}/long-term-memory", headers=auth, json={"summary": SUMMARY})
                ours_body = {"query": QUERY, "stream": True}
                ours_url = f"{api}/apps/{app_id}/debug"
                records = retrieved_records(client, ours_url, ours_body, auth)
                direct_body = {"model": "smollm2-135m", "stream": True, "temperature": 0.5, "top_p": 0.85,
                               "max_tokens": MAX_TOKENS, "stream_options": {"include_usage": True},
                               "messages": [{"role": "system", "content": floor_system_prompt(records)},
                                            {"role": "user", "content": QUERY}]}
                direct_url = f"{stack.llm_url}/chat/completions"
                for _ in range(3):  # warm-up: prompt cache, connection pools, imports, the full-text snapshot
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
        "benchmark": "B3 chat pipeline",
        "rounds": rounds,
        "segments": segments,
        "retrieved": len(records),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
                   f"{__import__('os').cpu_count()} cores",
        "ours_first_agent_message_ms": {"p50": statistics.median(ours), "p90": percentile(ours, 0.9)},
        "model_ttft_ms": {"p50": statistics.median(floor), "p90": percentile(floor, 0.9)},
        "overhead_ms": {"p50": statistics.median(overhead), "p90": percentile(overhead, 0.9)},
        "ratio_p50": statistics.median(ours) / statistics.median(floor),
        "target": "overhead p50 <= 30 ms",
    }


def retrieved_records(client: httpx.Client, url: str, body: dict, headers: dict) -> list[dict]:
    """The records of the ``dataset_retrieval`` event of one streamed turn."""
    with client.stream("POST", url, json=body, headers=headers) as response:
        response.raise_for_status()
        event = None
        records: list[dict] = []
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "dataset_retrieval":
                records = json.loads(line[6:])["records"]
    if not records:
        raise RuntimeError("the bound dataset returned no records")
    return records


def table(result: dict) -> str:
    o, f, d = result["ours_first_agent_message_ms"], result["model_ttft_ms"], result["overhead_ms"]
    return "\n".join([
        f"B3, {result['rounds']} interleaved rounds on {result['machine']}; memory on, hybrid retrieval "
        f"(k=4, {result.get('retrieved', 0)} records) over {result.get('segments', 0):,} segments:",
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
    parser.add_argument("--segments", type=int, default=10000)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    result = run(args.rounds, args.segments)
    report("b3", result, table(result), args.update_readme)


if __name__ == "__main__":
    main()
