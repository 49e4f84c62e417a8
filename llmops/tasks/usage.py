"""Usage-log tasks (queue ``usage``)."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import DBAPIError

from llmops.extensions import db
from llmops.services.core import usage_service
from llmops.services.gateway import billing_service


@shared_task(name="llmops.tasks.usage.write_usage", autoretry_for=(DBAPIError,), retry_backoff=1,
             retry_backoff_max=30, max_retries=8)
def write_usage(records: list[dict]) -> int:
    """Insert one batch of gateway usage records (idempotent by ``request_id``); a database error
    (a lost connection) is retried with backoff — past that, the calls' holds let the
    reconciliation job write them."""
    try:
        return usage_service.write_usage(records)
    except DBAPIError:
        db.session.rollback()
        raise


@shared_task(name="llmops.tasks.usage.purge_usage_logs")
def purge_usage_logs() -> int:
    """Roll up and delete usage-log rows past ``USAGE_LOG_RETENTION_DAYS`` (beat, hourly)."""
    return billing_service.purge_logs()


@shared_task(name="llmops.tasks.usage.reconcile_usage")
def reconcile_usage() -> dict:
    """Settle calls whose process died, write usage rows lost from a buffer, correct the Redis
    ledger's drift from the database (beat, each minute; ``usage_service.reconcile``)."""
    return usage_service.reconcile()
