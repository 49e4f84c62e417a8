"""Debug chat (seed 002 §1.5–1.7, docs/api.md A "Debug-chat SSE") and the debug conversation.

A turn is prepared first (ownership, configuration, prompt) so errors still get real HTTP status
codes; then it runs either blocking (``complete_debug_turn``) or as an event stream
(``stream_debug_turn``) whose events are ``(name, data)`` pairs for ``api/sse.py``.

Every turn is metered (``metering``): both runners reserve the turn's most expensive outcome
(estimated prompt + ``max_tokens`` at the model's price) on the account — and on the calling
key, ``turn.key_id`` — before the model is called, refusing with 429 when the balance cannot
cover it, and ``_save_message`` settles it with the real usage whatever the outcome. The usage
log names ``turn.surface`` (``debug`` by default; set it when building a turn for another route).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app

from llmops import metrics
from llmops.errors import NotFoundError, UpstreamError, UpstreamTimeoutError, ValidateError
from llmops.extensions import db
from llmops.models import Conversation, Dataset, Message
from llmops.models.base import unix, utcnow
from llmops.providers.chat import StreamState, Usage
from llmops.providers.errors import ProviderError, ProviderTimeout
from llmops.providers.tokens import estimate_messages_tokens, estimate_tokens
from llmops.runtime import runtime
from llmops.services.common import paginate, paginator
from llmops.services.core import metering, model_service
from llmops.services.knowledge import retrieval_service
from llmops.services.studio import app_service, memory_service, review_service

# How often a running stream looks for a stop flag set by any api process (seconds).
STOP_POLL_INTERVAL_S = 0.25
TASK_TTL_S = 3600
# Our token counts are estimates: keep this share of the context window free as a margin.
CONTEXT_SAFETY_MARGIN = 0.1


@dataclass
class DebugTurn:
    """Everything a turn needs, gathered before the first byte is sent."""

    app_id: uuid.UUID | None
    account_id: uuid.UUID
    conversation_id: uuid.UUID
    query: str
    provider: str
    model: str
    parameters: dict
    messages: list[dict]
    memory_on: bool
    summary: str
    records: list[dict] = field(default_factory=list)
    # (dataset ids, query, app id, source) of the retrieval, logged with the message (``log_retrieval``)
    retrieval_log: tuple | None = None
    # a user's own upstream key (seed 000 conversations); None = the provider's configured key
    api_key: str | None = None
    # the end user of a web-app turn (who may stop it); None = ``account_id``
    created_by: uuid.UUID | None = None
    # keyword moderation (``review_service``); ``preset_answer`` is set when the query was blocked
    # and is then the whole answer (no model call)
    review: review_service.ReviewPolicy | None = None
    preset_answer: str | None = None
    suggest_after_answer: bool = False
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)
    task_id: uuid.UUID = field(default_factory=uuid.uuid4)
    started: float = field(default_factory=time.perf_counter)
    # metering: the usage log's surface and endpoint, the API key that pays with the account (if
    # any) and the reservation (``_reserve``); a turn on the user's own key (``api_key``) is free
    surface: str = "debug"
    endpoint: str = "apps.debug"
    key_id: uuid.UUID | None = None
    charge: metering.Charge | None = None
    # the app binds tools: the turn runs as an agent (``agent_service.AgentSetup``)
    agent: object | None = None


def prepare_debug_turn(account_id: uuid.UUID, app_id: uuid.UUID, query: str) -> DebugTurn:
    """Load the app's debug configuration and conversation and build the prompt.

    Prompt = preset prompt + long-term memory summary (when ``memory_mode`` is on) + the last
    ``dialog_round`` rounds, oldest rounds dropped until it fits the model's context window.
    Raises ``NotFoundError`` (not the caller's app), ``FailError`` (no configuration),
    ``ValidateError`` (the query alone does not fit).
    """
    started = time.perf_counter()
    app = app_service.get_owned_app(account_id, app_id)
    config = app_service.get_debug_config(app)
    conversation = app_service.get_or_create_debug_conversation(app)
    return _build_turn(account_id, app.id, config, conversation, query, started)


def prepare_api_turn(account_id: uuid.UUID, app_id: uuid.UUID, query: str, conversation_id: uuid.UUID | None,
                     end_user_id: str | None) -> DebugTurn:
    """A turn of a **published** app called through the Open API (``POST /v1/apps/:id/chat``):
    the published configuration, in a new conversation or the caller's ``conversation_id``. No
    suggested questions: the course's open API has none (``review_config`` applies).
    Raises ``NotFoundError`` (app or conversation), ``FailError`` (not published)."""
    started = time.perf_counter()
    app = app_service.get_owned_app(account_id, app_id)
    config = app_service.get_published_config(app)
    conversation = app_service.get_or_create_api_conversation(app, conversation_id, end_user_id)
    turn = _build_turn(account_id, app.id, config, conversation, query, started)
    turn.suggest_after_answer = False
    return turn


def prepare_web_app_turn(end_user_id: uuid.UUID, token: str, query: str,
                         conversation_id: uuid.UUID | None) -> DebugTurn:
    """A turn of a published app through its web app (course §15.2): the published configuration,
    charged to the app's owner, in the end user's ``conversation_id`` or a new one. Raises
    ``NotFoundError`` (unknown token, unpublished app, not the end user's conversation)."""
    started = time.perf_counter()
    app = app_service.get_app_by_web_app_token(token)
    config = app_service.get_published_config(app)
    conversation = app_service.get_or_create_web_app_conversation(app, conversation_id, end_user_id)
    turn = _build_turn(app.account_id, app.id, config, conversation, query, started)
    turn.created_by = end_user_id
    turn.surface, turn.endpoint = "web_app", "webapp.chat"
    return turn


def stop_web_app_task(end_user_id: uuid.UUID, token: str, task_id: uuid.UUID) -> None:
    """Course §15.3: stop the end user's running web-app stream ``task_id`` (``NotFoundError``
    for an unknown token or another user's task)."""
    app_service.get_app_by_web_app_token(token)
    store = runtime().state_store
    if store.get(f"task:{task_id}") != str(end_user_id):
        raise NotFoundError("no running task with this id")
    store.set(f"stop:{task_id}", "1", 600)


@dataclass
class TurnConfig:
    """The parts of an app configuration a turn reads (an ``AppConfig`` has the same attributes);
    built directly for chats without an app (seed 000's model conversations)."""

    model_config: dict
    preset_prompt: str = ""
    memory_mode: str = "none"
    dataset_ids: list[str] = field(default_factory=list)
    retrieval_config: dict = field(default_factory=dict)


def prepare_model_turn(account_id: uuid.UUID, conversation: Conversation, config: TurnConfig, query: str,
                       api_key: str | None = None) -> DebugTurn:
    """A turn of a conversation with a model itself (no app): ``config`` names the model, history
    rounds and any datasets to retrieve from; ``api_key`` is the user's own upstream key, if any.
    Same prompt building, streaming and saving as an app's turn."""
    turn = _build_turn(account_id, None, config, conversation, query, time.perf_counter(), source="api",
                       allow_unlisted=api_key is not None)
    turn.api_key, turn.surface, turn.endpoint = api_key, "seed000", "seed000.chat"
    return turn


def _build_turn(account_id: uuid.UUID, app_id: uuid.UUID | None, config, conversation, query: str, started: float,
                source: str = "app", allow_unlisted: bool = False) -> DebugTurn:
    model_config = config.model_config
    spec = model_service.get_model(model_config["provider"], model_config["model"], allow_unlisted)
    parameters = dict(model_config.get("parameters") or {})
    parameters["max_tokens"] = min(int(parameters.get("max_tokens") or 512), spec.max_output)
    memory_on = config.memory_mode == "long_term_memory"
    summary = conversation.summary if memory_on else ""
    features = app_service.chat_features(config)
    review = review_service.policy_from(features["review_config"])
    if review_service.blocked_input(review, query):
        return DebugTurn(
            app_id=app_id, account_id=account_id, conversation_id=conversation.id, query=query,
            provider=spec.provider, model=spec.name, parameters=parameters, messages=[], memory_on=False,
            summary="", review=review, preset_answer=review.preset_response, started=started,
        )

    system = config.preset_prompt or "You are a helpful assistant."
    if memory_on and summary:
        system += f"\n\nSummary of the conversation so far (long-term memory):\n{summary}"
    head = [{"role": "system", "content": system}]
    tail = [{"role": "user", "content": query}]
    budget = int(spec.context_window * (1 - CONTEXT_SAFETY_MARGIN)) - parameters["max_tokens"]
    if estimate_messages_tokens(head + tail) > budget:
        raise ValidateError("the query is too long for the model's context window",
                            data={"query": ["too long for the model's context window"]})
    records, retrieval_log = _retrieve(account_id, app_id, config, query, source)
    if records:
        head[0]["content"] += context_block(records, budget - estimate_messages_tokens(head + tail))
    rounds = _recent_rounds(conversation.id, int(model_config.get("dialog_round", 3)))
    history: list[dict] = []
    for round_messages in reversed(rounds):  # newest first, so the oldest are the ones dropped
        if estimate_messages_tokens(head + round_messages + history + tail) > budget:
            break
        history = round_messages + history
    turn = DebugTurn(
        app_id=app_id, account_id=account_id, conversation_id=conversation.id, query=query,
        provider=spec.provider, model=spec.name, parameters=parameters,
        messages=head + history + tail, memory_on=memory_on, summary=summary, records=records,
        retrieval_log=retrieval_log, started=started, review=review,
        suggest_after_answer=features["suggested_after_answer"],
    )
    turn.agent = agent_service().setup(config, spec)
    return turn


def agent_service():
    """``llmops.services.studio.agent_service`` (imported late: it builds on this module)."""
    from llmops.services.studio import agent_service as module

    return module


def _retrieve(account_id: uuid.UUID, app_id: uuid.UUID | None, config, query: str,
              source: str = "app") -> tuple[list[dict], tuple | None]:
    """Records from the datasets bound to the config (those still owned by the account), and
    what to log for them when the message is saved."""
    if not config.dataset_ids:
        return [], None
    owned = set(db.session.scalars(sa.select(Dataset.id).where(
        Dataset.id.in_([uuid.UUID(i) for i in config.dataset_ids]), Dataset.account_id == account_id)))
    if not owned:
        return [], None
    datasets = sorted(owned, key=str)
    retrieval = {"retrieval_strategy": "semantic", "k": 4, "score": 0.5, **(config.retrieval_config or {})}
    records = retrieval_service.retrieve(account_id, datasets, query, retrieval["retrieval_strategy"],
                                         int(retrieval["k"]), float(retrieval["score"]), source=source, app_id=app_id,
                                         log=False)
    return records, (datasets, query, app_id, source)


def context_block(records: list[dict], budget_tokens: int) -> str:
    """The retrieved context for the system prompt: whole records, best first, within budget."""
    header = ("\n\nAnswer using the context below when it is relevant. If it does not contain the answer, "
              "say so.\n<context>\n")
    parts, used = [], estimate_tokens(header) + 4
    for record in records:
        piece = f"[{record['document_name']}] {record['content']}\n"
        cost = estimate_tokens(piece)
        if used + cost > budget_tokens * 0.6:  # keep room for history and the answer
            break
        parts.append(piece)
        used += cost
    return header + "".join(parts) + "</context>" if parts else ""


def complete_debug_turn(turn: DebugTurn) -> dict:
    """Run the turn blocking → seed 1.5's message; the message is saved whatever happens.

    Raises ``UpstreamTimeoutError`` (504) or ``UpstreamError`` (502) after saving the failed turn.
    """
    if turn.preset_answer is not None:
        message = _save_message(turn, turn.preset_answer, Usage(0, 0), "normal", "", 0)
        return message_to_dict(message)
    _reserve(turn, stream=False)
    if turn.agent is not None:
        return agent_service().complete(turn)
    try:
        client = model_service.get_chat_client(turn.provider, turn.api_key)
        result = client.complete(turn.model, turn.messages, **turn.parameters)
    except ProviderTimeout as exc:
        _save_message(turn, "", None, "timeout", exc.message, None)
        raise UpstreamTimeoutError(exc.message) from exc
    except ProviderError as exc:
        _save_message(turn, "", None, "error", exc.message, None)
        raise UpstreamError(exc.message) from exc
    except BaseException:
        turn.charge.settle(0, 0, False, "error", 500, "the model was not called")  # nothing was spent
        raise
    message = _save_message(turn, result.content, result.usage, "normal", "", None)
    data = message_to_dict(message)
    if turn.suggest_after_answer:
        data["suggested_questions"] = _suggestions(turn)
    return data


def step_id(message_id: uuid.UUID, event: str) -> str:
    """The id of one step (event kind) of a message: the same for every chunk of the step and for
    the step as ``agent_thoughts`` lists it later (derived, so nothing more is stored)."""
    return str(uuid.uuid5(message_id, event))


def stream_debug_turn(turn: DebugTurn) -> TurnEvents:
    """Run the turn as SSE events: ``long_term_memory_recall``?, ``dataset_retrieval``?,
    ``agent_message``*, then one of ``agent_end`` / ``stop`` / ``timeout`` / ``error``. Closing
    the iterator early (client gone) saves the partial answer with status ``stop``.

    Every event's data carries the course's agent fields: ``id`` (the step), ``event``,
    ``thought`` (an ``agent_message`` chunk, beside ``answer``), ``observation``, ``tool``,
    ``tool_input``, ``latency`` (seconds since the turn started), ``total_token_count`` and
    ``total_price`` (USD, set on the final event), ``created_at``. After ``agent_end``, a
    ``suggested_questions`` event (``suggested_questions``: 3 strings) when the app has
    ``suggested_after_answer`` on. Review keywords (``review_config``) are masked as the text
    streams; a blocked query streams the preset response.

    The turn is reserved now (``metering``), so a balance that cannot cover it is a 429 before
    the stream starts."""
    _reserve(turn, stream=True)
    if turn.agent is not None and turn.preset_answer is None:
        return TurnEvents(turn, agent_service().agent_events(turn))
    return TurnEvents(turn, _turn_events(turn))


def _reserve(turn: DebugTurn, stream: bool) -> None:
    """Hold the turn's most expensive outcome on the account (and key) unless already held (or
    the turn calls no model: a blocked query answered with the preset response)."""
    if turn.charge is not None or turn.preset_answer is not None:
        return
    spec = model_service.get_model(turn.provider, turn.model, allow_unlisted=turn.api_key is not None)
    turn.charge = metering.reserve(
        turn.account_id, spec, estimate_messages_tokens(turn.messages),
        int(turn.parameters.get("max_tokens") or spec.max_output), surface=turn.surface, endpoint=turn.endpoint,
        key_id=turn.key_id, model=turn.model, is_stream=stream, free=turn.api_key is not None)


class TurnEvents:
    """The events of a streamed turn; ``close()`` (also when iteration never started: the client
    left before the first byte) ends the model call and settles the turn's reservation."""

    def __init__(self, turn: DebugTurn, events: Iterator[tuple[str, dict]]):
        self.turn, self.events = turn, events
        self.app = current_app._get_current_object()

    def __iter__(self) -> TurnEvents:
        return self

    def __next__(self) -> tuple[str, dict]:
        return next(self.events)

    def close(self) -> None:
        self.events.close()
        with self.app.app_context():
            if db.session.get(Message, self.turn.message_id) is None:  # the client left before the model call
                _save_message(self.turn, "", Usage(0, 0), "stop", "the client left before the model was called",
                              None, called=False)  # settles the reservation with nothing spent

    def abandon(self) -> None:
        """The response ended: close unless a producer is still running the events."""
        with contextlib.suppress(ValueError):  # running in another thread: it closes them itself
            self.close()


def _turn_events(turn: DebugTurn) -> Iterator[tuple[str, dict]]:
    store = runtime().state_store
    store.set(f"task:{turn.task_id}", str(turn.created_by or turn.account_id), TASK_TTL_S)
    created_at = unix(utcnow())
    base = {"task_id": str(turn.task_id), "conversation_id": str(turn.conversation_id),
            "message_id": str(turn.message_id)}

    def data(event: str, **fields) -> dict:
        return {"id": step_id(turn.message_id, event), **base, "event": event, "thought": "", "observation": "",
                "tool": "", "tool_input": {}, "answer": "", "latency": round(time.perf_counter() - turn.started, 3),
                "total_token_count": 0, "total_price": 0.0, "created_at": created_at, **fields}

    if turn.memory_on:
        yield "long_term_memory_recall", data("long_term_memory_recall", summary=turn.summary,
                                              observation=turn.summary)
    if turn.records:
        records = _event_records(turn.records)
        yield "dataset_retrieval", data("dataset_retrieval", records=records,
                                        observation="\n".join(r["content"] for r in records))
    state = StreamState(started=turn.started)
    masker = review_service.OutputMasker(turn.review)
    status, error = "normal", ""
    try:
        next_stop_check = time.perf_counter() + STOP_POLL_INTERVAL_S
        with contextlib.closing(_answer_deltas(turn, state)) as deltas:
            for delta in deltas:
                shown = masker.feed(delta)
                if shown:
                    yield "agent_message", data("agent_message", answer=shown, thought=shown)
                if time.perf_counter() >= next_stop_check:
                    next_stop_check = time.perf_counter() + STOP_POLL_INTERVAL_S
                    if store.get(f"stop:{turn.task_id}"):
                        status = "stop"
                        break
        rest = masker.flush()
        if rest and status == "normal":
            yield "agent_message", data("agent_message", answer=rest, thought=rest)
    except GeneratorExit:
        _save_message(turn, state.content, state.usage, "stop", "the client disconnected", state.first_token_ms)
        raise
    except ProviderTimeout as exc:
        status, error = "timeout", exc.message
    except ProviderError as exc:
        status, error = "error", exc.message
    except Exception as exc:  # noqa: BLE001 — after the first byte every failure must become an event
        current_app.logger.exception("debug stream failed")
        status, error = "error", f"internal error: {exc.__class__.__name__}"
    finally:
        store.delete(f"task:{turn.task_id}")
    message = _save_message(turn, state.content, state.usage, status, error, state.first_token_ms)
    totals = {"total_token_count": message.total_tokens, "total_price": message_price(message),
              "latency": round(message.response_latency / 1000, 3)}
    if status == "normal":
        yield "agent_end", data(
            "agent_end", **totals,
            answer_tokens=message.answer_tokens,
            total_tokens=message.total_tokens,
            response_latency=message.response_latency,
            usage_estimated=message.usage_estimated,
        )
        if turn.suggest_after_answer and turn.preset_answer is None:
            yield "suggested_questions", data("suggested_questions", suggested_questions=_suggestions(turn))
    elif status in ("stop", "timeout"):
        yield status, data(status, **totals, answer=message.answer, message=error or "stopped by the user",
                           observation=error or "stopped by the user")
    else:
        yield "error", data("error", **totals, code="fail", message=error, observation=error)


def message_price(message: Message) -> float:
    """The turn's cost in USD from the registry's prices per 1M tokens (0 for an unknown model)."""
    try:
        spec = model_service.get_registry().model(message.provider, message.model)
    except Exception:  # noqa: BLE001 — a model removed from the registry since
        return 0.0
    return round((message.prompt_tokens * spec.input_price + message.answer_tokens * spec.output_price) / 1e6, 8)


def _answer_deltas(turn: DebugTurn, state: StreamState) -> Iterator[str]:
    """The answer's text pieces: the review's preset response, or the model's stream (``state``
    then holds the text, usage and first-token time)."""
    if turn.preset_answer is not None:
        state.content_parts.append(turn.preset_answer)
        state.usage, state.first_token_ms, state.finish_reason = Usage(0, 0), 0, "stop"
        yield turn.preset_answer
        return
    client = model_service.get_chat_client(turn.provider, turn.api_key)
    with contextlib.closing(client.stream(turn.model, turn.messages, state, **turn.parameters)) as deltas:
        for delta in deltas:
            yield delta.content


def _suggestions(turn: DebugTurn) -> list[str]:
    """Follow-up questions for the turn just saved (never raises: a failure gives the fallbacks)."""
    from llmops.services.studio import ai_service  # ai_service calls the model through this module

    return ai_service.questions_for_message(turn.account_id, turn.message_id)


def helper_model() -> tuple[str, str]:
    """``(provider, model)`` of the studio's own model calls (AI helpers): the admin's active
    language model, else ``DEFAULT_LLM_PROVIDER`` / ``DEFAULT_LLM_MODEL``."""
    active = model_service.get_active_model("language")
    if active is not None:
        return active.provider, active.model
    return current_app.config["DEFAULT_LLM_PROVIDER"], current_app.config["DEFAULT_LLM_MODEL"]


def helper_complete(account_id: uuid.UUID, purpose: str, messages: list[dict], **params) -> str:
    """A blocking call of the helper model made on behalf of ``account_id`` (``purpose`` names the
    helper, e.g. ``suggested_questions``) → the answer text. Raises ``UpstreamError`` (502) /
    ``UpstreamTimeoutError`` (504), ``FailError`` when the provider is not configured."""
    provider, model = helper_model()
    spec = model_service.get_model(provider, model)
    params["max_tokens"] = min(int(params.get("max_tokens") or 256), spec.max_output)
    client = model_service.get_chat_client(spec.provider)
    charge = metering.reserve(account_id, spec, estimate_messages_tokens(messages), params["max_tokens"],
                              surface="ai", endpoint=f"ai.{purpose}"[:64])
    try:
        result = client.complete(spec.name, messages, **params)
    except ProviderTimeout as exc:
        metrics.observe_llm("ai", spec.provider, spec.name, "timeout", 0, 0, None)
        charge.settle(0, 0, False, "error", 504, exc.message)
        raise UpstreamTimeoutError(exc.message) from exc
    except ProviderError as exc:
        metrics.observe_llm("ai", spec.provider, spec.name, "error", 0, 0, None)
        charge.settle(0, 0, False, "error", 502, exc.message)
        raise UpstreamError(exc.message) from exc
    except BaseException as exc:  # the reservation never outlives the call
        charge.settle(0, 0, False, "error", 500, f"internal error: {exc.__class__.__name__}")
        raise
    metrics.observe_llm("ai", spec.provider, spec.name, "normal", result.usage.prompt_tokens,
                        result.usage.completion_tokens, None)
    charge.settle(result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.estimated, "success")
    return result.content


def helper_stream(account_id: uuid.UUID, purpose: str, messages: list[dict], **params) -> Iterator[str]:
    """A streamed call of the helper model on behalf of ``account_id`` → an iterator of text
    pieces. A provider that is unknown or not configured raises here (``FailError``, before any
    byte); failures while streaming raise ``UpstreamError`` / ``UpstreamTimeoutError`` from the
    iterator (SSE ``error`` events)."""
    provider, model = helper_model()
    spec = model_service.get_model(provider, model)
    params["max_tokens"] = min(int(params.get("max_tokens") or 1024), spec.max_output)
    client = model_service.get_chat_client(spec.provider)
    charge = metering.reserve(account_id, spec, estimate_messages_tokens(messages), params["max_tokens"],
                              surface="ai", endpoint=f"ai.{purpose}"[:64], is_stream=True)
    return _helper_deltas(client, spec, messages, params, charge)


def _helper_deltas(client, spec, messages: list[dict], params: dict, charge: metering.Charge) -> Iterator[str]:
    state, status = StreamState(), "normal"
    try:
        with contextlib.closing(client.stream(spec.name, messages, state, **params)) as deltas:
            for delta in deltas:
                yield delta.content
    except ProviderTimeout as exc:
        status = "timeout"
        raise UpstreamTimeoutError(exc.message) from exc
    except ProviderError as exc:
        status = "error"
        raise UpstreamError(exc.message) from exc
    except GeneratorExit:
        status = "stop"
        raise
    finally:
        usage = state.usage or Usage(estimate_messages_tokens(messages), estimate_tokens(state.content), True)
        metrics.observe_llm("ai", spec.provider, spec.name, status, usage.prompt_tokens, usage.completion_tokens,
                            state.first_token_ms)
        charge.first_token_ms = state.first_token_ms
        charge.settle(usage.prompt_tokens, usage.completion_tokens, usage.estimated,
                      {"normal": "success", "stop": "stop"}.get(status, "error"))


def get_message_usage(message_id: uuid.UUID) -> dict | None:
    """Tokens, status and first-token time of a saved turn (for the gateway's accounting)."""
    message = db.session.get(Message, message_id)
    if message is None:
        return None
    return {"prompt_tokens": message.prompt_tokens, "completion_tokens": message.answer_tokens,
            "estimated": message.usage_estimated, "status": message.status, "error": message.error,
            "first_token_ms": message.first_token_latency}


def _event_records(records: list[dict]) -> list[dict]:
    keys = ("segment_id", "document_id", "document_name", "dataset_id", "score", "content")
    return [{k: r[k] for k in keys} for r in records]


def stop_debug_task(account_id: uuid.UUID, app_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Ask the stream ``task_id`` to stop, whichever api process runs it (``NotFoundError`` if
    it is not this account's running task)."""
    app_service.get_owned_app(account_id, app_id)
    store = runtime().state_store
    if store.get(f"task:{task_id}") != str(account_id):
        raise NotFoundError("no running task with this id")
    store.set(f"stop:{task_id}", "1", 600)


def list_messages(account_id: uuid.UUID, app_id: uuid.UUID, current_page: int, page_size: int,
                  created_at: int = 0) -> tuple[list[dict], dict]:
    """Seed 1.6 / course 1.13: the debug conversation's messages, newest first, soft-deleted
    excluded; ``created_at`` (Unix seconds, 0 = none) keeps only messages created at or before
    it, so later pages do not shift while new messages arrive."""
    app = app_service.get_owned_app(account_id, app_id)
    if app.debug_conversation_id is None:
        return [], paginator(current_page, page_size, 0)
    query = sa.select(Message).where(
        Message.conversation_id == app.debug_conversation_id, Message.is_deleted.is_(False))
    if created_at:
        query = query.where(Message.created_at < datetime.fromtimestamp(created_at + 1, UTC).replace(tzinfo=None))
    rows, page = paginate(query, (Message.created_at.desc(), Message.id.desc()), current_page, page_size)
    return [message_to_dict(m) for m in rows], page


def delete_message(account_id: uuid.UUID, app_id: uuid.UUID, message_id: uuid.UUID) -> None:
    """Seed 1.7: soft-delete a message of this app's debug conversation."""
    app = app_service.get_owned_app(account_id, app_id)
    message = db.session.get(Message, message_id)
    if (message is None or message.is_deleted or app.debug_conversation_id is None
            or message.conversation_id != app.debug_conversation_id):
        raise NotFoundError("message not found")
    message.is_deleted = True
    db.session.commit()


def delete_debug_conversation(account_id: uuid.UUID, app_id: uuid.UUID) -> None:
    """Start a fresh debug conversation: history and long-term memory are reset."""
    app = app_service.get_owned_app(account_id, app_id)
    if app.debug_conversation_id:
        conversation = db.session.get(Conversation, app.debug_conversation_id)
        if conversation is not None:
            conversation.is_deleted = True
        app.debug_conversation_id = None
        db.session.commit()


def message_to_dict(message: Message) -> dict:
    """Seed 1.5/1.6's message shape plus ``status``, ``total_tokens`` and ``usage_estimated``."""
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "query": message.query,
        "answer": message.answer,
        "answer_tokens": message.answer_tokens,
        "total_tokens": message.total_tokens,
        "usage_estimated": message.usage_estimated,
        "response_latency": message.response_latency,
        "status": message.status,
        "error": message.error,
        "retrieval_records": message.retrieval_records or [],
        "image_urls": [],
        "latency": round(message.response_latency / 1000, 3),
        "total_token_count": message.total_tokens,
        "total_price": message_price(message),
        "agent_thoughts": agent_thoughts(message),
        "updated_at": unix(message.updated_at),
        "created_at": unix(message.created_at),
    }


def agent_thoughts(message: Message) -> list[dict]:
    """The course's ``agent_thoughts`` of a saved message, rebuilt from what the message holds:
    memory recall (when memory was on), dataset retrieval, the answer (or the failure), in order;
    ids are the step ids its stream used. An agent run's saved steps are returned as saved."""
    stored = agent_service().stored_thoughts(message)
    if stored:
        return stored
    created_at = unix(message.created_at)
    steps: list[tuple[str, dict]] = []
    if message.memory_status != "none":
        steps.append(("long_term_memory_recall", {}))
    if message.retrieval_records:
        steps.append(("dataset_retrieval", {"observation": "\n".join(r.get("content", "")
                                                                    for r in message.retrieval_records)}))
    if message.answer:
        steps.append(("agent_message", {"thought": message.answer, "answer": message.answer,
                                        "latency": round(message.response_latency / 1000, 3),
                                        "total_token_count": message.total_tokens}))
    if message.status in ("error", "timeout"):
        steps.append((message.status, {"observation": message.error}))
    return [{"id": step_id(message.id, event), "position": position, "event": event, "thought": "",
             "observation": "", "tool": "", "tool_input": {}, "answer": "", "latency": 0.0,
             "total_token_count": 0, "total_price": 0.0, "created_at": created_at, **fields}
            for position, (event, fields) in enumerate(steps, start=1)]


def _recent_rounds(conversation_id: uuid.UUID, dialog_round: int) -> list[list[dict]]:
    """The last ``dialog_round`` usable rounds (not deleted, not failed), oldest first."""
    if dialog_round <= 0:
        return []
    rows = db.session.execute(
        sa.select(Message.query, Message.answer)
        .where(Message.conversation_id == conversation_id, Message.is_deleted.is_(False),
               Message.status.in_(("normal", "stop")), Message.answer != "")
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(dialog_round)
    ).all()
    return [[{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in reversed(rows)]


def _save_message(turn: DebugTurn, answer: str, usage: Usage | None, status: str, error: str,
                  first_token_ms: int | None, called: bool = True) -> Message:
    """Persist the turn (one transaction) and queue the memory fold when it applies; ``called``
    False: the model was never called (not counted in the metrics)."""
    db.session.rollback()  # a failure mid-turn must not leave a half transaction behind
    answer = review_service.mask(turn.review, answer)
    if usage is None:
        usage = Usage(estimate_messages_tokens(turn.messages), estimate_tokens(answer), estimated=True)
    fold = turn.memory_on and status == "normal" and bool(answer.strip())
    message = Message(
        id=turn.message_id, app_id=turn.app_id, conversation_id=turn.conversation_id,
        account_id=turn.account_id, task_id=turn.task_id, query=turn.query, answer=answer,
        provider=turn.provider, model=turn.model, prompt_tokens=usage.prompt_tokens,
        answer_tokens=usage.completion_tokens, total_tokens=usage.total_tokens,
        usage_estimated=usage.estimated,
        response_latency=int((time.perf_counter() - turn.started) * 1000),
        first_token_latency=first_token_ms, status=status, error=error[:2000],
        memory_status="pending" if fold else "none",
        retrieval_records=_event_records(turn.records) if turn.records else None,
    )
    db.session.add(message)
    if turn.retrieval_log:
        datasets, query, app_id, source = turn.retrieval_log
        retrieval_service.log_retrieval(turn.account_id, datasets, query, source, app_id,
                                        [r["segment_id"] for r in turn.records])
    if turn.preset_answer is None and called:  # a preset answer is no model call
        metrics.observe_llm("studio", turn.provider, turn.model, status, usage.prompt_tokens,
                            usage.completion_tokens, first_token_ms)
    conversation = db.session.get(Conversation, turn.conversation_id)
    if conversation is not None:
        conversation.updated_at = utcnow()
    db.session.commit()
    if turn.charge is not None:
        turn.charge.started, turn.charge.first_token_ms = turn.started, first_token_ms
        turn.charge.settle(usage.prompt_tokens, usage.completion_tokens, usage.estimated,
                           {"normal": "success", "stop": "stop"}.get(status, "error"),
                           200 if status in ("normal", "stop") else 502, error)
    if fold:
        memory_service.dispatch_fold(message.id)
    return message
