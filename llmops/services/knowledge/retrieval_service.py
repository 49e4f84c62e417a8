"""Retrieval over datasets: ``semantic`` (Chroma, cosine), ``full_text`` (BM25 over the
inverted index, ranked in a per-process snapshot, see ``llmops.rag.fulltext``) and ``hybrid``
(reciprocal rank fusion of both).

Scores are in 0..1: semantic = 1 − cosine distance; full-text = BM25 / best BM25 of the query;
hybrid orders by RRF (k = 60) and reports the better of the two scores. ``score`` is a threshold
on that figure. Only enabled segments of enabled, completed, non-deleted documents are returned
(the snapshots and the vector collection hold only those, and the final load checks again).
Each retrieval bumps the segments' ``hit_count`` and logs a ``dataset_query`` per dataset.
"""

from __future__ import annotations

import mimetypes
import uuid

import sqlalchemy as sa

from llmops.errors import ServiceUnavailableError
from llmops.extensions import db
from llmops.models import Dataset, DatasetQuery, Document, Segment, SegmentTerm
from llmops.models.base import utcnow
from llmops.providers.errors import ProviderError
from llmops.rag.fulltext import BM25Index, tokenize
from llmops.rag.vector_store import VectorStoreUnavailable
from llmops.runtime import runtime
from llmops.services.core import metering

RRF_K = 60


def retrieve(account_id: uuid.UUID, dataset_ids: list[uuid.UUID], query: str, strategy: str = "semantic",
             k: int = 4, score: float = 0.0, source: str = "hit_testing", app_id: uuid.UUID | None = None,
             log: bool = True) -> list[dict]:
    """Records ``{segment_id, document_id, document_name, dataset_id, score, content, position,
    keywords, document{id,name,extension}}``, best first, at most ``k``. With ``log`` the query log
    and hit counts are committed here; chat passes ``log=False`` and writes them with its message
    (``log_retrieval``), off the time-to-first-token path."""
    if not dataset_ids:
        return []
    candidates = k * 3
    semantic = _semantic(account_id, dataset_ids, query, candidates) if strategy in ("semantic", "hybrid") else []
    full_text = _full_text(dataset_ids, query, candidates) if strategy in ("full_text", "hybrid") else []
    if strategy == "semantic":
        ranked = semantic
    elif strategy == "full_text":
        ranked = full_text
    else:
        ranked = _fuse(semantic, full_text)
    records = _load_records(ranked, score, k)
    if log:
        log_retrieval(account_id, dataset_ids, query, source, app_id, [r["segment_id"] for r in records])
        db.session.commit()
    return records


def _semantic(account_id: uuid.UUID, dataset_ids: list[uuid.UUID], query: str, k: int) -> list[tuple[str, float]]:
    """Raises ``ServiceUnavailableError`` (503, saying which service) when the embedding provider
    or the vector store cannot answer."""
    try:
        vector = metering.embed(account_id, runtime().embedding_model, [query], "retrieval.query")[0]
    except ProviderError as exc:
        raise ServiceUnavailableError(f"retrieval is unavailable: the embedding model failed ({exc.message})") from exc
    try:
        return runtime().vector_store.query(dataset_ids, vector, k)
    except VectorStoreUnavailable as exc:
        raise ServiceUnavailableError(f"retrieval is unavailable: {exc.message}") from exc


def _full_text(dataset_ids: list[uuid.UUID], query: str, k: int) -> list[tuple[str, float]]:
    terms = tokenize(query)
    if not terms:
        return []
    versions = db.session.execute(sa.select(Dataset.id, Dataset.index_version).where(Dataset.id.in_(dataset_ids))).all()
    cache = runtime().fulltext_cache
    hits: list[tuple[str, float]] = []
    for dataset_id, version in versions:
        index = cache.get(dataset_id, version, lambda d=dataset_id: build_full_text_index(d))
        hits.extend(index.search(terms, k))
    if not hits:
        return []
    best = max(value for _, value in hits)
    hits.sort(key=lambda hit: hit[1], reverse=True)
    return [(segment_id, value / best) for segment_id, value in hits[:k]]


def build_full_text_index(dataset_id: uuid.UUID) -> BM25Index:
    """A BM25 snapshot of the dataset's searchable segments, read from the ``segment_term`` postings."""
    # Raw column values (no UUID conversion per posting): the postings are the bulk of the read.
    raw_id = sa.type_coerce(Segment.id, sa.String)
    segments = db.session.execute(
        sa.select(raw_id, Segment.term_count).join(Document, Document.id == Segment.document_id)
        .where(Segment.dataset_id == dataset_id, Segment.enabled.is_(True), Segment.status == "completed",
               Document.enabled.is_(True), Document.is_deleted.is_(False), Document.status == "completed")).all()
    position = {raw: i for i, (raw, _) in enumerate(segments)}
    postings = db.session.execute(
        sa.select(SegmentTerm.term, sa.type_coerce(SegmentTerm.segment_id, sa.String), SegmentTerm.tf)
        .where(SegmentTerm.dataset_id == dataset_id))
    return BM25Index([_canonical(raw) for raw, _ in segments], (length for _, length in segments),
                     ((term, position[raw], tf) for term, raw, tf in postings if raw in position))


def _canonical(raw) -> str:
    return str(raw) if isinstance(raw, uuid.UUID) else str(uuid.UUID(raw))


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
    # Two primary-key lookups, plain columns: a join lets SQLite's planner walk every segment of a
    # large document instead (26 ms at 100k segments); this runs on every chat turn with retrieval.
    segments = db.session.execute(
        sa.select(Segment.id, Segment.dataset_id, Segment.document_id, Segment.content, Segment.position,
                  Segment.keywords, Segment.hit_count)
        .where(Segment.id.in_([s for s, _ in wanted]), Segment.enabled.is_(True), Segment.status == "completed")).all()
    names = dict(db.session.execute(
        sa.select(Document.id, Document.name).where(
            Document.id.in_({row.document_id for row in segments}), Document.enabled.is_(True),
            Document.is_deleted.is_(False), Document.status == "completed")).all()) if segments else {}
    by_id = {row.id: row for row in segments if row.document_id in names}
    records = []
    for segment_id, value in wanted:
        row = by_id.get(segment_id)
        if row is None:
            continue
        name = names[row.document_id]
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        records.append({
            "segment_id": str(row.id), "document_id": str(row.document_id), "document_name": name,
            "dataset_id": str(row.dataset_id), "score": round(value, 4), "content": row.content,
            "position": row.position, "keywords": row.keywords, "hit_count": row.hit_count + 1,
            "document": {"id": str(row.document_id), "name": name, "extension": extension},
        })
        if len(records) == k:
            break
    return records


def hit_test(account_id: uuid.UUID, dataset_id: uuid.UUID, query: str, strategy: str, k: int,
             score: float) -> list[dict]:
    """Hit testing of one owned dataset (logged): ``retrieve``'s records plus each segment's
    fields as the segment routes give them (``id``, counts, ``enabled``, ``status``, times) and
    the document's ``mime_type``."""
    from llmops.services.knowledge.dataset_service import get_owned_dataset
    from llmops.services.knowledge.segment_service import segment_to_dict

    get_owned_dataset(account_id, dataset_id)
    records = retrieve(account_id, [dataset_id], query, strategy, k, score)
    if not records:
        return records
    segments = {str(s.id): s for s in db.session.scalars(
        sa.select(Segment).where(Segment.id.in_([uuid.UUID(r["segment_id"]) for r in records])))}
    result = []
    for record in records:
        segment = segments.get(record["segment_id"])
        fields = segment_to_dict(segment) if segment is not None else {}
        document = {**record["document"], "mime_type": mimetypes.guess_type(record["document_name"])[0] or ""}
        result.append({**fields, **record, "document": document})
    return result


def log_retrieval(account_id: uuid.UUID, dataset_ids: list[uuid.UUID], query: str, source: str,
                  app_id: uuid.UUID | None, segment_ids: list[str]) -> None:
    """Add one retrieval's ``dataset_query`` rows and ``hit_count`` bumps to the caller's transaction."""
    if segment_ids:
        db.session.execute(sa.update(Segment).where(Segment.id.in_([uuid.UUID(s) for s in segment_ids]))
                           .values(hit_count=Segment.hit_count + 1))
    now = utcnow()
    for dataset_id in dataset_ids:
        db.session.add(DatasetQuery(dataset_id=dataset_id, account_id=account_id, query=query[:2000], source=source,
                                    source_app_id=app_id, created_at=now))
