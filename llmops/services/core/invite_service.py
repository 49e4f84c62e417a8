"""Invite codes for ``REGISTRATION=invite``: made by admins, shown once, stored as SHA-256.

A code admits one registration: it is used up by one conditional ``UPDATE ... WHERE used_at IS
NULL`` in the transaction that creates the account, so two registrations racing with one code
create exactly one account. Unknown, used and expired codes get one answer (no guessing oracle).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from llmops.errors import ForbiddenError
from llmops.extensions import db
from llmops.models import InviteCode
from llmops.models.base import unix, utcnow
from llmops.services.common import paginate

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes get typed by hand
PREFIX = "INV-"
INVALID = "the invite code is invalid, expired or already used"


def _hash(code: str) -> str:
    # The alphabet has no "I": stripping a leading "INV" never eats a code character.
    normalized = code.strip().upper().replace("-", "").removeprefix("INV")
    return hashlib.sha256(normalized.encode()).hexdigest()


def generate(count: int, expires_at: int | None = None, created_by: uuid.UUID | None = None) -> list[str]:
    """``count`` new single-use codes (``INV-XXXX-XXXX-XXXX-XXXX``, 80 random bits) → the plain codes,
    returned this once; ``expires_at`` in Unix seconds."""
    now = utcnow()
    expiry = None if expires_at is None else datetime.fromtimestamp(expires_at, UTC).replace(tzinfo=None)
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(16))
        codes.append(PREFIX + "-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    db.session.execute(sa.insert(InviteCode), [
        {"id": uuid.uuid4(), "code_hash": _hash(code), "code_hint": f"{code[:8]}…{code[-4:]}", "created_by": created_by,
         "created_at": now, "expires_at": expiry} for code in codes])
    db.session.commit()
    return codes


def claim(code: str, account_id: uuid.UUID) -> None:
    """Use the code up for ``account_id`` inside the caller's transaction (the caller commits);
    ``ForbiddenError`` naming ``invite_code`` when it is unknown, expired or used."""
    now = utcnow()
    table = InviteCode.__table__
    claimed = db.session.execute(
        table.update().where(table.c.code_hash == _hash(code), table.c.used_at.is_(None),
                             sa.or_(table.c.expires_at.is_(None), table.c.expires_at > now))
        .values(used_at=now, used_by=account_id)).rowcount
    if claimed != 1:
        raise ForbiddenError(INVALID, data={"invite_code": ["invalid, expired or already used"]})


def list_codes(current_page: int, page_size: int, status: str | None = None) -> tuple[list[dict], dict]:
    """Invite codes, newest first (hints only: the codes themselves are never stored);
    ``status``: unused, used or expired."""
    query = sa.select(InviteCode)
    now = utcnow()
    if status == "used":
        query = query.where(InviteCode.used_at.is_not(None))
    elif status == "expired":
        query = query.where(InviteCode.used_at.is_(None), InviteCode.expires_at <= now)
    elif status == "unused":
        query = query.where(InviteCode.used_at.is_(None),
                            sa.or_(InviteCode.expires_at.is_(None), InviteCode.expires_at > now))
    rows, page = paginate(query, (InviteCode.created_at.desc(), InviteCode.id), current_page, page_size)
    return [_to_dict(row, now) for row in rows], page


def _to_dict(row: InviteCode, now: datetime) -> dict:
    status = "used" if row.used_at else "expired" if row.expires_at and row.expires_at <= now else "unused"
    return {"id": str(row.id), "code": row.code_hint, "status": status, "expires_at": unix(row.expires_at),
            "used_at": unix(row.used_at), "used_by": str(row.used_by) if row.used_by else None,
            "created_by": str(row.created_by) if row.created_by else None, "created_at": unix(row.created_at)}
