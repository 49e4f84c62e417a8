"""Account money: balances, the ledger, admin grants and debits (docs/api.md A "Accounts", "admin").

Money is in integer credits: 1 credit = 1e-6 USD. Every change of a balance is one conditional
``UPDATE`` of the account row plus one ``account_ledger`` row in the same transaction (``_apply``),
then the same delta for the Redis counter when the quota ledger lives there (``quota.credit``).
Only admins (``adjust``, the CLI's ``grant``/``debit``), redeem codes (``redeem_service``), the
sign-up credit and settled model calls (``usage_service``) change a balance; no route lets an
account raise its own.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app

from llmops.errors import FailError, NotFoundError
from llmops.extensions import db
from llmops.models import Account, AccountLedger
from llmops.models.base import unix, utcnow
from llmops.runtime import runtime
from llmops.services.common import paginate

MAX_ADJUSTMENT = 10**15  # credits (a billion dollars)


def balance_to_dict(account: Account) -> dict:
    """``{balance, used, unit}`` of an account (credits)."""
    return {"balance": account.balance, "used": account.used, "unit": "credit (1e-6 USD)"}


def apply(account_id: uuid.UUID, delta: int, kind: str, reason: str = "", actor_id: uuid.UUID | None = None) -> int:
    """Add ``delta`` credits to the balance and write the ledger row, in the caller's transaction
    (not committed) → the balance after. A debit that would take the balance below 0 raises
    ``FailError`` naming ``amount``; ``NotFoundError`` for an unknown account."""
    row = db.session.execute(
        sa.update(Account).where(Account.id == account_id, Account.balance + delta >= 0)
        .values(balance=Account.balance + delta).returning(Account.balance)).first()
    if row is None:
        if db.session.get(Account, account_id) is None:
            raise NotFoundError("account not found")
        raise FailError("the balance is smaller than the debit", data={"amount": ["more than the balance"]})
    db.session.add(AccountLedger(account_id=account_id, delta=delta, balance_after=int(row.balance), kind=kind,
                                 reason=reason[:500], actor_id=actor_id, created_at=utcnow()))
    return int(row.balance)


def committed(account_id: uuid.UUID, delta: int) -> None:
    """After the transaction of an ``apply`` committed: move the Redis counter (if any) too."""
    runtime().quota_ledger.credit(account_id, delta)


def adjust(account_id: uuid.UUID, amount: int, reason: str, actor_id: uuid.UUID | None, kind: str = "grant") -> dict:
    """An admin's credit (``kind="grant"``) or debit (``kind="debit"``) of ``amount`` credits with
    a reason → the account's ``{balance, used}``."""
    delta = amount if kind == "grant" else -amount
    try:
        apply(account_id, delta, kind, reason, actor_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    committed(account_id, delta)
    db.session.expire_all()
    return {"id": str(account_id), **balance_to_dict(db.session.get(Account, account_id))}


def signup_credit(account: Account) -> None:
    """Give a new account (added to the session, not flushed) ``NEW_ACCOUNT_CREDIT`` and its
    ledger row, committed with it by the caller."""
    credit = int(current_app.config["NEW_ACCOUNT_CREDIT"])
    if credit <= 0:
        return
    account.id = account.id or uuid.uuid4()
    account.balance, account.used = credit, 0
    db.session.add(AccountLedger(account_id=account.id, delta=credit, balance_after=credit, kind="signup",
                                 reason="NEW_ACCOUNT_CREDIT", created_at=utcnow()))


def get_balance(account_id: uuid.UUID) -> dict:
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFoundError("account not found")
    return balance_to_dict(account)


def ledger_to_dict(row: AccountLedger) -> dict:
    return {"id": str(row.id), "delta": row.delta, "balance_after": row.balance_after, "kind": row.kind,
            "reason": row.reason, "actor_id": str(row.actor_id) if row.actor_id else None,
            "request_id": row.request_id, "created_at": unix(row.created_at)}


def list_ledger(account_id: uuid.UUID, current_page: int, page_size: int) -> tuple[list[dict], dict]:
    """The account's ledger, newest first: grants, debits, redeemed codes, sign-up credit and one
    ``usage`` row per settled priced call."""
    query = sa.select(AccountLedger).where(AccountLedger.account_id == account_id)
    rows, page = paginate(query, (AccountLedger.created_at.desc(), AccountLedger.id), current_page, page_size)
    return [ledger_to_dict(r) for r in rows], page


def escape_like(text: str) -> str:
    """``text`` for a ``LIKE ... ESCAPE '\\'`` pattern: ``%``, ``_`` and ``\\`` match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def account_status(account: Account) -> str:
    """``disabled`` when the account was disabled by an admin, else ``active``."""
    return "disabled" if account.disabled_at is not None else "active"


def admin_account_to_dict(account: Account) -> dict:
    return {"id": str(account.id), "name": account.name, "email": account.email, "is_admin": account.is_admin,
            "status": account_status(account), **balance_to_dict(account),
            "last_login_at": unix(account.last_login_at), "created_at": unix(account.created_at)}


def list_accounts(search_word: str, current_page: int, page_size: int) -> tuple[list[dict], dict]:
    """Admin: accounts whose e-mail or name contains ``search_word`` (case-insensitive, wildcards
    escaped), newest first."""
    query = sa.select(Account)
    if search_word:
        pattern = f"%{escape_like(search_word.lower())}%"
        query = query.where(sa.or_(sa.func.lower(Account.email).like(pattern, escape="\\"),
                                   sa.func.lower(Account.name).like(pattern, escape="\\")))
    rows, page = paginate(query, (Account.created_at.desc(), Account.id), current_page, page_size)
    return [admin_account_to_dict(a) for a in rows], page
