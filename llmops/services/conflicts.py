"""Retries for writes that take the next number of a sequence (publish versions, document and
segment positions): a unique constraint refuses the loser of a race, which reads again and
takes the next number."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa

from llmops.errors import ConflictError
from llmops.extensions import db

T = TypeVar("T")


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
