"""Usage-log tasks (queue ``usage``)."""

from __future__ import annotations

from celery import shared_task

from llmops.services import billing_service, usage_service


@shared_task(name="llmops.tasks.usage.write_usage")
def write_usage(records: list[dict]) -> int:
    """Insert one batch of gateway usage records (idempotent by ``request_id``)."""
    return usage_service.write_usage(records)


@shared_task(name="llmops.tasks.usage.purge_usage_logs")
def purge_usage_logs() -> int:
    """Roll up and delete usage-log rows past ``USAGE_LOG_RETENTION_DAYS`` (beat, hourly)."""
    return billing_service.purge_logs()
