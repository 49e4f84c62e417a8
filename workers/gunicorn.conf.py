"""gunicorn settings for the api process (gevent workers for SSE); values come from config.py."""

import os
import shutil

from config import load_config

_config = load_config()

bind = f"{_config.HOST}:{_config.PORT}"
worker_class = "gevent"
workers = _config.WEB_CONCURRENCY
worker_connections = _config.WORKER_CONNECTIONS
timeout = 120  # gevent workers heartbeat between requests; streams are not cut by this
graceful_timeout = 20
keepalive = 5
accesslog = "-" if _config.ACCESS_LOG else None
# Redeem codes, keys and tokens in query strings are written as *** (llmops/access_log.py).
logger_class = "llmops.access_log.MaskingLogger"
errorlog = "-"
loglevel = "info"

# prometheus-client multiprocess mode: each worker writes its samples under this folder and
# /metrics adds them up. It must be set before a worker imports prometheus_client.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _config.PROMETHEUS_MULTIPROC_DIR


def on_starting(server):
    shutil.rmtree(_config.PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
    os.makedirs(_config.PROMETHEUS_MULTIPROC_DIR, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """A worker stopping (SIGTERM, a restart, max requests): send its buffered usage records first."""
    app = getattr(worker, "wsgi", None)
    if app is not None and hasattr(app, "runtime"):
        from llmops.services.core.usage_service import flush_on_exit

        flush_on_exit(app)
