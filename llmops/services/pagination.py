"""Pagination of list use cases (docs/api.md A: ``current_page``, ``page_size`` → ``list`` + ``paginator``)."""

from __future__ import annotations

import math

import sqlalchemy as sa

from llmops.extensions import db


def paginator(current_page: int, page_size: int, total: int) -> dict:
    """The ``paginator`` object of docs/api.md A."""
    return {
        "current_page": current_page,
        "page_size": page_size,
        "total_page": math.ceil(total / page_size) if total else 0,
        "total_record": total,
    }


def paginate(query: sa.Select, order_by: tuple, current_page: int, page_size: int) -> tuple[list, dict]:
    """One page of ``query``'s entities in ``order_by`` order → (rows, paginator); two queries."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.order_by(*order_by).offset((current_page - 1) * page_size).limit(page_size)).all()
    return list(rows), paginator(current_page, page_size, total)


def contains(column, word: str) -> sa.ColumnElement[bool]:
    """Case-insensitive "``column`` contains ``word``" with ``%``, ``_`` and ``\\`` taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
