"""Datasets (knowledge bases): CRUD with seed 002's list fields, hit testing, query log."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app

from llmops.errors import ConflictError
from llmops.extensions import db
from llmops.models import AppDatasetJoin, Dataset, DatasetQuery, Document, Segment, SegmentTerm
from llmops.models.base import unix
from llmops.rag.vector_store import VectorStoreUnavailable
from llmops.runtime import runtime
from llmops.services.common import contains, get_owned, paginate


def get_owned_dataset(account_id: uuid.UUID, dataset_id: uuid.UUID) -> Dataset:
    return get_owned(Dataset, dataset_id, account_id, "dataset")


def _stats(dataset_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """document_count, word_count, hit_count, app_count per dataset: three grouped queries."""
    stats = {i: {"document_count": 0, "word_count": 0, "hit_count": 0, "app_count": 0} for i in dataset_ids}
    if not dataset_ids:
        return stats
    live = sa.and_(Document.dataset_id.in_(dataset_ids), Document.is_deleted.is_(False))
    for dataset_id, count, words in db.session.execute(
            sa.select(Document.dataset_id, sa.func.count(), sa.func.coalesce(sa.func.sum(Document.character_count), 0))
            .where(live).group_by(Document.dataset_id)):
        stats[dataset_id].update(document_count=count, word_count=int(words))
    for dataset_id, hits in db.session.execute(
            sa.select(Segment.dataset_id, sa.func.coalesce(sa.func.sum(Segment.hit_count), 0))
            .where(Segment.dataset_id.in_(dataset_ids)).group_by(Segment.dataset_id)):
        stats[dataset_id]["hit_count"] = int(hits)
    for dataset_id, apps in db.session.execute(
            sa.select(AppDatasetJoin.dataset_id, sa.func.count()).where(AppDatasetJoin.dataset_id.in_(dataset_ids))
            .group_by(AppDatasetJoin.dataset_id)):
        stats[dataset_id]["app_count"] = apps
    return stats


def dataset_to_dict(dataset: Dataset, stats: dict) -> dict:
    """Seed 002's fields plus the course's names for two of them (``character_count`` =
    ``word_count``, ``related_app_count`` = ``app_count``)."""
    return {"id": str(dataset.id), "name": dataset.name, "icon": dataset.icon, "description": dataset.description,
            **stats, "character_count": stats["word_count"], "related_app_count": stats["app_count"],
            "created_at": unix(dataset.created_at), "updated_at": unix(dataset.updated_at)}


def list_datasets(account_id: uuid.UUID, current_page: int, page_size: int, search_word: str = "") -> tuple[list, dict]:
    query = sa.select(Dataset).where(Dataset.account_id == account_id)
    if search_word:
        query = query.where(contains(Dataset.name, search_word))
    rows, page = paginate(query, (Dataset.created_at.desc(), Dataset.id), current_page, page_size)
    stats = _stats([r.id for r in rows])
    return [dataset_to_dict(r, stats[r.id]) for r in rows], page


def create_dataset(account_id: uuid.UUID, name: str, icon: str = "", description: str = "") -> Dataset:
    """409 when the account already has a dataset of this name."""
    if db.session.scalar(sa.select(Dataset.id).where(Dataset.account_id == account_id, Dataset.name == name)):
        raise ConflictError("a dataset with this name already exists", data={"name": ["already exists"]})
    dataset = Dataset(account_id=account_id, name=name, icon=icon, description=description)
    db.session.add(dataset)
    db.session.commit()
    return dataset


def get_dataset(account_id: uuid.UUID, dataset_id: uuid.UUID) -> dict:
    dataset = get_owned_dataset(account_id, dataset_id)
    return dataset_to_dict(dataset, _stats([dataset.id])[dataset.id])


def update_dataset(account_id: uuid.UUID, dataset_id: uuid.UUID, changes: dict) -> dict:
    dataset = get_owned_dataset(account_id, dataset_id)
    if "name" in changes and changes["name"] != dataset.name and db.session.scalar(
            sa.select(Dataset.id).where(Dataset.account_id == account_id, Dataset.name == changes["name"])):
        raise ConflictError("a dataset with this name already exists", data={"name": ["already exists"]})
    for key in ("name", "icon", "description"):
        if key in changes:
            setattr(dataset, key, changes[key])
    db.session.commit()
    return get_dataset(account_id, dataset_id)


def delete_dataset(account_id: uuid.UUID, dataset_id: uuid.UUID) -> None:
    """Delete the dataset, its documents, segments, postings and vector collections. An indexing
    run working on one of its documents notices and drops whatever it wrote after this; a vector
    store that is down leaves the collections to the orphan sweeper (``index_sweeper``)."""
    from llmops.services.knowledge import stored_files

    dataset = get_owned_dataset(account_id, dataset_id)
    documents = db.session.execute(sa.select(Document.id, Document.upload_file_id)
                                   .where(Document.dataset_id == dataset.id)).all()
    segment_ids = sa.select(Segment.id).where(Segment.dataset_id == dataset.id)
    db.session.execute(sa.delete(SegmentTerm).where(SegmentTerm.segment_id.in_(segment_ids)))
    db.session.execute(sa.delete(Segment).where(Segment.dataset_id == dataset.id))
    db.session.execute(sa.delete(Document).where(Document.dataset_id == dataset.id))
    db.session.execute(sa.delete(DatasetQuery).where(DatasetQuery.dataset_id == dataset.id))
    db.session.execute(sa.delete(AppDatasetJoin).where(AppDatasetJoin.dataset_id == dataset.id))
    db.session.delete(dataset)
    db.session.commit()
    # parsed texts, and uploads no other live document uses (with their rows once unreferenced)
    stored_files.remove_document_files([tuple(d) for d in documents], drop_unused_uploads=True)
    try:
        drop_vectors(dataset_id)
    except VectorStoreUnavailable:
        current_app.logger.warning("vector store down: the collections of deleted dataset %s are left to the sweeper",
                                   dataset_id)


def drop_vectors(dataset_id: uuid.UUID) -> None:
    runtime().vector_store.drop(dataset_id)


def list_queries(account_id: uuid.UUID, dataset_id: uuid.UUID) -> list[dict]:
    """The 10 latest queries (hit tests and app retrievals), newest first."""
    get_owned_dataset(account_id, dataset_id)
    rows = db.session.scalars(sa.select(DatasetQuery).where(DatasetQuery.dataset_id == dataset_id)
                              .order_by(DatasetQuery.created_at.desc()).limit(10)).all()
    return [{"id": str(r.id), "dataset_id": str(r.dataset_id), "query": r.query, "source": r.source,
             "source_app_id": str(r.source_app_id) if r.source_app_id else None, "created_at": unix(r.created_at)}
            for r in rows]
