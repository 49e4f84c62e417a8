"""Helpers for tests that spend money: a priced model on the fake upstream and admin grants.

``PRICED`` is added under the ``local`` provider (which points at the fake upstream in tests) at
1 credit per prompt token and 2 per completion token (USD 1 / 2 per 1M tokens), so a fake answer
(11 prompt + 4 completion tokens) costs exactly 19 credits."""

from __future__ import annotations

from llmops.extensions import db
from llmops.models import Account
from llmops.runtime import runtime
from llmops.services.core import account_service, balance_service, model_service, usage_service

PRICED = "priced-model"
FAKE_CALL_COST = 11 * 1 + 4 * 2


def add_priced_model(app) -> str:
    """Add ``PRICED`` (the ``priced`` fixture of tests/conftest.py)."""
    with app.app_context():
        model_service.set_model_price("local", PRICED, 1.0, 2.0, max_output=1000)
    return PRICED


def grant(app, email: str, amount: int, reason: str = "test credit") -> dict:
    """An admin grant of ``amount`` credits to the account ``email`` → ``{balance, used}``."""
    with app.app_context():
        account = account_service.get_account_by_email(email)
        return balance_service.adjust(account.id, amount, reason, None)


def balance(app, email: str) -> tuple[int, int]:
    """(balance, used) of the account ``email``, read from the database once the buffered usage is
    written (with the Redis ledger the rows follow the usage flush)."""
    with app.app_context():
        usage_service.write_usage(runtime().usage_buffer.drain())
        db.session.expire_all()
        account = db.session.query(Account).filter_by(email=email.lower()).one()
        return account.balance, account.used


def paid_provider(app, fake, monkeypatch):
    """The ``paid_provider`` fixture of tests/conftest.py: the registry's ``deepseek`` provider
    configured (a key set) and served by the fake upstream:
    ``deepseek-chat`` at its listed price, paid by the operator's key."""
    from llmops.models import ProviderOverride

    monkeypatch.setitem(app.config, "PROVIDER_API_KEYS", {**app.config["PROVIDER_API_KEYS"],
                                                          "DEEPSEEK_API_KEY": "sk-operator-secret"})
    with app.app_context():
        model_service.set_provider_override("deepseek", fake.base_url, None, True)
    yield "deepseek-chat"
    with app.app_context():
        db.session.delete(db.session.get(ProviderOverride, "deepseek"))
        db.session.commit()
        app.runtime.reset("model_registry")
