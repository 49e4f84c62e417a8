"""llmops: the backend of an LLM application studio (apps, debug chat, memory, knowledge bases,
an OpenAI-compatible gateway). ``create_app(config)`` builds the Flask app."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from config import BASE_DIR, Config, apply_process_environment, load_config


def create_app(config: type[Config] | None = None, **overrides) -> Flask:
    """Build the app from a configuration class (default: ``load_config()``) plus ``overrides``."""
    apply_process_environment()
    config = config or load_config()
    app = Flask(__name__, instance_path=str(config.INSTANCE_DIR))
    app.config.from_object(config)
    app.config.update(overrides)
    from llmops import secret_keys

    secret_keys.configure(app)  # refuses a weak production key before anything else starts
    _mask_request_logs()
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.json.sort_keys = False

    from llmops import cli, extensions, models  # noqa: F401 — models register their tables
    from llmops.api import error_handlers, security
    from llmops.api.auth import init_jwt
    from llmops.runtime import Runtime

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    extensions.jwt.init_app(app)
    init_jwt(extensions.jwt)
    extensions.limiter.init_app(app)
    _init_cors(app)
    extensions.celery_init_app(app)
    with app.app_context():
        app.runtime = Runtime(app)  # this process's clients and caches: llmops.runtime.runtime()
    error_handlers.init_app(app)
    security.init_app(app)

    from llmops.api import openai as openai_api
    from llmops.api import ops
    from llmops.api.compat import caiqi, llm_backend, selfservice, voice_engine
    from llmops.api.studio import (
        admin,
        analysis,
        api_keys,
        apps,
        auth,
        conversations,
        course,
        datasets,
        debug,
        money,
        web_apps,
    )

    for blueprint in (ops.bp, auth.bp, apps.bp, debug.bp, datasets.bp, api_keys.bp, admin.bp, course.bp, openai_api.bp,
                      money.bp, selfservice.bp, caiqi.bp, voice_engine.bp, llm_backend.bp, web_apps.bp, conversations.bp,
                      analysis.bp):
        app.register_blueprint(blueprint)
    from llmops.api.studio import ai as ai_api
    from llmops.api.studio import builtin_apps, oauth

    for blueprint in (ai_api.bp, oauth.bp, builtin_apps.bp):  # course modules 06, 08, 10
        app.register_blueprint(blueprint)
    from llmops.api.studio import assistant_agent, tools

    for blueprint in (tools.bp, assistant_agent.bp):  # course modules 02, 13
        app.register_blueprint(blueprint)
    from llmops.api import openapi

    app.register_blueprint(openapi.bp)  # /openapi.json and /docs: the contract of everything above
    ops.init_app(app)
    from llmops.api import console

    console.init_app(app)  # the web console at / (after every API route: its fallback needs them all)
    cli.init_app(app)
    return app


def _init_cors(app: Flask) -> None:
    """CORS (flask-cors) for ``CORS_ORIGINS``: preflights answered, credentials allowed unless the
    origin list is ``*``; nothing is added when the list is empty."""
    origins = app.config.get("CORS_ORIGINS") or []
    if not origins:
        return
    from flask_cors import CORS

    CORS(app, origins=origins, supports_credentials="*" not in origins, max_age=600,
         allow_headers=["Authorization", "Content-Type"], expose_headers=["Content-Disposition"])


def _mask_request_logs() -> None:
    """werkzeug's request lines (``flask run``) without redeem codes or keys (gunicorn: workers/gunicorn.conf.py)."""
    import logging

    from llmops.access_log import MaskingFilter

    werkzeug_logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, MaskingFilter) for f in werkzeug_logger.filters):
        werkzeug_logger.addFilter(MaskingFilter())


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite is shared by the api, worker and beat processes: WAL and a busy timeout."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
