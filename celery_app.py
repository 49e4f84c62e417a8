"""Celery entry point: ``celery -A celery_app worker -Q indexing,memory,usage,maintenance`` / ``celery -A celery_app beat``.

Four queues (``config.celery_settings``' task_routes): ``indexing`` (documents: long, CPU-bound),
``memory`` (memory folds, conversation titles), ``usage`` (usage batches) and ``maintenance``
(beat's periodic jobs). ``make run`` serves all four with one worker; a fleet runs one worker
service per queue, each scaled on its own (README "Production profile").

Tasks run inside the Flask app's context (``llmops.extensions.celery_init_app``). When a worker
starts it re-queues work the database says is still pending, so a worker killed mid-task (whose
broker message the SQLite transport can no longer redeliver) loses nothing.
"""

import os

from celery.signals import worker_init, worker_ready

from llmops import create_app
from llmops.services.knowledge import indexing_service
from llmops.services.studio import memory_service

flask_app = create_app()
celery = flask_app.extensions["celery"]


@worker_init.connect
def _share_cores(sender=None, **_kwargs) -> None:
    """Give each pool process an equal share of the cores for the embedding model, so one
    process parses (one core, Python) while another embeds, instead of both fighting for all
    cores. Runs before the pool forks, so the children inherit the setting."""
    processes = sender.concurrency if isinstance(getattr(sender, "concurrency", None), int) else os.cpu_count()
    if not flask_app.config["EMBEDDING_THREADS"]:
        flask_app.config["EMBEDDING_THREADS"] = max(1, (os.cpu_count() or 1) // max(1, processes or 1))


@worker_ready.connect
def _redispatch_pending_work(**_kwargs) -> None:
    """Re-queue what the database says is pending, now and once more when the claims a killed
    worker left can have expired: a worker restarted right after the kill finds its predecessor's
    leases still live, and beat's next run may be a minute away (or beat may not run at all)."""
    from llmops.tasks import maintenance

    config = flask_app.config
    with flask_app.app_context():
        memory_service.redispatch_pending()
        indexing_service.redispatch_stuck()
    memory_delay = max(config["MEMORY_LEASE_S"], config["MEMORY_REDISPATCH_AFTER_S"]) + 1
    document_delay = max(config["INDEXING_LEASE_S"], config["DOCUMENT_STUCK_AFTER_S"]) + 1
    maintenance.redispatch_pending_memory.apply_async(countdown=memory_delay)
    maintenance.redispatch_stuck_documents.apply_async(countdown=document_delay)
