"""Per-account storage quota for uploaded files (``ACCOUNT_STORAGE_BYTES``; 0 = no limit)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app

from llmops.errors import AppError
from llmops.extensions import db
from llmops.models import UploadFile


class StorageQuotaExceededError(AppError):
    code, status, default_message = "fail", 413, "The account's storage quota is used up"


def used_bytes(account_id: uuid.UUID) -> int:
    """Bytes of the account's stored uploads (an upload whose file went with its last document has key "")."""
    return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(UploadFile.size), 0))
                                 .where(UploadFile.account_id == account_id, UploadFile.key != "")) or 0)


def check(account_id: uuid.UUID, adding: int = 0) -> None:
    """Raise ``StorageQuotaExceededError`` (413, with the figures) when storing ``adding`` more
    bytes would take the account past ``ACCOUNT_STORAGE_BYTES``."""
    limit = current_app.config["ACCOUNT_STORAGE_BYTES"]
    if not limit:
        return
    used = used_bytes(account_id)
    if used + adding > limit:
        raise StorageQuotaExceededError(
            f"storage quota exceeded: the account stores {_human(used)} of its {_human(limit)}"
            + (f" and this file adds {_human(adding)}" if adding else "") + "; delete files or documents to make room",
            data={"file": ["storage quota exceeded"], "used_bytes": used, "limit_bytes": limit})


def _human(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
