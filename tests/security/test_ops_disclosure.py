"""Operations endpoints do not hand internals to strangers: ``/readyz`` names failing parts but not
their hosts, ports or versions (an admin's JWT sees the reasons), ``/api/about`` carries no URL or
version, and ``/metrics`` needs ``METRICS_TOKEN`` when one is set."""

from __future__ import annotations

import re


def test_readyz_hides_the_failure_details_from_anonymous_callers(app, client, admin_auth, auth, monkeypatch):
    monkeypatch.setitem(app.config, "LOCAL_LLM_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens on the discard port
    monkeypatch.delattr(app.runtime, "model_registry")  # a fresh cache, the old one back afterwards
    anonymous = client.get("/readyz")
    user = client.get("/readyz", headers=auth)
    admin = client.get("/readyz", headers=admin_auth)
    for response in (anonymous, user):
        body = response.get_json()
        assert response.status_code == 503 and body["failing"] == ["default_model"]
        assert body["checks"]["default_model"] == "failing" and body["checks"]["database"] == "ok"
        assert "127.0.0.1" not in response.get_data(as_text=True) and "Error" not in response.get_data(as_text=True)
    assert admin.status_code == 503 and admin.get_json()["checks"]["default_model"] not in ("ok", "failing")


def test_about_shows_no_internal_url_or_version(client):
    text = client.get("/api/about").get_data(as_text=True)
    assert not re.search(r"https?://|127\.0\.0\.1|localhost|\d+\.\d+\.\d+", text), text[:500]


def test_metrics_need_the_token_when_one_is_set(app, client, monkeypatch):
    assert client.get("/metrics").status_code == 200  # unset: open, as before (e.g. a private scrape)
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-token-0123456789")
    anonymous = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert anonymous.status_code == 401 and "llmops_" not in anonymous.get_data(as_text=True)
    assert wrong.status_code == 401
    assert right.status_code == 200 and "llmops_" in right.get_data(as_text=True)
