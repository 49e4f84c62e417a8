"""The web console (``web/``, built by ``make run`` into ``web/dist``) served by the api.

* ``GET /`` and every unknown ``GET`` path whose first segment no API route uses (the console's
  own pages: ``/console/apps/…``, ``/console/self-service``…) → ``index.html`` (history-API
  fallback); ``/assets/<file>`` → the build's hashed files. API paths keep their JSON 404s.
* When the console is not built, ``/`` answers 404 in the studio envelope saying how to build it.
* ``GET /auth/registration-policy`` (public) → ``{"mode": "open" | "invite" | "closed"}``: the
  sign-up form shows the invite-code field or hides registration accordingly.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, request, send_from_directory
from werkzeug.exceptions import NotFound

from llmops.api import error_handlers
from llmops.api.responses import envelope, ok
from llmops.services.core import account_service

bp = Blueprint("console", __name__)

NOT_BUILT = "the web console is not built: run `make run`, or `cd web && npm ci && npm run build`"


def _dist() -> Path:
    return Path(current_app.config["CONSOLE_DIST"])


def _index():
    index = _dist() / "index.html"
    if not index.is_file():
        return envelope("not_found", {}, NOT_BUILT, 404)
    response = send_from_directory(_dist(), "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/")
def index():
    """The web console (its built index.html; 404 naming the build step when it is not built)."""
    return _index()


@bp.get("/assets/<path:name>")
def assets(name: str):
    """The build's content-hashed files (immutable, cached for a year)."""
    response = send_from_directory(_dist() / "assets", name, max_age=31536000)
    return response


@bp.get("/auth/registration-policy")
def registration_policy():
    """Public: the registration policy (``open``, ``invite`` or ``closed``)."""
    return ok({"mode": account_service.registration_policy()})


def _api_segments(app: Flask) -> set[str]:
    """First path segments used by any route but the console's own (computed once)."""
    segments = app.runtime.console_api_segments
    if segments is None:
        segments = {rule.rule.lstrip("/").split("/", 1)[0] for rule in app.url_map.iter_rules()
                    if not rule.endpoint.startswith("console.") and rule.endpoint != "static"}
        segments.discard("")
        app.runtime.console_api_segments = segments
    return segments


def _not_found(exc: NotFound):
    """History-API fallback: a GET for a path no API family owns is one of the console's pages."""
    first = request.path.lstrip("/").split("/", 1)[0]
    if request.method in ("GET", "HEAD") and first not in _api_segments(current_app) \
            and first != "assets" and "." not in first:
        return _index()
    return error_handlers.handle_http_exception(exc)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(404, _not_found)
