"""Operations endpoints (docs/api.md D, C4): liveness, readiness, Prometheus metrics, and the HTTP
request metrics recorded for every route."""

from __future__ import annotations

import hmac
import time
import uuid

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from llmops import metrics
from llmops.errors import AppError, UnauthorizedError
from llmops.services.core import account_service
from llmops.services.ops import health_service, metrics_service

bp = Blueprint("ops", __name__)


@bp.get("/metrics")
def prometheus_metrics():
    """Prometheus text; with ``METRICS_TOKEN`` set only for ``Authorization: Bearer <METRICS_TOKEN>``."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        presented = request.headers.get("Authorization", "")
        if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
            raise UnauthorizedError("metrics: send Authorization: Bearer <METRICS_TOKEN>")
    body, content_type = metrics_service.render()
    return Response(body, content_type=content_type)


def caller_is_admin() -> bool:
    """Whether the request carries a valid JWT of an admin account (never raises)."""
    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
        if not identity:
            return False
        account_service.require_admin(uuid.UUID(str(identity)))
        return True
    except (JWTExtendedException, PyJWTError, AppError, ValueError):
        return False


def init_app(app: Flask) -> None:
    """Count every request and time it to its response headers (route templates as labels)."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.HTTP_REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        started = g.get("request_started")
        if started is not None:
            metrics.HTTP_DURATION.labels(request.method, endpoint).observe(time.perf_counter() - started)
        return response


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Readiness: each part ``ok`` or ``failing``; the reasons (which name hosts and versions) only
    for an admin's JWT."""
    checks = health_service.check_readiness()
    ready = all(v == "ok" for v in checks.values())
    failing = [name for name, v in checks.items() if v != "ok"]
    if not caller_is_admin():
        checks = {name: "ok" if v == "ok" else "failing" for name, v in checks.items()}
    body = {"status": "ready" if ready else "unavailable", "checks": checks, "failing": failing}
    return jsonify(body), 200 if ready else 503
