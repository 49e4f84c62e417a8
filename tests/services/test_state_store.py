"""The Redis clients of a process (state store, quota ledger) under more concurrency than their pool."""

from __future__ import annotations

import threading

import pytest

from llmops.state import RedisStateStore
from tests.conftest import redis_test_url


@pytest.fixture
def redis_only(profile):
    if profile != "services":
        pytest.skip("Redis is the services profile's state store")


def test_calls_beyond_the_pool_wait_for_a_connection_instead_of_failing(redis_only):
    """A gevent api worker holds hundreds of requests at once; redis-py's default pool raised
    ``MaxConnectionsError`` past 100 (B2 lost 773 of 1,000 streams that way)."""
    store = RedisStateStore(redis_test_url(), max_connections=2)
    errors: list[Exception] = []

    def blocking_call() -> None:
        try:
            store.client.blpop(["llmops:test:never-pushed"], timeout=0.3)  # holds a connection 0.3 s
        except Exception as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=blocking_call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.client.connection_pool.max_connections == 2
