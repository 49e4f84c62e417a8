"""Conversation tasks (queue ``memory``)."""

from __future__ import annotations

import uuid

from celery import shared_task

from llmops.providers.errors import ProviderError
from llmops.services.studio import conversation_service


@shared_task(name="llmops.tasks.conversations.auto_name", autoretry_for=(ProviderError,), retry_backoff=5,
             max_retries=2)
def auto_name(conversation_id: str, message_id: str) -> None:
    """Name a web-app conversation after its first round (the fallback name stays on failure)."""
    conversation_service.auto_name(uuid.UUID(conversation_id), uuid.UUID(message_id))
