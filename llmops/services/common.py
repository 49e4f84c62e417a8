"""What every service layer shares: pagination of list use cases (docs/api.md A: ``current_page``,
``page_size`` → ``list`` + ``paginator``), ownership checks (404), queueing background tasks, and
retries for writes that take the next number of a sequence (publish versions, document and segment
positions): a unique constraint refuses the loser of a race, which reads again and takes the next
number."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from flask import Flask, current_app

from llmops.errors import ConflictError, NotFoundError
from llmops.extensions import db


def enqueue(task: str, args: list, queue: str, countdown: float | None = None, app: Flask | None = None) -> None:
    """Send the Celery task named ``task`` (services name tasks, they never import ``llmops.tasks``)
    with ``args`` to ``queue`` (``indexing``, ``memory``, ``usage``, ``maintenance``), after
    ``countdown`` seconds; ``app`` when there is no app context. Raises what the broker raises:
    each caller decides what a refused message means (work left for re-dispatch, a direct write)."""
    (app or current_app).extensions["celery"].send_task(task, args=args, queue=queue, countdown=countdown)


def get_owned(model: type[M], row_id, account_id, what: str) -> M:
    """The ``model`` row ``row_id`` if it belongs to ``account_id`` (its ``account_id`` column) and
    is not soft-deleted (``is_deleted``, where the table has it); otherwise ``NotFoundError`` (404)
    saying ``"{what} not found"`` — another account's row is answered exactly like a missing one."""
    row = db.session.get(model, row_id)
    if row is None or row.account_id != account_id or getattr(row, "is_deleted", False):
        raise NotFoundError(f"{what} not found")
    return row


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

T = TypeVar("T")
M = TypeVar("M")


def retry_on_conflict(write: Callable[[], T], what: str, attempts: int = 8) -> T:
    """Run ``write`` (which reads, writes and commits); on a unique-constraint conflict roll back
    and run it again, after a short random pause → its result. ``ConflictError`` (409) naming
    ``what`` when every attempt lost the race."""
    for attempt in range(attempts):
        try:
            return write()
        except sa.exc.IntegrityError as exc:
            db.session.rollback()
            if attempt == attempts - 1:
                raise ConflictError(f"too many concurrent changes to {what}; try again") from exc
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
    raise AssertionError("unreachable")
