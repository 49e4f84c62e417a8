"""Retrieval over datasets: ``semantic`` (Chroma, cosine), ``full_text`` (BM25 over the
inverted index) and ``hybrid`` (reciprocal rank fusion of both).

Scores are in 0..1: semantic = 1 − cosine distance; full-text = BM25 / best BM25 of the query;
hybrid orders by RRF (k = 60) and reports the better of the two scores. ``score`` is a threshold
on that figure. Only enabled segments of enabled, completed, non-deleted documents are returned.
Each retrieval bumps the segments' ``hit_count`` and logs a ``dataset_query`` per dataset.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from llmops.extensions import db
from llmops.models import DatasetQuery, Document, Segment, SegmentTerm
from llmops.models.base import utcnow
from llmops.rag.fulltext import bm25_scores, tokenize
from llmops.services.rag_runtime import get_embedding_model, get_vector_store

RRF_K = 60


def retrieve(account_id: uuid.UUID, dataset_ids: list[uuid.UUID], query: str, strategy: str = "semantic",
             k: int = 4, score: float = 0.0, source: str = "hit_testing", app_id: uuid.UUID | None = None) -> list[dict]:
    """Records ``{segment_id, document_id, document_name, dataset_id, score, content, position,
    keywords, document{id,name,extension}}``, best first, at most ``k``."""
    if not dataset_ids:
        return []
    candidates = k * 3
    semantic = _semantic(dataset_ids, query, candidates) if strategy in ("semantic", "hybrid") else []
    full_text = _full_text(dataset_ids, query, candidates) if strategy in ("full_text", "hybrid") else []
    if strategy == "semantic":
        ranked = semantic
    elif strategy == "full_text":
        ranked = full_text
    else:
        ranked = _fuse(semantic, full_text)
    records = _load_records(ranked, score, k)
    _log(account_id, dataset_ids, query, source, app_id, [uuid.UUID(r["segment_id"]) for r in records])
    return records


def _semantic(dataset_ids: list[uuid.UUID], query: str, k: int) -> list[tuple[str, float]]:
    vector = get_embedding_model().embed([query])[0]
    return get_vector_store().query(dataset_ids, vector, k)


def _full_text(dataset_ids: list[uuid.UUID], query: str, k: int) -> list[tuple[str, float]]:
    terms = tokenize(query)
    if not terms:
        return []
    live = sa.and_(Segment.dataset_id.in_(dataset_ids), Segment.enabled.is_(True), Segment.status == "completed")
    total_docs, avg_length = db.session.execute(
        sa.select(sa.func.count(), sa.func.avg(Segment.term_count)).where(live)).one()
    if not total_docs:
        return []
    unique = list(dict.fromkeys(terms))
    doc_freq = dict(db.session.execute(
        sa.select(SegmentTerm.term, sa.func.count()).where(SegmentTerm.dataset_id.in_(dataset_ids),
                                                           SegmentTerm.term.in_(unique)).group_by(SegmentTerm.term)).all())
    postings = db.session.execute(
        sa.select(SegmentTerm.term, SegmentTerm.segment_id, SegmentTerm.tf, Segment.term_count)
        .join(Segment, Segment.id == SegmentTerm.segment_id)
        .where(SegmentTerm.dataset_id.in_(dataset_ids), SegmentTerm.term.in_(unique), live)).all()
    scores = bm25_scores(terms, postings, total_docs, float(avg_length or 0), doc_freq)
    if not scores:
        return []
    best = max(scores.values())
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:k]
    return [(str(segment_id), value / best) for segment_id, value in ranked]


def _fuse(semantic: list[tuple[str, float]], full_text: list[tuple[str, float]]) -> list[tuple[str, float]]:
    fused: dict[str, float] = {}
    best_score: dict[str, float] = {}
    for ranking in (semantic, full_text):
        for rank, (segment_id, value) in enumerate(ranking, start=1):
            fused[segment_id] = fused.get(segment_id, 0.0) + 1.0 / (RRF_K + rank)
            best_score[segment_id] = max(best_score.get(segment_id, 0.0), value)
    order = sorted(fused, key=lambda s: fused[s], reverse=True)
    return [(segment_id, best_score[segment_id]) for segment_id in order]


def _load_records(ranked: list[tuple[str, float]], threshold: float, k: int) -> list[dict]:
    wanted = [(uuid.UUID(s), value) for s, value in ranked if value >= threshold]
    if not wanted:
        return []
    rows = db.session.execute(
        sa.select(Segment, Document).join(Document, Document.id == Segment.document_id)
        .where(Segment.id.in_([s for s, _ in wanted]), Segment.enabled.is_(True), Segment.status == "completed",
               Document.enabled.is_(True), Document.is_deleted.is_(False), Document.status == "completed")).all()
    by_id = {segment.id: (segment, document) for segment, document in rows}
    records = []
    for segment_id, value in wanted:
        if segment_id not in by_id:
            continue
        segment, document = by_id[segment_id]
        extension = document.name.rsplit(".", 1)[-1].lower() if "." in document.name else ""
        records.append({
            "segment_id": str(segment.id), "document_id": str(document.id), "document_name": document.name,
            "dataset_id": str(segment.dataset_id), "score": round(value, 4), "content": segment.content,
            "position": segment.position, "keywords": segment.keywords, "hit_count": segment.hit_count + 1,
            "document": {"id": str(document.id), "name": document.name, "extension": extension},
        })
        if len(records) == k:
            break
    return records


def _log(account_id, dataset_ids, query, source, app_id, segment_ids) -> None:
    if segment_ids:
        db.session.execute(sa.update(Segment).where(Segment.id.in_(segment_ids))
                           .values(hit_count=Segment.hit_count + 1))
    now = utcnow()
    for dataset_id in dataset_ids:
        db.session.add(DatasetQuery(dataset_id=dataset_id, account_id=account_id, query=query[:2000], source=source,
                                    source_app_id=app_id, created_at=now))
    db.session.commit()
