"""Operations endpoints (API.md D): liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, jsonify

from llmops.services import health_service

bp = Blueprint("ops", __name__)


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
