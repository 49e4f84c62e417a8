"""Metering: every model call is priced and charged to the account that causes it.

Money is in integer credits: 1 credit = 1e-6 USD. Registry prices are USD per 1M tokens, so a
model's price is exactly its cost in credits per token; a call costs
``ceil(prompt_tokens * input_price + completion_tokens * output_price)`` credits (exact decimal
arithmetic), and a model priced 0 (the local model) is free.

**The one function other code must call to meter a model call is ``reserve``**, before the
upstream call; it returns a ``Charge`` whose ``settle`` must run once afterwards — on success,
failure, stop or client disconnect (settling twice is harmless; settling with 0 tokens refunds
the reservation)::

    charge = metering.reserve(account_id, spec, prompt_estimate, max_completion_tokens,
                              surface="debug", endpoint="apps.debug")   # 429 when it cannot pay
    ...call the model...
    charge.settle(prompt_tokens, completion_tokens, estimated, "success")

``chat_service`` (every chat surface: studio debug chat, the published-app API, seed 000's chat
and RAG chat, and any route built on its turns) and ``gateway_service`` (``/v1``, the voice-engine
and seed 003 routes, vision, embeddings) already do this; a new surface built on either is
metered without doing anything. ``settle`` queues one usage record (``usage_log``, with the
``surface``) whose cost is written to the account's ledger (``account_ledger``, kind ``usage``)
when the record is stored.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from flask import current_app

from llmops import metrics
from llmops.errors import ForbiddenError, QuotaExceededError
from llmops.providers.registry import ModelSpec
from llmops.quota import ACCOUNT_DISABLED, KEY_REFUSED, STANDING_UNKNOWN, Hold
from llmops.runtime import runtime
from llmops.services.core import account_service, usage_service

SURFACES = ("gateway", "debug", "app_api", "web_app", "memory", "seed000", "voice", "seed003", "vision", "embedding",
            "ai")
CREDITS_PER_USD = 1_000_000


class BalanceExceededError(QuotaExceededError):
    """The account's balance cannot cover the call (429, OpenAI type ``insufficient_quota``)."""

    default_message = "The account's balance is used up"


def price_credits(spec: ModelSpec | None, prompt_tokens: int, completion_tokens: int) -> int:
    """Credits a call costs: ``ceil(prompt * input_price + completion * output_price)``."""
    if spec is None or (not spec.input_price and not spec.output_price):
        return 0
    cost = (Decimal(str(spec.input_price)) * max(prompt_tokens, 0)
            + Decimal(str(spec.output_price)) * max(completion_tokens, 0))
    return int(cost.to_integral_value(rounding=ROUND_CEILING))


@dataclass
class Charge:
    """One metered model call: what was reserved, and how to settle it (``settle``)."""

    account_id: uuid.UUID
    surface: str
    endpoint: str
    model: str
    spec: ModelSpec | None
    key_id: uuid.UUID | None = None
    is_stream: bool = False
    free: bool = False
    direct: bool = False
    reserved: int = 0
    started: float = field(default_factory=time.perf_counter)
    first_token_ms: int | None = None
    settled: bool = False
    held: bool = False
    charged: int = 0
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def settle(self, prompt_tokens: int, completion_tokens: int, estimated: bool, status: str,
               status_code: int = 200, error: str = "", spec: ModelSpec | None = None) -> int:
        """Replace the reservation by the call's real cost and record its usage → credits charged.
        ``spec``: the model that answered (a fallback's), when not the reserved one. Idempotent:
        a call the reconciliation job already settled (its process was presumed dead) is left as
        that job recorded it (→ 0)."""
        if self.settled:
            return self.charged
        self.settled = True
        if spec is not None:
            self.spec = spec
        actual = 0 if self.free else price_credits(self.spec, prompt_tokens, completion_tokens)
        ledger = runtime().quota_ledger
        record = self._record(prompt_tokens, completion_tokens, estimated, status, status_code, error)
        charged, balance_after = ledger.settle(self.account_id, self.key_id, self.reserved, actual,
                                               hold_id=self.request_id if self.held else None, record=record,
                                               grace_s=current_app.config["USAGE_HOLD_GRACE_S"])
        self.reserved = 0
        if charged is None:
            return 0
        self.charged = charged
        record.update(cost_credits=charged, cost_usd=charged / CREDITS_PER_USD, balance_after=balance_after)
        if self.direct:
            usage_service.write_usage([record])  # the worker: stored at once, no buffer
        else:
            usage_service.record(**record)
        return self.charged

    def _record(self, prompt_tokens: int, completion_tokens: int, estimated: bool, status: str,
                status_code: int, error: str) -> dict:
        """The usage row of this call (cost filled in by ``settle``)."""
        return dict(
            request_id=self.request_id, created_at=time.time(),
            api_key_id=str(self.key_id) if self.key_id else None, account_id=str(self.account_id),
            endpoint=self.endpoint, surface=self.surface, model=self.model,
            provider=self.spec.provider if self.spec else "", is_stream=self.is_stream,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, estimated=estimated,
            cost_credits=0, cost_usd=0.0, balance_after=None,
            latency_ms=int((time.perf_counter() - self.started) * 1000), first_token_ms=self.first_token_ms,
            status=status, status_code=status_code, error=error,
        )


LOST_ERROR = "the process serving the call ended before it settled: usage past the prompt is unknown"


def reserve(account_id: uuid.UUID, spec: ModelSpec | list[ModelSpec] | None, prompt_tokens: int,
            completion_tokens: int, *, surface: str, endpoint: str, key_id: uuid.UUID | None = None,
            model: str | None = None, is_stream: bool = False, free: bool = False,
            direct: bool = False, check_account: bool = False) -> Charge:
    """Hold the most the call can cost (``prompt_tokens`` estimated, ``completion_tokens`` its
    ``max_tokens`` times ``n``; for a list of fallback models the dearest) on the account and the
    calling key → the ``Charge`` to settle afterwards. Raises ``QuotaExceededError`` (429, the
    key's cap) or ``BalanceExceededError`` (429, the account's balance) before any upstream call.

    ``free``: the caller brings its own upstream key (seed 000), nothing is charged;
    ``direct``: write the usage record at once (worker processes have no usage buffer flusher);
    ``check_account``: also refuse a disabled or deleted account (``ForbiddenError``, 403) — in
    the reservation's own Redis step when the ledger can read the account's published status
    (``account_service.standing_key``), so the gateway's hot path makes one round trip for both."""
    specs = spec if isinstance(spec, list) else [spec]
    first = specs[0] if specs else None
    charge = Charge(account_id=account_id, surface=surface, endpoint=endpoint,
                    model=model or (first.name if first else ""), spec=first, key_id=key_id, is_stream=is_stream,
                    free=free, direct=direct)
    worst = 0 if free else max((price_credits(s, prompt_tokens, completion_tokens) for s in specs), default=0)
    config = current_app.config
    # If this process dies before settling, the reconciliation job settles the call at its
    # estimated prompt (what the upstream certainly received) and writes this row.
    lost = charge._record(prompt_tokens, 0, True, "lost", 500, LOST_ERROR)
    lost_cost = 0 if free else min(price_credits(first, prompt_tokens, 0), worst)
    hold = Hold(charge.request_id, lost, lost_cost,
                time.time() + config["LLM_TOTAL_TIMEOUT_S"] + config["USAGE_HOLD_GRACE_S"])
    ledger = runtime().quota_ledger
    standing = account_service.standing_key(account_id) if check_account else None
    if check_account and standing is None:
        account_service.check_enabled(account_id)
    refused = ledger.reserve(account_id, key_id, worst, hold, standing=standing)
    if refused == STANDING_UNKNOWN:  # not published (or expired): read from the database, published
        account_service.check_enabled(account_id)
        refused = ledger.reserve(account_id, key_id, worst, hold)
    if refused == ACCOUNT_DISABLED:
        raise ForbiddenError(account_service.DISABLED_MESSAGE)
    if refused == KEY_REFUSED:
        metrics.QUOTA_REFUSALS.labels("quota").inc()
        raise QuotaExceededError(f"The API key's credit cap is reached: this request may cost up to {worst} credits "
                                 "(1 credit = 1e-6 USD; estimated prompt + max_tokens x n)")
    if refused:
        metrics.QUOTA_REFUSALS.labels("balance").inc()
        raise BalanceExceededError(f"The account's balance cannot cover this request: it may cost up to {worst} "
                                   "credits (1 credit = 1e-6 USD). Redeem a code (POST /account/redeem) or ask an "
                                   "admin for credit.")
    charge.reserved, charge.held = worst, True
    return charge


def embed(account_id: uuid.UUID, model, texts: list[str], endpoint: str, direct: bool = False) -> list:
    """``model.embed(texts)`` charged to the account at ``EMBEDDING_PRICE`` (USD per 1M tokens; 0,
    the default for the local model, skips metering) — for the embeddings of retrieval and
    indexing. Raises ``QuotaExceededError`` (429) when the account cannot pay."""
    price = float(current_app.config["EMBEDDING_PRICE"])
    if not price:
        return model.embed(texts)
    spec = ModelSpec(name=model.name, provider="embedding", kind="embedding", input_price=price)
    tokens = sum(model.count_tokens(t) for t in texts)
    charge = reserve(account_id, spec, tokens, 0, surface="embedding", endpoint=endpoint, model=model.name,
                     direct=direct)
    try:
        vectors = model.embed(texts)
    except BaseException as exc:
        charge.settle(0, 0, False, "error", 502, str(exc)[:500])
        raise
    charge.settle(tokens, 0, False, "success")
    return vectors
