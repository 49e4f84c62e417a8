"""Operations endpoints (API.md D, C4): liveness, readiness, Prometheus metrics, and the HTTP
request metrics recorded for every route."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, g, jsonify, request

from llmops import metrics
from llmops.services import health_service, metrics_service

bp = Blueprint("ops", __name__)


@bp.get("/metrics")
def prometheus_metrics():
    body, content_type = metrics_service.render()
    return Response(body, content_type=content_type)


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
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    checks = health_service.check_readiness()
    ready = all(v == "ok" for v in checks.values())
    failing = [name for name, v in checks.items() if v != "ok"]
    body = {"status": "ready" if ready else "unavailable", "checks": checks, "failing": failing}
    return jsonify(body), 200 if ready else 503
