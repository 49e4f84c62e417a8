"""Celery entry point: ``celery -A celery_app worker -Q memory,indexing,usage`` / ``celery -A celery_app beat``.

Tasks run inside the Flask app's context (``llmops.extensions.celery_init_app``). When a worker
starts it re-queues work the database says is still pending, so a worker killed mid-task (whose
broker message the SQLite transport can no longer redeliver) loses nothing.
"""

from celery.signals import worker_ready

from llmops import create_app
from llmops.services import indexing_service, memory_service

flask_app = create_app()
celery = flask_app.extensions["celery"]


@worker_ready.connect
def _redispatch_pending_work(**_kwargs) -> None:
    with flask_app.app_context():
        memory_service.redispatch_pending()
        indexing_service.redispatch_stuck()
