"""B4 ingestion (README "Performance"): upload → ``completed`` for a mixed corpus (md, html, docx, pdf),
through the api and one real worker, vs the embedding model alone on the very same segments
(the CPU floor), measured in one run.

    python -m bench.b4_ingestion [--megabytes 5] [--update-readme]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from bench.harness import Stack, report

WORDS = [
    "system", "model", "data", "energy", "river", "planet", "market", "language", "network", "protein",
    "city", "music", "history", "engine", "signal", "theory", "garden", "ocean", "forest", "camera",
    "budget", "policy", "climate", "vaccine", "rocket",
]
HANZI = "长城熊猫茶叶高铁月饼丝绸火山海洋森林城市音乐历史能源数据模型网络语言市场气候疫苗火箭"


def sentence(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return "".join(rng.choice(HANZI) for _ in range(rng.randint(12, 30))) + "。"
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    chinese = rng.random() < 0.3
    return ("" if chinese else " ").join(sentence(rng, chinese) for _ in range(rng.randint(3, 7)))


def make_corpus(folder: Path, megabytes: float, seed: int = 7) -> list[Path]:
    """md, html, docx and pdf files totalling at least ``megabytes`` MB."""
    from tests.fixtures.files import docx_bytes, pdf_bytes

    rng = random.Random(seed)
    target = int(megabytes * 1024 * 1024)
    files: list[Path] = []
    total, index = 0, 0
    while total < target:
        kind = ("md", "html", "docx", "pdf")[index % 4]
        paragraphs = [paragraph(rng) for _ in range(120)]
        path = folder / f"doc{index:03d}.{kind}"
        if kind == "md":
            data = ("\n\n".join(f"## Section {i}\n\n{p}" for i, p in enumerate(paragraphs))).encode()
        elif kind == "html":
            data = ("<html><body>" + "".join(f"<h2>Part {i}</h2><p>{p}</p>" for i, p in enumerate(paragraphs))
                    + "</body></html>").encode()
        elif kind == "docx":
            data = docx_bytes(paragraphs)
        else:  # Helvetica cannot show Chinese: English lines only
            lines = [sentence(rng, False) for _ in range(400)]
            data = pdf_bytes(lines)
        path.write_bytes(data)
        files.append(path)
        total += len(data)
        index += 1
    return files


def run(megabytes: float, concurrency: int) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        corpus_dir = work / "corpus"
        corpus_dir.mkdir()
        files = make_corpus(corpus_dir, megabytes)
        corpus_bytes = sum(f.stat().st_size for f in files)
        stack = Stack(work, {"DATABASE_URL": f"sqlite:///{work}/b4.db", "CELERY_BROKER_URL": f"sqla+sqlite:///{work}/broker.db",
                             "STATE_STORE_URL": "database", "CHROMA_PATH": str(work / "chroma")})
        try:
            stack.migrate()
            stack.start_api()
            stack.start_worker(concurrency=concurrency)
            with httpx.Client(base_url=stack.api_url, timeout=300) as client:
                token = client.post("/auth/register", json={"name": "b4", "email": f"b4-{uuid.uuid4().hex[:8]}@example.com",
                                                            "password": "secret123"}).json()["data"]["access_token"]
                auth = {"Authorization": f"Bearer {token}"}
                dataset_id = client.post("/datasets", json={"name": "B4"}, headers=auth).json()["data"]["id"]
                # warm the worker's embedding model so the run measures ingestion, not model loading
                warm = client.post("/upload-files", files={"file": ("warm.txt", b"warm up")}, headers=auth).json()["data"]["id"]
                batch = client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": [warm]},
                                    headers=auth).json()["data"]["batch"]
                _wait(client, auth, dataset_id, batch)
                started = time.perf_counter()
                ids = [client.post("/upload-files", files={"file": (f.name, f.read_bytes())}, headers=auth).json()["data"]["id"]
                       for f in files]
                batches = []
                for start in range(0, len(ids), 10):
                    batches.append(client.post(f"/datasets/{dataset_id}/documents", json={"upload_file_ids": ids[start:start + 10]},
                                               headers=auth).json()["data"]["batch"])
                progress = [d for b in batches for d in _wait(client, auth, dataset_id, b)]
                total_s = time.perf_counter() - started
                assert all(d["status"] == "completed" for d in progress), [d for d in progress if d["status"] != "completed"][:2]
                segments = []
                for document in progress:
                    page = 1
                    while True:
                        data = client.get(f"/datasets/{dataset_id}/documents/{document['id']}/segments",
                                          params={"current_page": page, "page_size": 50}, headers=auth).json()["data"]
                        segments.extend(s["content"] for s in data["list"])
                        if page >= data["paginator"]["total_page"]:
                            break
                        page += 1
        finally:
            stack.stop()
    from llmops.providers.embeddings import LocalEmbeddings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = LocalEmbeddings(batch_size=64)
    model.embed(["warm up"])
    floor_started = time.perf_counter()
    model.embed(segments)
    floor_s = time.perf_counter() - floor_started
    return {
        "benchmark": "B4 ingestion", "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "worker_processes": concurrency,
        "files": len(files), "corpus_mb": round(corpus_bytes / 1024 / 1024, 2), "segments": len(segments),
        "total_s": round(total_s, 2), "embedding_floor_s": round(floor_s, 2), "ratio": round(total_s / floor_s, 3),
        "segments_per_s": round(len(segments) / total_s, 1), "floor_segments_per_s": round(len(segments) / floor_s, 1),
        "target": "total <= 1.3 x floor",
    }


def _wait(client, auth, dataset_id, batch, timeout=3600) -> list[dict]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        progress = client.get(f"/datasets/{dataset_id}/documents/batch/{batch}", headers=auth).json()["data"]
        if all(d["status"] in ("completed", "error") for d in progress):
            return progress
        time.sleep(0.5)
    raise TimeoutError(f"batch {batch} did not finish")


def table(r: dict) -> str:
    return "\n".join([
        f"B4, {r['files']} files ({r['corpus_mb']} MB: md, html, docx, pdf), {r['segments']} segments, one Celery worker "
        f"with {r.get('worker_processes', 1)} pool processes (as `make run`), {r['machine']}:",
        "",
        "| measure | seconds | segments/s |",
        "|---|---|---|",
        f"| upload → all `completed` (ours) | {r['total_s']} | {r['segments_per_s']} |",
        f"| embedding model alone, same segments (floor) | {r['embedding_floor_s']} | {r['floor_segments_per_s']} |",
        "",
        f"Ratio ours/floor: **{r['ratio']}×** (target: {r['target']}).",
    ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--worker-concurrency", type=int, default=2,
                        help="pool processes of the one Celery worker (make run uses 2)")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    result = run(args.megabytes, args.worker_concurrency)
    report("b4", result, table(result), args.update_readme)


if __name__ == "__main__":
    main()
