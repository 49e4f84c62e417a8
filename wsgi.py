"""WSGI entry point: ``gunicorn -k gevent -c workers/gunicorn.conf.py wsgi:app``."""

from llmops import create_app

app = create_app()
