"""Periodic jobs run by beat."""

from __future__ import annotations

from celery import shared_task

from llmops.runtime import runtime
from llmops.services.studio import memory_service


@shared_task(name="llmops.tasks.maintenance.redispatch_pending_memory")
def redispatch_pending_memory() -> int:
    """Queue again long-term-memory folds left pending (e.g. by a killed worker)."""
    return memory_service.redispatch_pending()


@shared_task(name="llmops.tasks.maintenance.purge_expired_state")
def purge_expired_state() -> int:
    """Delete expired revocations and stop flags from the database state store."""
    return runtime().state_store.purge_expired()


@shared_task(name="llmops.tasks.maintenance.redispatch_stuck_documents")
def redispatch_stuck_documents() -> int:
    """Queue again documents stuck in a pipeline stage (e.g. their worker was killed)."""
    from llmops.services.knowledge import indexing_service

    return indexing_service.redispatch_stuck()


@shared_task(name="llmops.tasks.maintenance.sweep_index_orphans")
def sweep_index_orphans() -> dict:
    """Remove vectors, collections, postings and parsed files a crash left behind (beat, hourly)."""
    from llmops.services.ops import index_sweeper

    return index_sweeper.sweep()


@shared_task(name="llmops.tasks.maintenance.sweep_orphan_files")
def sweep_orphan_files() -> int:
    """Delete stored files (uploads, parsed text) no record needs any more (``llmops.services.knowledge.stored_files``)."""
    from llmops.services.knowledge import stored_files

    return stored_files.sweep_orphans()
