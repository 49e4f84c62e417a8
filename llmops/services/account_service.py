"""Accounts: registration, password login, logout (token revocation), profile."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_jwt_extended import create_access_token, decode_token

from llmops.errors import ConflictError, FailError, ForbiddenError, NotFoundError, UnauthorizedError
from llmops.extensions import db
from llmops.models import Account
from llmops.models.base import utcnow

_hasher = PasswordHasher()
# Verifying against a dummy hash when the e-mail is unknown keeps login timing uniform.
_DUMMY_HASH = _hasher.hash("dummy-password-for-timing-1")


def _issue_token(account: Account) -> dict:
    token = create_access_token(identity=str(account.id))
    expire_at = decode_token(token)["exp"]
    return {"access_token": token, "expire_at": expire_at}


def register(name: str, email: str, password: str, ip: str = "") -> dict:
    """Create an account and log it in → ``{access_token, expire_at}``; 409 if the e-mail is taken."""
    email = email.strip().lower()
    if db.session.scalar(sa.select(Account.id).where(Account.email == email)):
        raise ConflictError("this e-mail is already registered", data={"email": ["already registered"]})
    account = Account(name=name.strip(), email=email, password_hash=_hasher.hash(password),
                      last_login_at=utcnow(), last_login_ip=ip)
    db.session.add(account)
    try:
        db.session.commit()
    except sa.exc.IntegrityError as exc:  # a concurrent registration of the same e-mail
        db.session.rollback()
        raise ConflictError("this e-mail is already registered", data={"email": ["already registered"]}) from exc
    return _issue_token(account)


def password_login(email: str, password: str, ip: str = "") -> dict:
    """Check the password → ``{access_token, expire_at}``; one generic 401 for any mismatch."""
    account = db.session.scalar(sa.select(Account).where(Account.email == email.strip().lower()))
    return _login(account, password, ip, "wrong e-mail or password")


def _login(account: Account | None, password: str, ip: str, mismatch: str) -> dict:
    """Verify (against a dummy hash when there is no account: uniform timing), rehash when the
    parameters changed, stamp the login → a token; ``UnauthorizedError(mismatch)`` otherwise."""
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        account = None
    if account is None:
        raise UnauthorizedError(mismatch)
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.last_login_at, account.last_login_ip = utcnow(), ip
    db.session.commit()
    return _issue_token(account)


# Seed 000 accounts have a user name and no e-mail; they get this reserved, never-deliverable
# address (RFC 2606 ``.invalid``) so the e-mail column stays unique and required.
USERNAME_EMAIL_DOMAIN = "users.invalid"


def register_username(username: str, password: str, ip: str = "") -> Account:
    """Seed 000 "Register User": an account known by ``username`` (case-sensitive); ``ConflictError``
    when the name is taken."""
    if db.session.scalar(sa.select(Account.id).where(Account.username == username)):
        raise ConflictError("username already exists", data={"username": ["already exists"]})
    account = Account(name=username, username=username, email=f"{username.lower()}@{USERNAME_EMAIL_DOMAIN}",
                      password_hash=_hasher.hash(password), last_login_ip=ip)
    db.session.add(account)
    try:
        db.session.commit()
    except sa.exc.IntegrityError as exc:  # a concurrent registration of the same name
        db.session.rollback()
        raise ConflictError("username already exists", data={"username": ["already exists"]}) from exc
    return account


def username_login(username: str, password: str, ip: str = "") -> dict:
    """Seed 000 "Login User" → ``{access_token, expire_at}`` (the same JWT as the studio's);
    one generic 401 for any mismatch."""
    account = db.session.scalar(sa.select(Account).where(Account.username == username))
    return _login(account, password, ip, "invalid username or password")


def logout(jti: str, expires_at: int) -> None:
    """Revoke the token ``jti`` until it would expire anyway (seen by every process at once)."""
    ttl = max(int(expires_at - datetime.now(UTC).timestamp()), 1)
    current_app.extensions["state_store"].set(f"revoked:{jti}", "1", ttl)


def is_token_revoked(jti: str) -> bool:
    """True when ``jti`` was logged out."""
    return current_app.extensions["state_store"].get(f"revoked:{jti}") is not None


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


def update_password(account_id: uuid.UUID, current_password: str, new_password: str) -> None:
    """Change the password after checking the current one (``FailError`` naming the field)."""
    account = get_account(account_id)
    try:
        _hasher.verify(account.password_hash, current_password)
    except (VerificationError, InvalidHashError) as exc:
        raise FailError("the current password is wrong", data={"current_password": ["wrong password"]}) from exc
    account.password_hash = _hasher.hash(new_password)
    db.session.commit()


def create_admin(email: str, name: str, password: str) -> Account:
    """Create an admin account, or promote the existing account with this e-mail."""
    email = email.strip().lower()
    account = db.session.scalar(sa.select(Account).where(Account.email == email))
    if account is None:
        account = Account(name=name, email=email, password_hash=_hasher.hash(password))
        db.session.add(account)
    account.is_admin = True
    db.session.commit()
    return account


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
