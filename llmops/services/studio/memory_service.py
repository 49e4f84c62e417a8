"""Long-term memory (seed 002 §1.3/1.4): a rolling summary of the debug conversation.

Each finished round of an app with ``memory_mode = long_term_memory`` is folded into the
conversation's ``summary`` by a Celery task on queue ``memory`` ("current summary + new lines →
new summary", with the app's own model). The database, not the broker, is the source of truth:
a message waits with ``memory_status = pending`` until its fold commits, and pending folds older
than ``MEMORY_REDISPATCH_AFTER_S`` are dispatched again (worker start and a beat job), so a
worker killed mid-task loses nothing. A fold run claims its message with a lease (re-dispatch takes
only folds whose lease expired) and a round is marked done in the same transaction that writes the
summary (guarded by ``summary_version``), so no round is ever folded twice.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from llmops.errors import FailError, QuotaExceededError
from llmops.extensions import db
from llmops.models import Conversation, Message
from llmops.models.base import utcnow
from llmops.providers.tokens import estimate_messages_tokens
from llmops.services.common import enqueue
from llmops.services.core import claims, metering, model_service
from llmops.services.studio import app_service

FOLD_TASK = "llmops.tasks.memory.fold_round"
SUMMARY_MAX_CHARS = 4000
SUMMARY_MAX_TOKENS = 256

SUMMARY_INSTRUCTIONS = (
    "You maintain the memory of a conversation. Rewrite the current summary so it also covers "
    "the new lines. Keep names, facts and preferences the user stated. Answer with the new "
    "summary only, in at most five sentences."
)


def get_long_term_memory(account_id: uuid.UUID, app_id: uuid.UUID) -> dict:
    """Seed 1.3 → ``{summary}``; ``FailError`` when the app's memory mode is not long-term."""
    app = app_service.get_owned_app(account_id, app_id)
    _require_memory_on(app)
    conversation = db.session.get(Conversation, app.debug_conversation_id) if app.debug_conversation_id else None
    return {"summary": conversation.summary if conversation and not conversation.is_deleted else ""}


def update_long_term_memory(account_id: uuid.UUID, app_id: uuid.UUID, summary: str) -> None:
    """Seed 1.4: replace the summary (the debug conversation is created when missing)."""
    app = app_service.get_owned_app(account_id, app_id)
    _require_memory_on(app)
    conversation = app_service.get_or_create_debug_conversation(app)
    conversation.summary = summary
    conversation.summary_version += 1
    db.session.commit()


def dispatch_fold(message_id: uuid.UUID) -> None:
    """Queue the fold of one round; a broker failure is logged and left to re-dispatch."""
    try:
        enqueue(FOLD_TASK, [str(message_id)], "memory")
    except Exception:  # noqa: BLE001 — the message stays pending; the beat job re-dispatches it
        current_app.logger.exception("could not queue the memory fold of message %s", message_id)


def fold_round(message_id: uuid.UUID) -> str | None:
    """Fold message ``message_id`` into its conversation summary → the new summary, or None when
    there is nothing (left) to do or another run holds the fold. Safe to run twice or concurrently.

    The run claims the message (``llmops.services.core.claims``, lease renewed during the model call);
    the summary and the message's ``done`` are written in one transaction that first takes the
    message row (``pending`` and still claimed by this run) and then the summary (guarded by
    ``summary_version``), so a round is never folded twice, whatever the isolation level. Each run
    counts itself in ``memory_attempts`` until it ends; when more than ``MEMORY_MAX_ATTEMPTS`` runs
    died holding the round (a fold that kills its worker every time), it is marked ``failed``
    instead of being re-queued forever."""
    lease_s, max_attempts = current_app.config["MEMORY_LEASE_S"], current_app.config["MEMORY_MAX_ATTEMPTS"]
    owner = claims.new_owner()
    if not claims.take(Message, message_id, owner, lease_s, Message.memory_status == "pending",
                       memory_attempts=Message.memory_attempts + 1):
        return None
    attempts = db.session.scalar(sa.select(Message.memory_attempts).where(Message.id == message_id))
    if attempts is not None and attempts > max_attempts:
        current_app.logger.error("giving up the memory fold of message %s: %d runs died before it ended",
                                 message_id, attempts - 1)
        claims.release(Message, message_id, owner, memory_status="failed")
        return None
    try:
        with claims.LeaseKeeper(Message, message_id, owner, lease_s) as keeper:
            for _attempt in range(5):
                message = db.session.get(Message, message_id)
                conversation = db.session.get(Conversation, message.conversation_id) if message else None
                if conversation is None or conversation.is_deleted:
                    _mark_done(message_id, owner)
                    db.session.commit()
                    return None
                version, current = conversation.summary_version, conversation.summary
                new_summary = summarize(message.provider, message.model, current, message.query, message.answer,
                                        account_id=message.account_id)
                db.session.rollback()  # release the read snapshot before the guarded writes
                if keeper.lost.is_set() or not _mark_done(message_id, owner):
                    db.session.rollback()  # the claim was lost: the run that took it folds the round
                    return None
                updated = db.session.execute(
                    sa.update(Conversation)
                    .where(Conversation.id == conversation.id, Conversation.summary_version == version)
                    .values(summary=new_summary, summary_version=version + 1, updated_at=utcnow())
                ).rowcount
                if updated:
                    db.session.commit()
                    return new_summary
                db.session.rollback()  # another round's fold won the race: fold into its result
            raise FailError(f"could not fold message {message_id}: the summary kept changing")
    finally:  # the run ended (whatever the outcome): it does not count as one that died
        db.session.rollback()
        claims.release(Message, message_id, owner, memory_attempts=Message.memory_attempts - 1)


def summarize(provider: str, model: str, summary: str, query: str, answer: str,
              account_id: uuid.UUID | None = None) -> str:
    """Ask the model for the new summary; if it returns nothing usable, append the lines
    themselves (so memory never silently drops a round). Raises ``ProviderError``.

    With ``account_id`` the call is metered (surface ``memory``) and charged to that account;
    when its balance cannot cover the call the lines are appended without calling the model."""
    new_lines = f"Human: {query}\nAI: {answer}"
    prompt = (f"Current summary:\n{summary or '(empty)'}\n\nNew lines of conversation:\n{new_lines}\n\n"
              "New summary:")
    messages = [{"role": "system", "content": SUMMARY_INSTRUCTIONS}, {"role": "user", "content": prompt}]
    charge, max_tokens = None, SUMMARY_MAX_TOKENS
    if account_id is not None:
        spec = model_service.get_model(provider, model)
        max_tokens = min(SUMMARY_MAX_TOKENS, spec.max_output)
        try:
            charge = metering.reserve(account_id, spec, estimate_messages_tokens(messages), max_tokens,
                                      surface="memory", endpoint="memory.fold", model=model, direct=True)
        except QuotaExceededError:
            return f"{summary}\n{new_lines}".strip()[-SUMMARY_MAX_CHARS:]
    try:
        client = model_service.get_chat_client(provider)
        result = client.complete(model, messages, temperature=0.2, max_tokens=max_tokens)
    except BaseException as exc:
        if charge is not None:
            charge.settle(0, 0, False, "error", getattr(exc, "status", None) or 502, str(exc)[:500])
        raise
    if charge is not None:
        charge.settle(result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.estimated, "success")
    text = result.content.strip()
    if not text:
        text = f"{summary}\n{new_lines}".strip()
    return text[-SUMMARY_MAX_CHARS:]


def redispatch_pending(older_than_s: int | None = None) -> int:
    """Queue again folds pending longer than ``older_than_s`` seconds that no live run holds (a
    claim whose lease expired is cleared) → how many. Each is taken with a conditional UPDATE
    (``updated_at`` bumped), so concurrent re-dispatches queue it once."""
    if older_than_s is None:
        older_than_s = current_app.config["MEMORY_REDISPATCH_AFTER_S"]
    now = utcnow()
    stuck = sa.and_(Message.memory_status == "pending", Message.updated_at <= now - timedelta(seconds=older_than_s),
                    claims.claimable(Message, now))
    return claims.redispatch(Message, stuck, dispatch_fold)


def _mark_done(message_id: uuid.UUID, owner: str) -> bool:
    """Mark the round folded (in the caller's transaction) when it is still pending and claimed by
    ``owner`` → True; the row stays locked until the caller commits or rolls back."""
    return bool(db.session.execute(
        sa.update(Message).where(Message.id == message_id, Message.memory_status == "pending",
                                 Message.claimed_by == owner)
        .values(memory_status="done", memory_folded_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount)


def _require_memory_on(app) -> None:
    config = app_service.get_debug_config(app)
    if config.memory_mode != "long_term_memory":
        raise FailError("long-term memory is not enabled for this app")

