"""Redeem codes (docs/api.md A ``POST /admin/redeem-codes``, C4 ``/api/redeem``; seed 004).

A code is worth ``quota`` credits (1 credit = 1e-6 USD) and tops up the balance of the account
that redeems it — with any of its API keys (seed 004's ``POST /api/redeem``) or from the studio
(``POST /account/redeem``). It is 24 random characters shown once to the admin who generates it;
only its SHA-256 is stored. Redeeming is one conditional ``UPDATE ... WHERE redeemed_at IS NULL``
in the same transaction as the credit to the account and its ledger row, so a code credits
exactly one account once under any concurrency. Unknown, used and expired codes get one generic
answer (no oracle for guessing); the routes are also rate limited per key or account and per IP.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from llmops.errors import FailError
from llmops.extensions import db
from llmops.models import RedeemCode
from llmops.models.base import unix, utcnow
from llmops.services.core import balance_service

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes get typed by hand
GENERIC_ERROR = "The code is invalid or has already been used"


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def generate(count: int, quota: int, expires_at: int | None = None, created_by: uuid.UUID | None = None) -> list[str]:
    """``count`` new codes worth ``quota`` credits each → the plain codes (``XXXX-XXXX-...``)."""
    now, expiry = utcnow(), None if expires_at is None else datetime.fromtimestamp(expires_at, UTC).replace(tzinfo=None)
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(24))
        codes.append("-".join(raw[i:i + 4] for i in range(0, 24, 4)))
    db.session.execute(sa.insert(RedeemCode), [
        {"id": uuid.uuid4(), "code_hash": _hash(code), "quota": quota, "expires_at": expiry, "created_by": created_by,
         "created_at": now} for code in codes])
    db.session.commit()
    return codes


def list_codes(current_page: int, page_size: int, status: str | None = None) -> tuple[list[dict], dict]:
    """Admin: codes newest first (never the code itself: only its hash is kept); ``status``
    ``unused`` / ``redeemed`` filters."""
    from llmops.services.common import paginate

    query = sa.select(RedeemCode)
    if status == "unused":
        query = query.where(RedeemCode.redeemed_at.is_(None))
    elif status == "redeemed":
        query = query.where(RedeemCode.redeemed_at.is_not(None))
    rows, page = paginate(query, (RedeemCode.created_at.desc(), RedeemCode.id), current_page, page_size)
    now = utcnow()
    return [{"id": str(r.id), "quota": r.quota, "created_at": unix(r.created_at), "expires_at": unix(r.expires_at),
             "redeemed_at": unix(r.redeemed_at),
             "redeemed_by_account_id": str(r.redeemed_by_account_id) if r.redeemed_by_account_id else None,
             "status": "redeemed" if r.redeemed_at else ("expired" if r.expires_at and r.expires_at <= now
                                                          else "unused")} for r in rows], page


def peek(code: str) -> dict:
    """What a valid, unused code is worth (``quota``, credits); the generic error otherwise."""
    row = _usable(code)
    return {"quota": row.quota, "expires_at": unix(row.expires_at), "status": "valid"}


def redeem(account_id: uuid.UUID, code: str, key_id: uuid.UUID | None = None) -> dict:
    """Credit the account with the code's credits, exactly once → ``{credited, balance}``
    (credits). ``key_id``: the API key it was redeemed with (seed 004), if any."""
    now = utcnow()
    table = RedeemCode.__table__
    claimed = db.session.execute(
        table.update().where(table.c.code_hash == _hash(code), table.c.redeemed_at.is_(None),
                             sa.or_(table.c.expires_at.is_(None), table.c.expires_at > now))
        .values(redeemed_at=now, redeemed_by_key_id=key_id, redeemed_by_account_id=account_id)
        .returning(table.c.quota, table.c.id)).first()
    if claimed is None:
        db.session.rollback()
        raise FailError(GENERIC_ERROR)
    credit = int(claimed.quota)
    try:
        balance = balance_service.apply(account_id, credit, "redeem", f"redeem code {claimed.id}")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    balance_service.committed(account_id, credit)
    return {"credited": credit, "balance": balance}


def _usable(code: str) -> RedeemCode:
    row = db.session.scalar(sa.select(RedeemCode).where(RedeemCode.code_hash == _hash(code or "")))
    if row is None or row.redeemed_at is not None or (row.expires_at is not None and row.expires_at <= utcnow()):
        raise FailError(GENERIC_ERROR)
    return row
