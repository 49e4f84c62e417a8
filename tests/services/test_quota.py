"""The quota ledger under concurrency: SQLite in the embedded profile; PostgreSQL's conditional
update and the Redis Lua script in the services profile. N reservations race for a quota that
allows M < N: exactly M win, and settling leaves the exact total."""

import threading
import uuid

import pytest

from llmops.extensions import db
from llmops.models import Account, ApiKey
from llmops.quota import DatabaseQuotaLedger, make_quota_ledger


@pytest.fixture
def limited_key(app):
    with app.app_context():
        account = Account(name="q", email=f"q-{uuid.uuid4().hex[:8]}@example.com", password_hash="x")
        db.session.add(account)
        db.session.flush()
        key = ApiKey(account_id=account.id, key_hash=uuid.uuid4().hex * 2, quota=50, used_quota=0)
        db.session.add(key)
        db.session.commit()
        return key.id


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


def test_exactly_m_of_n_reservations_win(app, limited_key):
    with app.app_context():
        ledger = app.extensions["quota_ledger"]
        wins = race(20, lambda: ledger.reserve(limited_key, 50, 0, 10))
        assert wins.count(True) == 5  # 50 tokens / 10 per request
        for _ in range(5):
            ledger.settle(limited_key, 50, 10, 7)  # each used 7 of its 10
        assert ledger.reserve(limited_key, 50, 0, 15)  # 50 - 35 = 15 left
        assert not ledger.reserve(limited_key, 50, 0, 1)


def test_database_ledger_on_this_profiles_database(app, limited_key):
    """The conditional SQL update holds under concurrency on SQLite and on PostgreSQL."""
    with app.app_context():
        ledger = DatabaseQuotaLedger(db.engine)
        wins = race(16, lambda: ledger.reserve(limited_key, 50, 0, 5))
        assert wins.count(True) == 10
        assert db.session.get(ApiKey, limited_key).used_quota == 50


def test_redis_ledger_is_seeded_from_the_database(app, profile, limited_key):
    if profile != "services":
        pytest.skip("Redis is the services profile's ledger")  # embedded: covered by the database ledger
    with app.app_context():
        ledger = make_quota_ledger(app.config["QUOTA_STORE_URL"], lambda: db.engine)
        db.session.get(ApiKey, limited_key).used_quota = 45
        db.session.commit()
        ledger.forget(limited_key)
        # seeded from the row (5 left), not from the caller's stale snapshot (used_quota=0)
        assert ledger.reserve(limited_key, 50, 0, 5) and not ledger.reserve(limited_key, 50, 0, 1)
        ledger.credit(limited_key, 3)  # a redeemed code adds to what is left
        assert ledger.reserve(limited_key, 50, 45, 3)
