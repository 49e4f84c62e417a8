"""Prometheus metrics, all named ``llmops_*`` (docs/api.md C4 ``/metrics``; seed 004).

Under gunicorn every worker process writes its samples to ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode, set up by ``workers/gunicorn.conf.py``) and ``/metrics``
aggregates them, so one scrape sees the whole api. Without that variable (tests, ``flask run``)
the process's own registry is used. Queue depths and document counts are read at scrape time
from the broker and the database, so they are right whichever process did the work.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
OVERHEAD_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25)

HTTP_REQUESTS = Counter("llmops_http_requests_total", "HTTP requests by route and status",
                        ["method", "endpoint", "status"])
HTTP_DURATION = Histogram("llmops_http_request_duration_seconds", "Time to the response headers",
                          ["method", "endpoint"], buckets=LATENCY_BUCKETS)
LLM_REQUESTS = Counter("llmops_llm_requests_total", "Model calls by surface, provider, model and final status",
                       ["surface", "provider", "model", "status"])
LLM_TOKENS = Counter("llmops_llm_tokens_total", "Tokens by provider, model and type (prompt, completion)",
                     ["provider", "model", "type"])
LLM_TTFT = Histogram("llmops_llm_time_to_first_token_seconds", "Time to the first answer token",
                     ["surface", "provider", "model"], buckets=LATENCY_BUCKETS)
GATEWAY_OVERHEAD = Histogram("llmops_gateway_overhead_seconds",
                             "Gateway time before the upstream call (auth, limits, quota, routing)",
                             ["endpoint"], buckets=OVERHEAD_BUCKETS)
GATEWAY_FALLBACKS = Counter("llmops_gateway_fallbacks_total", "Requests answered by a fallback upstream", ["model"])
QUOTA_REFUSALS = Counter("llmops_quota_refusals_total", "Requests refused by quota or rate limits", ["reason"])


# Maps a model name to its metric label: the name itself when the registry lists it, else
# "unlisted" (set by ``model_service.get_registry``), so clients cannot grow the label set.
_model_label = None


def set_model_labels(label) -> None:
    """Install the registry's ``label(name) -> str``."""
    global _model_label
    _model_label = label


def model_label(name: str) -> str:
    """The bounded label for a model name (``unlisted`` for names the registry does not list)."""
    return _model_label(name) if _model_label is not None else "unlisted"


def observe_llm(surface: str, provider: str, model: str, status: str, prompt_tokens: int, completion_tokens: int,
                first_token_ms: int | None) -> None:
    """Count one finished model call (gateway or studio chat); ``model`` is reduced to a
    registry name (``model_label``)."""
    model = model_label(model)
    LLM_REQUESTS.labels(surface, provider, model, status).inc()
    if prompt_tokens:
        LLM_TOKENS.labels(provider, model, "prompt").inc(prompt_tokens)
    if completion_tokens:
        LLM_TOKENS.labels(provider, model, "completion").inc(completion_tokens)
    if first_token_ms is not None:
        LLM_TTFT.labels(surface, provider, model).observe(first_token_ms / 1000)


class ScrapeTimeCollector:
    """Gauges read when scraped: broker queue depths, documents per status, the quota drift.

    ``queue_depths()`` and ``document_counts()`` are callables supplied by the app (they need its
    database and broker); a failing one is skipped so ``/metrics`` always answers.
    """

    def __init__(self, queue_depths, document_counts, quota_drift=None):
        self.queue_depths, self.document_counts = queue_depths, document_counts
        self.quota_drift = quota_drift  # () -> {"credits", "counters"} of the last reconciliation, or None

    def collect(self):
        queues = GaugeMetricFamily("llmops_queue_depth", "Messages waiting per broker queue", labels=["queue"])
        documents = GaugeMetricFamily("llmops_documents", "Documents per pipeline status (completed = indexed)",
                                      labels=["status"])
        try:
            for name, depth in self.queue_depths().items():
                queues.add_metric([name], depth)
            yield queues
        except Exception:  # noqa: BLE001 — the broker is down: readiness reports it, metrics carry on
            pass
        try:
            for status, count in self.document_counts().items():
                documents.add_metric([status], count)
            yield documents
        except Exception:  # noqa: BLE001
            pass
        try:
            drift = self.quota_drift() if self.quota_drift is not None else None
            if drift is not None:
                yield GaugeMetricFamily("llmops_quota_drift_credits",
                                        "Credits by which the Redis quota ledger differed from the database at the "
                                        "last reconciliation (sum over counters)", value=drift["credits"])
                yield GaugeMetricFamily("llmops_quota_drift_counters",
                                        "Redis quota counters that differed from the database at the last "
                                        "reconciliation", value=drift["counters"])
        except Exception:  # noqa: BLE001
            pass


def exposition(extra_collector) -> tuple[bytes, str]:
    """The text exposition of every process's metrics plus ``extra_collector`` → (body, content type)."""
    extra = CollectorRegistry()
    extra.register(extra_collector)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY  # this process's own metrics
    return generate_latest(registry) + generate_latest(extra), CONTENT_TYPE_LATEST
