"""Readiness checks (docs/api.md D): database, broker, vector store, file storage, default model."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from llmops.extensions import db
from llmops.runtime import runtime
from llmops.services.core import model_service


def check_readiness() -> dict[str, str]:
    """Each part → ``"ok"`` or the reason it failed; never raises."""
    return {
        "database": _check(_database),
        "state_store": _check(lambda: runtime().state_store.ping()),
        "broker": _check(_broker),
        "vector_store": _check(_vector_store),
        "file_storage": _check(lambda: runtime().storage.exists("readyz-probe")),
        "default_model": _check(_default_model),
    }


def _check(probe) -> str:
    try:
        probe()
        return "ok"
    except Exception as exc:  # noqa: BLE001 — a readiness probe reports, it does not fail
        db.session.rollback()
        return f"{exc.__class__.__name__}: {str(exc)[:200]}"


def _database() -> None:
    db.session.execute(sa.text("SELECT 1"))


def _broker() -> None:
    celery = current_app.extensions["celery"]
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)


def _vector_store() -> None:
    runtime().vector_store.client.heartbeat()


def _default_model() -> None:
    config = current_app.config
    model_service.get_chat_client(config["DEFAULT_LLM_PROVIDER"]).probe()
