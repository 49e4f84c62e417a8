"""gunicorn settings for the api process (gevent workers for SSE); values come from config.py."""

from config import load_config

_config = load_config()

bind = f"{_config.HOST}:{_config.PORT}"
worker_class = "gevent"
workers = _config.WEB_CONCURRENCY
worker_connections = _config.WORKER_CONNECTIONS
timeout = 120  # gevent workers heartbeat between requests; streams are not cut by this
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = "info"
