"""Accounts: registration (policy, invite codes), password login, sessions (refresh, logout,
revocation), disabling, profile, admins."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from llmops.errors import ConflictError, FailError, ForbiddenError, NotFoundError, UnauthorizedError
from llmops.extensions import db
from llmops.models import Account
from llmops.models.base import unix, utcnow
from llmops.runtime import runtime
from llmops.services.core import balance_service, invite_service

_hasher = PasswordHasher()
# Verifying against a dummy hash when the e-mail is unknown keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("dummy-password-for-timing-1")
DISABLED_MESSAGE = "this account has been disabled"


# --- tokens and sessions --------------------------------------------------------------------------
#
# A login opens a session: an access token and a refresh token sharing a session id (``sid``) and
# carrying the account's session version (``sv``). A token is refused when its session was logged
# out (``revoked-session:<sid>`` in the state store), when the account's version moved on (all its
# sessions revoked: admin, password change, promotion, disabling) or when the account is disabled.
# The account's status lives in the database and, for the hot path, in the shared state store
# (``account:<id>`` = ``"<disabled 0|1>:<version>"``): every change rewrites it after the commit, so
# every process sees it on its next request.


# The tokens themselves are issued by the api layer (``llmops/api/auth.py``): the services below
# return the account a session is opened for.


def seconds_left(expire_at: int) -> int:
    """Seconds from now until the Unix time ``expire_at`` (0 once past)."""
    return max(int(expire_at - datetime.now(UTC).timestamp()), 0)


def logout(claims: dict) -> None:
    """End the session of the presented token: its access and refresh tokens are refused by every
    process at once (until they would have expired anyway)."""
    store = runtime().state_store
    store.set(f"revoked:{claims['jti']}", "1", max(seconds_left(claims["exp"]), 1))
    if claims.get("sid"):
        ttl = int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds())
        store.set(f"revoked-session:{claims['sid']}", "1", max(ttl, 1))


def is_token_revoked(claims: dict) -> bool:
    """True when the token's session was logged out, its account's sessions were revoked after it
    was issued, or its account is disabled or gone (two state-store reads on the hot path)."""
    store = runtime().state_store
    sid = claims.get("sid")
    if store.get(f"revoked-session:{sid}" if sid else f"revoked:{claims['jti']}") is not None:
        return True
    status = account_status(claims["sub"])
    return status is None or status[0] or status[1] != claims.get("sv", 0)


def account_status(account_id: uuid.UUID | str) -> tuple[bool, int] | None:
    """``(disabled, session_version)`` of an account from the state store (loaded from the database
    when absent); None when there is no such account."""
    key = f"account:{account_id}"
    store = runtime().state_store
    value = store.get(key)
    if value is None:
        try:
            row = db.session.execute(sa.select(Account.disabled_at, Account.session_version)
                                     .where(Account.id == uuid.UUID(str(account_id)))).first()
        except ValueError:
            return None
        if row is None:
            return None
        value = f"{int(row.disabled_at is not None)}:{row.session_version}"
        # Only when absent: a change published meanwhile must not be overwritten by this older read.
        store.add(key, value, current_app.config["ACCOUNT_STATE_TTL_S"])
    disabled, version = value.split(":")
    return disabled == "1", int(version)


def check_enabled(account_id: uuid.UUID) -> None:
    """Raise ``ForbiddenError`` (403) when the account is disabled or gone (API-key calls)."""
    status = account_status(account_id)
    if status is None or status[0]:
        raise ForbiddenError(DISABLED_MESSAGE)


def standing_key(account_id: uuid.UUID) -> str | None:
    """The Redis key of the account's published status when the quota ledger can check it within
    its reservation (``llmops.quota``: it shares the state store's Redis), else None — then call
    ``check_enabled``."""
    store, ledger = runtime().state_store, runtime().quota_ledger
    return store.redis_key(f"account:{account_id}") if ledger.reads_state(store) else None


def _publish(account: Account) -> None:
    """Write the account's committed status to the state store (seen by every process)."""
    runtime().state_store.set(
        f"account:{account.id}", f"{int(account.disabled_at is not None)}:{account.session_version}",
        current_app.config["ACCOUNT_STATE_TTL_S"])


def _bump_sessions(account: Account) -> None:
    """Revoke every token issued so far (commit, then :func:`_publish`)."""
    db.session.execute(sa.update(Account).where(Account.id == account.id)
                       .values(session_version=Account.session_version + 1))
    db.session.refresh(account, ["session_version"])


def revoke_sessions(account_id: uuid.UUID) -> Account:
    """Refuse every access and refresh token issued to the account so far (API keys keep working)."""
    account = get_account(account_id)
    _bump_sessions(account)
    db.session.commit()
    _publish(account)
    return account


def set_disabled(account_id: uuid.UUID, disabled: bool, by: uuid.UUID | None = None) -> Account:
    """Disable (its keys and tokens are refused at once, its sessions revoked) or enable an account;
    ``by``, the admin acting, cannot disable their own account (``FailError``)."""
    if disabled and by == account_id:
        raise FailError("an admin cannot disable their own account")
    account = get_account(account_id)
    if disabled and account.disabled_at is None:
        account.disabled_at = utcnow()
        _bump_sessions(account)
    elif not disabled:
        account.disabled_at = None
    db.session.commit()
    _publish(account)
    return account


# --- registration and login -----------------------------------------------------------------------

def registration_policy() -> str:
    """``REGISTRATION``: open, invite or closed."""
    return current_app.config["REGISTRATION"]


def _check_policy(invite_code: str | None) -> None:
    """Refuse a registration the policy does not allow (403 naming ``invite_code``)."""
    policy = registration_policy()
    if policy == "closed":
        raise ForbiddenError("registration is closed: accounts are created by an administrator")
    if policy == "invite" and not (invite_code or "").strip():
        raise ForbiddenError("registration needs an invite code", data={"invite_code": ["required"]})


def _create_account(account: Account, invite_code: str | None, conflict: ConflictError) -> Account:
    """Insert the account and, under ``REGISTRATION=invite``, use up the invite code in the same
    transaction (a code admits exactly one account under any concurrency)."""
    db.session.add(account)
    balance_service.signup_credit(account)
    try:
        db.session.flush()
        if registration_policy() == "invite":
            invite_service.claim(invite_code or "", account.id)
        db.session.commit()
    except sa.exc.IntegrityError as exc:  # a concurrent registration of the same e-mail / name
        db.session.rollback()
        raise conflict from exc
    except Exception:
        db.session.rollback()
        raise
    return account


def register(name: str, email: str, password: str, ip: str = "", invite_code: str | None = None) -> Account:
    """Create an account, logged in (committed) → the account, for a new session; 409 if the e-mail
    is taken, 403 when ``REGISTRATION`` refuses it."""
    _check_policy(invite_code)
    email = email.strip().lower()
    conflict = ConflictError("this e-mail is already registered", data={"email": ["already registered"]})
    if db.session.scalar(sa.select(Account.id).where(Account.email == email)):
        raise conflict
    account = Account(name=name.strip(), email=email, password_hash=_hasher.hash(password),
                      last_login_at=utcnow(), last_login_ip=ip)
    return _create_account(account, invite_code, conflict)


def password_login(email: str, password: str, ip: str = "") -> Account:
    """Check the password → the account, for a new session; one generic 401 for any mismatch, 403
    for a disabled account (told only to whoever knows its password)."""
    account = db.session.scalar(sa.select(Account).where(Account.email == email.strip().lower()))
    return _login(account, password, ip, "wrong e-mail or password")


def _login(account: Account | None, password: str, ip: str, mismatch: str) -> Account:
    """Verify (against a dummy hash when there is no account: uniform timing), rehash when the
    parameters changed, stamp the login → the account; ``UnauthorizedError(mismatch)`` otherwise."""
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        account = None
    if account is None:
        raise UnauthorizedError(mismatch)
    if account.disabled_at is not None:
        raise ForbiddenError(DISABLED_MESSAGE)
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.last_login_at, account.last_login_ip = utcnow(), ip
    db.session.commit()
    return account


# Seed 000 accounts have a user name and no e-mail; they get this reserved, never-deliverable
# address (RFC 2606 ``.invalid``) so the e-mail column stays unique and required.
USERNAME_EMAIL_DOMAIN = "users.invalid"


def username_email(username: str) -> str:
    """The reserved address of a seed-000 account: the lower-cased name plus a digest of the exact
    name, so names differing only in case (``Alice``, ``alice``) get different addresses."""
    digest = hashlib.sha256(username.encode()).hexdigest()[:10]
    return f"{username.lower()}.{digest}@{USERNAME_EMAIL_DOMAIN}"


def register_username(username: str, password: str, ip: str = "", invite_code: str | None = None) -> Account:
    """Seed 000 "Register User": an account known by ``username`` (case-sensitive); ``ConflictError``
    when the name is taken, 403 when ``REGISTRATION`` refuses it."""
    _check_policy(invite_code)
    conflict = ConflictError("username already exists", data={"username": ["already exists"]})
    if db.session.scalar(sa.select(Account.id).where(Account.username == username)):
        raise conflict
    account = Account(name=username, username=username, email=username_email(username),
                      password_hash=_hasher.hash(password), last_login_ip=ip)
    return _create_account(account, invite_code, conflict)


def username_login(username: str, password: str, ip: str = "") -> Account:
    """Seed 000 "Login User" → the account, for a new session; one generic 401 for any mismatch."""
    return _login(db.session.scalar(sa.select(Account).where(Account.username == username)), password, ip,
                  "invalid username or password")


def create_external_account(name: str, email: str, avatar: str = "", ip: str = "",
                            invite_code: str | None = None) -> Account:
    """An account made by a third-party login (its e-mail verified by the provider) with a random
    password nobody knows (committed); 403 when ``REGISTRATION`` refuses it, as for ``register``."""
    _check_policy(invite_code)
    account = Account(name=name.strip() or email.split("@")[0], email=email.strip().lower(), avatar=avatar,
                      password_hash=_hasher.hash(secrets.token_urlsafe(32)), last_login_at=utcnow(), last_login_ip=ip)
    conflict = ConflictError("this e-mail is already registered", data={"email": ["already registered"]})
    return _create_account(account, invite_code, conflict)


def external_login(account: Account, ip: str = "") -> Account:
    """Log ``account`` in after a third-party login (stamped, committed) → the account, for a new
    session; 403 when it is disabled."""
    if account.disabled_at is not None:
        raise ForbiddenError(DISABLED_MESSAGE)
    account.last_login_at, account.last_login_ip = utcnow(), ip
    db.session.commit()
    return account


def get_account(account_id: uuid.UUID | str) -> Account:
    """The account; raises ``NotFoundError``."""
    account = db.session.get(Account, uuid.UUID(str(account_id)))
    if account is None:
        raise NotFoundError("account not found")
    return account


def update_name(account_id: uuid.UUID, name: str) -> Account:
    account = get_account(account_id)
    account.name = name.strip()
    db.session.commit()
    return account


def update_avatar(account_id: uuid.UUID, avatar: str) -> Account:
    """Course 7.4: the avatar's URL (e.g. from ``POST /upload-files/image``)."""
    account = get_account(account_id)
    account.avatar = avatar
    db.session.commit()
    return account


def update_password(account_id: uuid.UUID, current_password: str, new_password: str) -> Account:
    """Change the password after checking the current one (``FailError`` naming the field). Every
    token issued before is revoked, the caller's too → the account, for new tokens of the caller's
    session."""
    account = get_account(account_id)
    try:
        _hasher.verify(account.password_hash, current_password)
    except (VerificationError, InvalidHashError) as exc:
        raise FailError("the current password is wrong", data={"current_password": ["wrong password"]}) from exc
    account.password_hash = _hasher.hash(new_password)
    _bump_sessions(account)
    db.session.commit()
    _publish(account)
    return account


def create_admin(email: str, name: str, password: str, promote: bool = False) -> tuple[Account, bool]:
    """Create an admin account → ``(account, True)``; an existing e-mail is refused
    (``ConflictError``) unless ``promote``: then it becomes admin, its password unchanged and its
    sessions revoked → ``(account, False)``."""
    email = email.strip().lower()
    account = db.session.scalar(sa.select(Account).where(Account.email == email))
    if account is not None and not promote:
        raise ConflictError(f"an account with the e-mail {email} already exists (use --promote to make it admin)")
    if account is None:
        account = Account(name=name, email=email, password_hash=_hasher.hash(password), is_admin=True)
        db.session.add(account)
        db.session.commit()
        return account, True
    account.is_admin = True
    _bump_sessions(account)
    db.session.commit()
    _publish(account)
    return account, False


def status_dict(account: Account) -> dict:
    """An account's standing as the admin routes show it (times in Unix seconds)."""
    return {"id": str(account.id), "email": account.email, "name": account.name, "is_admin": account.is_admin,
            "disabled": account.disabled_at is not None, "disabled_at": unix(account.disabled_at),
            "session_version": account.session_version}


def require_admin(account_id: uuid.UUID) -> uuid.UUID:
    """``account_id`` when it is an admin's; ``ForbiddenError`` otherwise."""
    account = db.session.get(Account, account_id)
    if account is None or not account.is_admin:
        raise ForbiddenError("admin only")
    return account.id


def get_account_by_email(email: str) -> Account:
    """The account with this e-mail; ``NotFoundError`` otherwise (admin CLI)."""
    account = db.session.scalar(sa.select(Account).where(Account.email == email.strip().lower()))
    if account is None:
        raise NotFoundError(f"no account with the e-mail {email}")
    return account
