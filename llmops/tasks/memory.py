"""Long-term-memory tasks (queue ``memory``)."""

from __future__ import annotations

import uuid

from celery import shared_task

from llmops.providers.errors import ProviderError
from llmops.services.studio import memory_service


@shared_task(
    name="llmops.tasks.memory.fold_round",
    autoretry_for=(ProviderError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
)
def fold_round(message_id: str) -> None:
    """Fold one finished round into its conversation summary (idempotent)."""
    memory_service.fold_round(uuid.UUID(message_id))
