"""Smoke-size runs of B1 and B2 so the benchmarks keep working (figures come from make bench).
They run the production profile (PostgreSQL + Redis), so once per make test: in the services run."""

import pytest

from bench import b1_gateway, b2_streams


@pytest.fixture
def services_only(profile):
    if profile != "services":
        pytest.skip("B1/B2 run the production profile (PostgreSQL + Redis): the services run covers them")


def test_b1_smoke(services_only):
    result = b1_gateway.run([2], requests=10, with_litellm=False)
    for row in result["results"].values():
        assert row["ours"]["errors"] == row["direct"]["errors"] == 0 and row["ours"]["p50_ms"] > 0
    assert "B1" in b1_gateway.table(result)


def test_b2_smoke(services_only):
    result = b2_streams.run(20)
    assert result["completed"] == 20 and result["errors"] == 0
    assert "B2" in b2_streams.table(result)
