"""The money ledger under concurrency: SQLite in the embedded profile; PostgreSQL's conditional
updates and the Redis Lua script in the services profile. N reservations race for a balance (or a
key's cap) that allows M < N: exactly M win, and settling leaves the exact total, never below 0."""

import threading
import uuid

import pytest

from llmops.extensions import db
from llmops.models import Account, ApiKey
from llmops.quota import ACCOUNT_REFUSED, KEY_REFUSED, DatabaseQuotaLedger, make_quota_ledger


def make_account(app, balance: int, cap: int | None = None) -> tuple[uuid.UUID, uuid.UUID]:
    with app.app_context():
        account = Account(name="q", email=f"q-{uuid.uuid4().hex[:8]}@example.com", password_hash="x", balance=balance)
        db.session.add(account)
        db.session.flush()
        key = ApiKey(account_id=account.id, key_hash=uuid.uuid4().hex * 2, quota=cap, used_quota=0)
        db.session.add(key)
        db.session.commit()
        return account.id, key.id


def rows(app, account_id, key_id) -> tuple[int, int, int]:
    with app.app_context():
        db.session.expire_all()
        account, key = db.session.get(Account, account_id), db.session.get(ApiKey, key_id)
        return account.balance, account.used, key.used_quota


def race(count: int, target) -> list:
    results, barrier = [None] * count, threading.Barrier(count)

    def run(i):
        barrier.wait()
        results[i] = target()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_exactly_m_of_n_reservations_win_on_the_balance(app):
    account, key = make_account(app, 50)
    with app.app_context():
        ledger = app.runtime.quota_ledger
        wins = race(20, lambda: ledger.reserve(account, key, 10))
        assert wins.count(None) == 5 and set(wins) == {None, ACCOUNT_REFUSED}  # 50 credits / 10 per call
        for _ in range(5):
            assert ledger.settle(account, key, 10, 7)[0] == 7  # each cost 7 of its 10
        assert ledger.reserve(account, key, 15) is None  # 50 - 35 = 15 left
        assert ledger.reserve(account, key, 1) == ACCOUNT_REFUSED
        assert ledger.settle(account, key, 15, 15)[0] == 15


def test_the_keys_cap_and_the_balance_both_hold(app):
    account, key = make_account(app, 1000, cap=30)
    with app.app_context():
        ledger = app.runtime.quota_ledger
        wins = race(10, lambda: ledger.reserve(account, key, 10))
        assert wins.count(None) == 3 and set(wins) == {None, KEY_REFUSED}
        for _ in range(3):
            ledger.settle(account, key, 10, 10)
        assert ledger.reserve(account, None, 100) is None  # the account pays without that key
        ledger.settle(account, None, 100, 100)


def test_a_cost_above_the_reservation_never_takes_the_balance_below_zero(app):
    account, key = make_account(app, 40)
    with app.app_context():
        ledger = app.runtime.quota_ledger
        assert ledger.reserve(account, key, 30) is None
        assert ledger.settle(account, key, 30, 55)[0] == 40  # 10 were left for the excess of 25
        assert ledger.reserve(account, key, 1) == ACCOUNT_REFUSED


def test_database_ledger_on_this_profiles_database(app):
    """The conditional SQL updates hold under concurrency on SQLite and on PostgreSQL, and the
    rows are exact at once."""
    account, key = make_account(app, 50, cap=40)
    with app.app_context():
        ledger = DatabaseQuotaLedger(db.engine)
        wins = race(16, lambda: ledger.reserve(account, key, 5))
        assert wins.count(None) == 8  # the key's 40, before the account's 50
        assert rows(app, account, key) == (10, 0, 40)
        for _ in range(8):
            ledger.settle(account, key, 5, 4)
        assert rows(app, account, key) == (18, 32, 32)
        assert ledger.settle(account, key, 0, 0) == (0, None)  # a free call touches nothing


def test_redis_ledger_is_seeded_from_the_database(app, profile):
    if profile != "services":
        pytest.skip("Redis is the services profile's ledger")  # embedded: covered by the database ledger
    account, key = make_account(app, 5, cap=50)
    with app.app_context():
        ledger = make_quota_ledger(app.config["QUOTA_STORE_URL"], lambda: db.engine)
        assert ledger.reserve(account, key, 5) is None and ledger.reserve(account, key, 1) == ACCOUNT_REFUSED
        ledger.credit(account, 3)  # a grant or a redeemed code adds to what is left
        assert ledger.reserve(account, key, 3) is None
        db.session.get(ApiKey, key).used_quota = 49
        db.session.commit()
        ledger.forget(key)  # the cap changed: re-seeded from the row (1 left)
        ledger.credit(account, 100)
        assert ledger.reserve(account, key, 2) == KEY_REFUSED and ledger.reserve(account, key, 1) is None


def test_open_streams_are_counted_per_key(app):
    with app.app_context():
        ledger = app.runtime.quota_ledger
        key = uuid.uuid4()
        tokens = race(6, lambda: ledger.acquire_stream(key, 2, 60))
        held = [t for t in tokens if t]
        assert len(held) == 2
        ledger.release_stream(key, held[0])
        assert ledger.acquire_stream(key, 2, 60) is not None and ledger.acquire_stream(key, 2, 60) is None
