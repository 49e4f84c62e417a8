"""What ``/metrics`` reads at scrape time: broker queue depths, documents per status, the last
reconciliation's quota drift (``usage_service.reconcile``)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from llmops.extensions import db
from llmops.metrics import ScrapeTimeCollector, exposition
from llmops.models import Document
from llmops.services.core import usage_service

QUEUES = ("indexing", "memory", "usage", "maintenance")


def render() -> tuple[bytes, str]:
    """The Prometheus exposition (body, content type)."""
    app = current_app._get_current_object()

    def documents() -> dict[str, int]:
        with app.app_context():
            rows = db.session.execute(sa.select(Document.status, sa.func.count()).where(Document.is_deleted.is_(False))
                                      .group_by(Document.status)).all()
            return {status: count for status, count in rows}

    def quota_drift() -> dict | None:
        with app.app_context():
            return usage_service.last_drift()

    return exposition(ScrapeTimeCollector(lambda: queue_depths(app), documents, quota_drift))


def queue_depths(app) -> dict[str, int]:
    """Messages waiting in each Celery queue: Redis lists, or the SQLite transport's tables."""
    url = app.config["CELERY"]["broker_url"]
    if url.startswith(("redis://", "rediss://")):
        client = app.runtime.metrics_redis
        return {queue: int(client.llen(queue)) for queue in QUEUES}
    if url.startswith("sqla+"):
        engine = app.runtime.metrics_broker_engine
        depths = {queue: 0 for queue in QUEUES}
        if not sa.inspect(engine).has_table("kombu_queue"):
            return depths  # kombu creates its tables with the first message
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT q.name, COUNT(m.id) FROM kombu_queue q LEFT JOIN kombu_message m "
                "ON m.queue_id = q.id AND m.visible GROUP BY q.name")).all()
        depths.update({name: count for name, count in rows if name in depths})
        return depths
    return {}
