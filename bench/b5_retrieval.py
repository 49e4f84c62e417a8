"""B5 retrieval (README "Performance"): hit testing at 10k and 100k segments — semantic, full_text,
hybrid — vs exact brute-force top-k with numpy over the same vectors, in one run.

Segments are synthetic sentences over a Zipf-distributed vocabulary of 20,000 words (so term
statistics look like text), embedded with the real local model and written with the product's
own index code (``write_postings``, ``VectorStore.upsert``). Queries are perturbed segments. The
measured call is ``retrieval_service.retrieve`` (what ``POST /datasets/:id/hit`` runs, query
log and hit counts included), in-process, without HTTP.

    python -m bench.b5_retrieval [--sizes 10000 100000] [--queries 50] [--update-readme]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from bench.harness import ROOT, report

SYLLABLES = "ka lo mi ne ru sa te vo zi pa be do fu gi ha jo ku li mo nu".split()


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 5)))))
    return sorted(words)


def sentences(count: int, vocab: list[str], rng: np.random.Generator) -> list[str]:
    ranks = np.minimum(rng.zipf(1.15, size=(count, 20)) - 1, len(vocab) - 1)
    lengths = rng.integers(10, 21, size=count)
    return [" ".join(vocab[r] for r in ranks[i, :lengths[i]]) + "." for i in range(count)]


def corpus_vectors(texts: list[str], model) -> np.ndarray:
    """The corpus's vectors, kept between runs in ``bench/results`` (100k sentences take minutes)."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cache = ROOT / "bench" / "results" / f".b5-vectors-{len(texts)}-{digest}.npy"
    if cache.exists():
        return np.load(cache)
    vectors = np.asarray(model.embed(texts), dtype=np.float32)
    np.save(cache, vectors)
    return vectors


def build_dataset(account_id: uuid.UUID, upload_id: uuid.UUID, name: str, texts: list[str],
                  vectors: np.ndarray) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A completed one-document dataset of ``texts`` written with the product's own index code
    (segment rows, ``write_postings``, ``VectorStore.upsert``) → (dataset id, segment ids)."""
    from llmops.extensions import db
    from llmops.models import Dataset, Document, Segment
    from llmops.runtime import runtime
    from llmops.services.knowledge import indexing_service

    dataset = Dataset(account_id=account_id, name=name)
    db.session.add(dataset)
    db.session.flush()
    document = Document(account_id=account_id, dataset_id=dataset.id, upload_file_id=upload_id, batch="bench",
                        name=f"{name}.txt", status="completed", process_rule={}, segment_count=len(texts),
                        completed_segment_count=len(texts))
    db.session.add(document)
    db.session.flush()
    ids = [uuid.uuid4() for _ in texts]
    for start in range(0, len(texts), 5000):
        chunk = [Segment(id=ids[i], account_id=account_id, dataset_id=dataset.id, document_id=document.id,
                         position=i + 1, content=texts[i], content_hash=str(i), status="completed")
                 for i in range(start, min(start + 5000, len(texts)))]
        db.session.add_all(chunk)
        db.session.flush()
        indexing_service.write_postings(chunk)
        runtime().vector_store.upsert(dataset.id, [str(s.id) for s in chunk], vectors[start:start + len(chunk)].tolist(),
                                  [{"document_id": str(document.id), "dataset_id": str(dataset.id), "enabled": True}
                                   for _ in chunk])
        db.session.commit()
    indexing_service.mark_index_changed(dataset.id)
    db.session.commit()
    return dataset.id, ids


def run(sizes: list[int], queries: int) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from config import TestingConfig, celery_settings
    from llmops import create_app

    rng = np.random.default_rng(5)
    largest = max(sizes)
    vocab = vocabulary(20000, rng)
    texts = sentences(largest, vocab, rng)
    results = {"benchmark": "B5 retrieval", "machine": f"{platform.machine()}, {os.cpu_count()} cores", "sizes": {}}
    with tempfile.TemporaryDirectory() as workdir:
        app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{workdir}/b5.db",
                         CELERY=celery_settings(f"sqla+sqlite:///{workdir}/broker.db", 600), STATE_STORE_URL="database",
                         CHROMA_PATH=f"{workdir}/chroma", CHROMA_URL=None, INSTANCE_DIR=Path(workdir),
                         UPLOAD_FOLDER=f"{workdir}/uploads")
        with app.app_context():
            from flask_migrate import upgrade

            from llmops.extensions import db
            from llmops.models import Account, Dataset, UploadFile
            from llmops.runtime import runtime
            from llmops.services.knowledge import retrieval_service

            upgrade()
            model = runtime().embedding_model
            started = time.perf_counter()
            vectors = corpus_vectors(texts, model)
            embed_s = time.perf_counter() - started
            account = Account(name="b5", email="b5@example.com", password_hash="x")
            db.session.add(account)
            db.session.flush()
            account_id = account.id
            upload = UploadFile(account_id=account_id, name="b5.txt", key="-", size=1, extension="txt", hash="0")
            db.session.add(upload)
            db.session.flush()
            upload_id = upload.id
            picks = rng.choice(largest, size=queries, replace=False)
            query_texts = []
            for i in picks:
                words = texts[int(i)].rstrip(".").split()
                keep = rng.random(len(words)) > 0.3
                query_texts.append(" ".join(w for w, k in zip(words, keep, strict=True) if k) or words[0])
            query_vectors = np.asarray(model.embed(query_texts), dtype=np.float32)
            for size in sorted(sizes):
                build_started = time.perf_counter()
                dataset_id, ids = build_dataset(account_id, upload_id, f"b5-{size}", texts[:size], vectors[:size])
                build_s = time.perf_counter() - build_started
                dataset = db.session.get(Dataset, dataset_id)
                # the first full-text query after a change builds the process's snapshot: timed apart
                snapshot_started = time.perf_counter()
                retrieval_service.retrieve(account_id, [dataset.id], query_texts[0], "full_text", k=10)
                db.session.commit()
                snapshot_s = time.perf_counter() - snapshot_started
                matrix = vectors[:size]
                exact_ms, exact_top = [], []
                for q in query_vectors:
                    t = time.perf_counter()
                    scores = matrix @ q
                    top = np.argpartition(-scores, 10)[:10]
                    top = top[np.argsort(-scores[top])]
                    exact_ms.append((time.perf_counter() - t) * 1000)
                    exact_top.append({str(ids[i]) for i in top})
                row = {"build_s": round(build_s, 1), "exact_numpy_p50_ms": round(statistics.median(exact_ms), 2),
                       "full_text_snapshot_build_s": round(snapshot_s, 2)}
                dataset_id = dataset.id
                db.session.remove()  # each query below runs in its own app context, as a request does
                for strategy in ("semantic", "full_text", "hybrid"):
                    latencies, recalls = [], []
                    for qi, text in enumerate(query_texts):
                        t = time.perf_counter()
                        with app.app_context():
                            records = retrieval_service.retrieve(account_id, [dataset_id], text, strategy, k=10, score=0.0)
                        latencies.append((time.perf_counter() - t) * 1000)
                        if strategy == "semantic":
                            recalls.append(len({r["segment_id"] for r in records} & exact_top[qi]) / 10)
                    row[strategy] = {"p50_ms": round(statistics.median(latencies), 1),
                                     "p90_ms": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))], 1)}
                    if recalls:
                        row[strategy]["recall_at_10_vs_exact"] = round(statistics.mean(recalls), 3)
                results["sizes"][str(size)] = row
            results["embedding_s"] = round(embed_s, 1)
    return results


def table(r: dict) -> str:
    lines = [f"B5 on {r['machine']} (synthetic Zipf corpus, real MiniLM embeddings, 10 results per query):", "",
             "| segments | semantic p50 / p90 ms | semantic recall@10 vs exact | full_text p50 / p90 ms "
             "| hybrid p50 / p90 ms | numpy exact p50 ms | full-text snapshot build s |",
             "|---|---|---|---|---|---|---|"]
    for size, row in r["sizes"].items():
        s, f, h = row["semantic"], row["full_text"], row["hybrid"]
        lines.append(f"| {int(size):,} | {s['p50_ms']} / {s['p90_ms']} | {s['recall_at_10_vs_exact']} "
                     f"| {f['p50_ms']} / {f['p90_ms']} | {h['p50_ms']} / {h['p90_ms']} | {row['exact_numpy_p50_ms']} "
                     f"| {row['full_text_snapshot_build_s']} |")
    lines += ["", "Targets: semantic recall@10 ≥ 0.95 vs exact; p50 ≤ 20 ms semantic, ≤ 30 ms hybrid at 100k."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    result = run(args.sizes, args.queries)
    report("b5", result, table(result), args.update_readme)


if __name__ == "__main__":
    main()
