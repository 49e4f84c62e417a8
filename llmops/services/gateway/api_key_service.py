"""API keys for the gateway: created per account, shown once, stored as a SHA-256 hash.

Keys are 256-bit random strings, so a fast hash is the right lookup index (unlike passwords,
they cannot be guessed from a dictionary). ``authenticate`` runs on every ``/v1`` request and
reads a per-process cache (``API_KEY_CACHE_TTL_S``) instead of the database; a change made
through this module clears this process's entry at once, other processes within the TTL. The cache
is a bounded LRU (``cachetools.TTLCache``, ``API_KEY_CACHE_SIZE`` entries), so a flood of random
keys evicts the least recently used entries instead of growing the process or emptying the cache.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cachetools import TTLCache

from llmops.errors import ConflictError, InvalidApiKeyError, NotFoundError, ValidateError
from llmops.extensions import db
from llmops.models import ApiKey, App
from llmops.models.base import unix, utcnow
from llmops.runtime import runtime
from llmops.services.common import paginate
from llmops.services.core import account_service

KEY_PREFIX = "sk-llmops-"
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class KeyPrincipal:
    """What the gateway needs to know about the calling key (a cached snapshot)."""

    id: uuid.UUID
    account_id: uuid.UUID
    quota: int | None
    used_quota: int
    expires_at: datetime | None
    models: tuple[str, ...]
    rpm: int | None
    tpm: int | None
    app_id: uuid.UUID | None
    max_streams: int | None = None


def hash_key(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def api_key_to_dict(key: ApiKey) -> dict:
    return {
        "id": str(key.id), "remark": key.remark, "key": key.key_hint, "api_key": key.key_hint,  # masked
        "quota": key.quota, "used_quota": key.used_quota,
        "remaining_quota": None if key.quota is None else max(key.quota - key.used_quota, 0),
        "expires_at": unix(key.expires_at), "models": key.models, "rpm": key.rpm, "tpm": key.tpm,
        "max_streams": key.max_streams, "app_id": str(key.app_id) if key.app_id else None, "is_active": key.is_active,
        "last_used_at": unix(key.last_used_at), "created_at": unix(key.created_at), "updated_at": unix(key.updated_at),
    }


def create_api_key(account_id: uuid.UUID, remark: str = "", quota: int | None = None, expires_at: int | None = None,
                   models: list[str] | None = None, rpm: int | None = None, tpm: int | None = None,
                   app_id: uuid.UUID | None = None, plain: str | None = None, active: bool = True,
                   max_streams: int | None = None) -> dict:
    """A new key → its fields plus ``key``, the plain secret, returned this once only. ``quota``
    is the key's own cap in credits (1 credit = 1e-6 USD; None: only the account's balance limits
    it), ``max_streams`` its concurrent streams.

    ``plain`` imports a key issued elsewhere (e.g. by the one-api/new-api instance being replaced,
    or seed 003's configured key) so its clients keep working: 20–200 printable characters
    without spaces; ``ConflictError`` when that key already exists."""
    _check_app(account_id, app_id)
    if plain is None:
        plain = KEY_PREFIX + secrets.token_urlsafe(32)
    elif not (20 <= len(plain) <= 200 and plain.isprintable() and " " not in plain):
        raise ValidateError("key: 20 to 200 printable characters without spaces", data={"key": ["invalid key"]})
    elif db.session.scalar(sa.select(ApiKey.id).where(ApiKey.key_hash == hash_key(plain))):
        raise ConflictError("this API key already exists", data={"key": ["already exists"]})
    key = ApiKey(account_id=account_id, remark=remark, key_hash=hash_key(plain), key_hint=f"{plain[:10]}…{plain[-4:]}",
                 quota=quota, expires_at=_from_unix(expires_at), models=list(dict.fromkeys(models or [])), rpm=rpm,
                 tpm=tpm, app_id=app_id, is_active=active, max_streams=max_streams)
    db.session.add(key)
    db.session.commit()
    return {**api_key_to_dict(key), "key": plain}


def list_api_keys(account_id: uuid.UUID, current_page: int, page_size: int) -> tuple[list[dict], dict]:
    query = sa.select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.is_deleted.is_(False))
    rows, page = paginate(query, (ApiKey.created_at.desc(), ApiKey.id), current_page, page_size)
    return [api_key_to_dict(k) for k in rows], page


def get_owned_key(account_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None or key.account_id != account_id or key.is_deleted:
        raise NotFoundError("API key not found")
    return key


def update_api_key(account_id: uuid.UUID, key_id: uuid.UUID, changes: dict) -> dict:
    """Change any of remark, quota (credits), expires_at, models, rpm, tpm, max_streams, app_id,
    is_active."""
    key = get_owned_key(account_id, key_id)
    if "app_id" in changes:
        _check_app(account_id, changes["app_id"])
    for field in ("remark", "quota", "models", "rpm", "tpm", "max_streams", "app_id", "is_active"):
        if field in changes:
            setattr(key, field, changes[field])
    if "expires_at" in changes:
        key.expires_at = _from_unix(changes["expires_at"])
    db.session.commit()
    if "quota" in changes:
        runtime().quota_ledger.forget(key.id)
    _forget(key.key_hash)
    return api_key_to_dict(key)


def set_api_key_active(account_id: uuid.UUID, key_id: uuid.UUID, is_active: bool) -> None:
    key = get_owned_key(account_id, key_id)
    key.is_active = is_active
    db.session.commit()
    _forget(key.key_hash)


def delete_api_key(account_id: uuid.UUID, key_id: uuid.UUID) -> None:
    """Soft delete: the key stops working; its usage history stays."""
    key = get_owned_key(account_id, key_id)
    key.is_deleted, key.is_active = True, False
    db.session.commit()
    _forget(key.key_hash)


def authenticate(authorization: str | None, check_account: bool = True) -> KeyPrincipal:
    """The key named by an ``Authorization: Bearer <key>`` header. Raises ``InvalidApiKeyError``
    (401) for a missing, unknown, disabled, deleted or expired key, ``ForbiddenError`` (403) when its
    account is disabled — unless ``check_account`` is False: the caller checks the account itself
    (the gateway's chat does, within its reservation: ``metering.reserve(check_account=True)``)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise InvalidApiKeyError("You didn't provide an API key (Authorization: Bearer <key>)")
    digest = hash_key(authorization[7:].strip())
    cache = _cache()
    with _cache_lock:
        entry = cache.get(digest, _MISSING)
    if entry is _MISSING:
        entry = _load(digest)
        with _cache_lock:
            cache[digest] = entry
    principal = entry
    if principal is None:
        raise InvalidApiKeyError()
    if principal.expires_at is not None and principal.expires_at <= utcnow():
        raise InvalidApiKeyError("The API key has expired")
    # Not cached: the account's status comes from the shared state store on every call (403).
    if check_account:
        account_service.check_enabled(principal.account_id)
    return principal


def _load(digest: str) -> KeyPrincipal | None:
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or not key.is_active or key.is_deleted:
        return None
    return KeyPrincipal(key.id, key.account_id, key.quota, key.used_quota, key.expires_at, tuple(key.models or ()),
                        key.rpm, key.tpm, key.app_id, key.max_streams)


_MISSING = object()


def is_known_valid(authorization: str | None) -> bool:
    """Whether this process has the presented key cached as a valid key (no I/O): the gateway's hot
    path then skips the per-address failed-attempt check."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return False
    cache = runtime().peek("api_key_cache")
    if cache is None:
        return False
    with _cache_lock:
        return cache.get(hash_key(authorization[7:].strip())) is not None


def _cache() -> TTLCache:
    """This process's key cache: digest → ``KeyPrincipal`` (or None for an unknown key)."""
    return runtime().api_key_cache


def _forget(digest: str) -> None:
    cache = _cache()
    with _cache_lock:
        cache.pop(digest, None)


def forget_principal(key_id: uuid.UUID) -> None:
    """Drop this process's cached view of a key (its quota changed)."""
    cache = _cache()
    with _cache_lock:
        for digest in [d for d, p in list(cache.items()) if p is not None and p.id == key_id]:
            cache.pop(digest, None)


def _check_app(account_id: uuid.UUID, app_id: uuid.UUID | None) -> None:
    if app_id is None:
        return
    app = db.session.get(App, app_id)
    if app is None or app.account_id != account_id or app.is_deleted:
        raise ValidateError("app not found", data={"app_id": ["no such app in this account"]})


def _from_unix(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
