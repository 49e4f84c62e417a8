"""Claims with leases on background work (document indexing, memory folds).

A run takes its row with one conditional UPDATE (``claimed_by`` = the run's id, ``lease_expires_at``
= now + lease) that succeeds only when nobody holds an unexpired lease, so two deliveries of the
same task (broker redelivery, a re-dispatch, a second worker) never work on one row at once. While
the run works, a ``LeaseKeeper`` thread renews the lease every third of its length on a connection
of its own (a long parse or model call does not let it lapse); when the renewal finds the claim
gone (the row was deleted, or the lease lapsed and another run took it) it raises ``lost`` and the
run stops at its next check. A killed run simply stops renewing: its lease expires and the
re-dispatch (beat, worker start) takes the row again.

The model needs two nullable columns, ``claimed_by`` (String) and ``lease_expires_at`` (DateTime).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from llmops.extensions import db
from llmops.models.base import utcnow


def new_owner() -> str:
    """An id naming this run: host, process and a random part (``host:pid:hex``)."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def claimable(model, now=None):
    """The SQL condition "nobody holds an unexpired lease on this row"."""
    now = now or utcnow()
    return sa.or_(model.claimed_by.is_(None), model.lease_expires_at.is_(None), model.lease_expires_at < now)


def take(model, row_id, owner: str, lease_s: float, *conditions, **values) -> bool:
    """Claim row ``row_id`` of ``model`` for ``owner`` when it is free and ``conditions`` hold
    (one conditional UPDATE, committed) → True when this run got it. ``values`` are set too."""
    now = utcnow()
    taken = db.session.execute(
        sa.update(model).where(model.id == row_id, claimable(model, now), *conditions)
        .values(claimed_by=owner, lease_expires_at=now + timedelta(seconds=lease_s), **values)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(taken)


def release(model, row_id, owner: str, **values) -> None:
    """Give the row back (only if this run still holds it), committed; ``values`` are set too."""
    db.session.execute(sa.update(model).where(model.id == row_id, model.claimed_by == owner)
                       .values(claimed_by=None, lease_expires_at=None, **values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


class LeaseKeeper:
    """Renews ``owner``'s lease on one row in a background thread while the ``with`` block runs.

    ``lost`` is set when a renewal finds the claim gone (or ``still_wanted`` — an extra SQL
    condition such as "not deleted" — false): the run should stop at its next check."""

    def __init__(self, model, row_id, owner: str, lease_s: float, still_wanted=None):
        self.model, self.row_id, self.owner, self.lease_s = model, row_id, owner, lease_s
        self.still_wanted = still_wanted
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._engine = db.engine
        self._logger = current_app.logger
        self._thread = threading.Thread(target=self._run, name=f"lease-{row_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def renew(self) -> bool:
        """One renewal → False when the claim is gone (``lost`` is then set)."""
        conditions = [self.model.id == self.row_id, self.model.claimed_by == self.owner]
        if self.still_wanted is not None:
            conditions.append(self.still_wanted)
        with self._engine.begin() as conn:
            renewed = conn.execute(sa.update(self.model).where(*conditions).values(
                lease_expires_at=utcnow() + timedelta(seconds=self.lease_s))).rowcount
        if not renewed:
            self.lost.set()
        return bool(renewed)

    def _run(self) -> None:
        interval = max(0.2, self.lease_s / 3)
        while not self._stop.wait(interval):
            try:
                if not self.renew():
                    return
            except Exception:  # noqa: BLE001 — a database hiccup: try again at the next tick
                self._logger.warning("could not renew the lease of %s %s", self.model.__tablename__, self.row_id,
                                     exc_info=True)


def redispatch(model, stuck, dispatch, limit: int = 1000) -> int:
    """Queue again the rows of ``model`` matching the SQL condition ``stuck`` → how many.

    Each row is taken with a conditional UPDATE that re-checks ``stuck``, clears an expired claim
    and bumps ``updated_at`` (committed before ``dispatch(row_id)`` is called), so beat and a
    starting worker re-dispatching at once queue a row once; a row whose condition no longer
    holds (a live run took it meanwhile) is skipped. At most ``limit`` rows, oldest first."""
    now = utcnow()
    ids = db.session.scalars(sa.select(model.id).where(stuck).order_by(model.updated_at).limit(limit)).all()
    taken = 0
    for row_id in ids:
        if db.session.execute(sa.update(model).where(model.id == row_id, stuck)
                              .values(claimed_by=None, lease_expires_at=None, updated_at=now)
                              .execution_options(synchronize_session=False)).rowcount:
            db.session.commit()
            dispatch(row_id)
            taken += 1
        else:
            db.session.rollback()
    return taken
