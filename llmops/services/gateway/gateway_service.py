"""The OpenAI-compatible gateway (docs/api.md B): ``/v1/chat/completions``, ``/v1/models``,
``/v1/embeddings`` for API-key callers.

A chat request: key (cached) → model allow-list → registry resolution (alias → ordered upstream
models) → RPM/TPM (``limits``, the flask-limiter storage) → open-stream slot (``max_streams``) →
credits reserved on the key's cap and the account's balance (``metering.reserve`` over
``llmops.quota``: estimated prompt + ``max_tokens`` x ``n`` at the model's price) → upstream calls
in fallback order → the stream relayed line by line as it arrives → settled with the real usage →
one usage record (buffered, ``usage_service``). The client's JSON goes upstream unchanged apart
from ``model``, the output limit (``max_tokens`` or ``max_completion_tokens``, capped at the
model's ``max_output`` and sent under the name the provider reads) and
``stream_options.include_usage`` (which we always ask for and strip when the client did not).
Blocking answers are completed to OpenAI's schema and to ``n`` choices (``_complete``); a stream
that fails after its first byte ends with an error chunk (``StreamRelay``).
Usage comes from the upstream's ``usage``; when it sends none (llama.cpp while streaming) it is
estimated (``llmops.providers.tokens``) and the record is flagged ``estimated``.
"""

from __future__ import annotations

import base64
import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from flask import current_app
from limits import RateLimitItemPerMinute

from llmops import metrics
from llmops.errors import (
    AppError,
    ModelNotAllowedError,
    ModelNotFoundError,
    RateLimitedError,
    UpstreamError,
    UpstreamTimeoutError,
    ValidateError,
)
from llmops.extensions import db, limiter
from llmops.providers.errors import ModelNotFound, ProviderBadRequest, ProviderError, ProviderRateLimited, ProviderTimeout
from llmops.providers.registry import ModelSpec
from llmops.providers.relay import RelayClient, dumps, loads
from llmops.providers.tokens import estimate_messages_tokens, estimate_tokens
from llmops.runtime import runtime
from llmops.services.core import metering, model_service
from llmops.services.gateway import vision_service
from llmops.services.gateway.api_key_service import KeyPrincipal
from llmops.services.studio import chat_service

_lock = threading.Lock()


class UpstreamRejectedError(AppError):
    """The upstream refused the request itself (4xx other than 429): its status and message."""

    code, openai_type = "fail", "invalid_request_error"


@dataclass
class Call:
    """Accounting of one gateway request: its metering ``charge`` (``metering``) plus metrics."""

    principal: KeyPrincipal
    model: str
    endpoint: str
    is_stream: bool
    charge: metering.Charge | None = None
    spec: ModelSpec | None = None
    started: float = field(default_factory=time.perf_counter)
    first_token_ms: int | None = None
    stream_slot: str | None = None

    def finish(self, prompt_tokens: int, completion_tokens: int, estimated: bool, status: str,
               status_code: int = 200, error: str = "") -> None:
        """Settle the reservation with the tokens used and queue the usage record (once)."""
        spec = self.spec
        if self.stream_slot is not None:
            runtime().quota_ledger.release_stream(self.principal.id, self.stream_slot)
            self.stream_slot = None
        if self.charge is None or self.charge.settled:
            return
        metrics.observe_llm("gateway", spec.provider if spec else "", spec.name if spec else self.model, status,
                            prompt_tokens, completion_tokens, self.first_token_ms)
        self.charge.started, self.charge.first_token_ms = self.started, self.first_token_ms
        self.charge.settle(prompt_tokens, completion_tokens, estimated, status, status_code, error, spec=spec)


def list_models(principal: KeyPrincipal) -> dict:
    """OpenAI's model list: configured models and aliases the key may use."""
    registry = model_service.get_registry()
    names: dict[str, str] = {}
    for provider in registry.providers.values():
        if registry.is_configured(provider.name):
            for model in provider.models.values():
                names.setdefault(model.name, provider.name)
    for alias in registry.aliases:
        with contextlib.suppress(ModelNotFound):
            registry.resolve(alias)
            names.setdefault(alias, "llmops")
    embedding = runtime().embedding_model
    names.setdefault(embedding.name, "llmops")
    allowed = set(principal.models)
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": 0, "owned_by": owner}
        for name, owner in names.items() if not allowed or name in allowed
    ]}


def chat_completions(principal: KeyPrincipal, body: dict, surface: str = "gateway",
                     app_surface: bool = False, check_account: bool = False) -> dict | StreamRelay:
    """Relay one chat completion → the upstream's JSON, or (``stream``) an iterator of SSE frames
    ending with ``data: [DONE]``. Raises 403/404/429/502/504 ``AppError``s before any byte.

    ``max_tokens`` (or ``max_completion_tokens``) is capped at the model's ``max_output`` (and set
    to it when absent), so the reservation — estimated prompt + ``max_tokens`` x ``n`` at the
    dearest fallback's price — bounds what the upstream can bill. ``surface`` names the route
    family in the usage log; ``app_surface``: the route serves the key's bound app (seed 001's
    voice engine), so a key bound to an app may use it. ``check_account``: the caller authenticated
    without checking the key's account (``api_key_service.authenticate(check_account=False)``),
    so the reservation checks it in its own step (403 for a disabled account, nothing reserved)."""
    if principal.app_id is not None and not app_surface:
        raise ModelNotAllowedError(f"This API key is bound to an app: it may only call that app "
                                   f"(POST /v1/apps/{principal.app_id}/chat)")
    model = body["model"]
    stream = bool(body.get("stream"))
    specs = _resolve(principal, model)
    body = vision_service.inline_remote_images(body)  # client image URLs: public addresses only
    call = Call(principal, model, "chat.completions", stream)
    prompt_estimate = estimate_messages_tokens(body["messages"]) + IMAGE_TOKENS * _images(body["messages"])
    n = _count(body, "n", 128) or 1
    if stream and n > 1:
        raise ValidateError("n must be 1 when stream is true (ask for several answers without streaming)",
                            data={"n": ["1 when stream is true"]}, status=400)
    for name in ("max_tokens", "max_completion_tokens"):
        _count(body, name, 10**7)
    completion_max = n * max(_max_tokens(body, spec) for spec in specs)
    _rate_limit(principal, prompt_estimate + completion_max)
    if stream and principal.max_streams is not None:
        call.stream_slot = runtime().quota_ledger.acquire_stream(
            principal.id, principal.max_streams, current_app.config["LLM_TOTAL_TIMEOUT_S"] + 60)
        if call.stream_slot is None:
            metrics.QUOTA_REFUSALS.labels("streams").inc()
            raise RateLimitedError(f"Too many open streams: at most {principal.max_streams} at once for this API key")
    try:
        # n answers from an upstream that ignores n are n calls, each billing the prompt
        call.charge = metering.reserve(principal.account_id, specs, prompt_estimate * n, completion_max, surface=surface,
                                       endpoint="chat.completions", key_id=principal.id, model=model, is_stream=stream,
                                       check_account=check_account)
    except AppError:
        call.finish(0, 0, False, "refused")  # frees the stream slot
        raise
    try:
        if db.session.registry.has():  # a session was opened (a key or the registry read from the database)
            db.session.close()  # give the pooled connection back for the upstream call (a stream can last minutes)
        if stream:
            return _stream(call, body, specs, prompt_estimate)
        return _complete(call, body, specs, prompt_estimate)
    except BaseException as exc:
        # whatever went wrong, the reservation is released (a no-op once the call is settled)
        call.finish(0, 0, False, "error", 500, f"internal error: {exc.__class__.__name__}")
        raise


# Prompt tokens held per image part (a 1024x1024 image is 765 at OpenAI's high detail); the
# settlement uses the upstream's real count.
IMAGE_TOKENS = 1500


def _images(messages: list) -> int:
    return sum(1 for m in messages if isinstance(m, dict) and isinstance(m.get("content"), list)
               for part in m["content"] if isinstance(part, dict) and part.get("type") == "image_url")


def _count(body: dict, name: str, maximum: int) -> int | None:
    """``body[name]`` when it is an integer from 1 to ``maximum`` (None when absent); a 400 naming
    the field otherwise (every route that reaches the gateway, whatever its own schema checked)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise ValidateError(f"{name} must be an integer from 1 to {maximum}",
                            data={name: [f"an integer from 1 to {maximum}"]}, status=400)
    return value


def _max_tokens(body: dict, spec: ModelSpec) -> int:
    """The client's ``max_completion_tokens``/``max_tokens`` (the smaller when both are given)
    capped at the model's ``max_output``; the ``max_output`` when neither is."""
    requested = [int(body[name]) for name in ("max_completion_tokens", "max_tokens") if body.get(name)]
    return min([*requested, spec.max_output])


# Providers whose API takes ``max_completion_tokens`` (OpenAI's reasoning models refuse
# ``max_tokens``); every other OpenAI-compatible server (llama.cpp, vLLM, DeepSeek, Qwen, ...)
# reads only ``max_tokens`` and would ignore the other field.
MAX_COMPLETION_TOKENS_PROVIDERS = frozenset({"openai"})


def _upstream_body(body: dict, spec: ModelSpec) -> dict:
    """The client's body for ``spec``: its upstream name and the capped limit on output tokens,
    under the one name the provider reads (``max_tokens``, or ``max_completion_tokens`` for
    ``MAX_COMPLETION_TOKENS_PROVIDERS``), whichever of the two the client sent."""
    upstream = {k: v for k, v in body.items() if k not in ("max_tokens", "max_completion_tokens")}
    field_name = "max_completion_tokens" if spec.provider in MAX_COMPLETION_TOKENS_PROVIDERS else "max_tokens"
    return {**upstream, "model": spec.name, field_name: _max_tokens(body, spec)}


# At most this many extra upstream calls at once when fanning out ``n`` answers.
FAN_OUT_CONCURRENCY = 8


def _complete(call: Call, body: dict, specs: list[ModelSpec], prompt_estimate: int) -> dict:
    """A non-streamed completion → OpenAI's ``chat.completion`` with every field its schema
    requires (``_conformant``). ``n`` > 1 answered with fewer choices (llama.cpp and most
    self-hosted servers ignore ``n``) is completed by further calls of the same upstream, so the
    client always gets ``n`` choices; each call bills its prompt."""
    def attempt(spec: ModelSpec) -> dict:
        return _relay(spec).post_json("chat/completions", _upstream_body(body, spec))

    result = _with_fallbacks(call, specs, attempt)
    results = [result]
    n = int(body.get("n") or 1)
    missing = n - len(result.get("choices") or [])
    if n > 1 and missing > 0:
        client, single = _relay(call.spec), {**_upstream_body(body, call.spec), "n": 1}
        with ThreadPoolExecutor(max_workers=min(missing, FAN_OUT_CONCURRENCY)) as pool:
            futures = [pool.submit(client.post_json, "chat/completions", single) for _ in range(missing)]
            failure = None
            for future in futures:
                try:
                    results.append(future.result())
                except ProviderError as exc:
                    failure = failure or exc
        if failure is not None:
            prompt, completion, estimated = _usage_of(results, prompt_estimate)
            call.finish(prompt, completion, estimated, "error", 504 if isinstance(failure, ProviderTimeout) else 502,
                        failure.message)
            raise (UpstreamTimeoutError if isinstance(failure, ProviderTimeout) else UpstreamError)(failure.message)
        result = {**result, "choices": [c for r in results for c in (r.get("choices") or [])][:n]}
    prompt, completion, estimated = _usage_of(results, prompt_estimate)
    call.finish(prompt, completion, estimated, "success")
    if estimated or len(results) > 1 or not result.get("usage"):
        result["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion,
                           "total_tokens": prompt + completion, **({"estimated": True} if estimated else {})}
    return _conformant(result, call.model)


def _usage_of(results: list[dict], prompt_estimate: int) -> tuple[int, int, bool]:
    """(prompt, completion, estimated) tokens of upstream answers: their ``usage`` summed, or —
    when one has none — estimated (the prompt once per call, the text of every choice)."""
    usages = [r.get("usage") or {} for r in results]
    if all(u.get("prompt_tokens") is not None for u in usages):
        return (sum(int(u.get("prompt_tokens") or 0) for u in usages),
                sum(int(u.get("completion_tokens") or 0) for u in usages), False)
    text = "".join(((c.get("message") or {}).get("content") or "") for r in results for c in r.get("choices") or [])
    return prompt_estimate * len(results), estimate_tokens(text), True


def _conformant(result: dict, model: str) -> dict:
    """``result`` with the fields OpenAI's ``chat.completion`` schema requires filled where the
    upstream left them out: ``id``, ``object``, ``created``, ``model``; per choice ``index``
    (renumbered 0..n-1), ``finish_reason`` (``stop``), ``logprobs`` (null) and ``message``'s
    ``role`` (``assistant``), ``content`` and ``refusal`` (null). Values present are kept."""
    defaults = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": model}
    for name, value in defaults.items():
        if result.get(name) is None:
            result[name] = value
    choices = []
    for index, raw in enumerate(result.get("choices") or []):
        choice = dict(raw) if isinstance(raw, dict) else {}
        message = dict(choice.get("message") or {})
        message.setdefault("role", "assistant")
        message.setdefault("content", None)
        message.setdefault("refusal", None)
        choice.update(index=index, message=message)
        choice.setdefault("logprobs", None)
        if choice.get("finish_reason") is None:
            choice["finish_reason"] = "stop"
        choices.append(choice)
    result["choices"] = choices
    return result


def _stream(call: Call, body: dict, specs: list[ModelSpec], prompt_estimate: int) -> StreamRelay:
    wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    stack = contextlib.ExitStack()

    def attempt(spec: ModelSpec):
        upstream_body = {**_upstream_body(body, spec),
                         "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}
        return stack.enter_context(_relay(spec).stream_lines("chat/completions", upstream_body,
                                                             current_app.config["LLM_TOTAL_TIMEOUT_S"]))

    try:
        lines = _with_fallbacks(call, specs, attempt)  # errors here keep their HTTP status
    except BaseException:
        call.finish(0, 0, False, "error", 502, "no upstream answered")  # no-op when already settled
        stack.close()
        raise
    return StreamRelay(current_app._get_current_object(), call, lines, stack, wants_usage, prompt_estimate)


class StreamRelay:
    """The chunks of one relayed stream: each ``chat.completion.chunk`` as JSON bytes (the
    upstream's own bytes when we change nothing), for ``llmops.api`` to send as SSE ``data:``
    frames followed by ``data: [DONE]`` (``llmops.api.sse.openai_stream``). ``batches()`` gives
    them as lists, one per read from the upstream, so chunks that arrived together leave together;
    ``ended`` is True from the last batch of an answer that ended (so ``[DONE]`` can go with it).

    Iterate it to relay; the server calls ``close()`` when the response ends or the client goes
    away, which closes the upstream connection and settles the quota with what was sent (status
    ``stop``, 499) even when iteration never started. An upstream failure after the first byte —
    an error chunk or a non-JSON ``data:`` line from the upstream, a reset connection, silence
    past ``LLM_READ_TIMEOUT_S``, no end within ``LLM_TOTAL_TIMEOUT_S``, a stream that ends before
    its ``finish_reason`` — becomes a last OpenAI-shaped chunk ``{"error": {message, type, param,
    code}}`` (``type`` ``server_error``; ``code`` ``upstream_error`` or ``upstream_timeout``);
    the call is settled for the text delivered and logged with status ``error`` or ``timeout``
    (502 / 504). A stream that ends well is settled after its last batch was taken (the client
    has its ``[DONE]`` before the quota's round trip).
    """

    def __init__(self, app, call: Call, lines: Iterator[list[bytes]], stack: contextlib.ExitStack,
                 wants_usage: bool, prompt_estimate: int):
        self.app, self.call, self.lines, self.stack = app, call, lines, stack
        self.wants_usage, self.prompt_estimate = wants_usage, prompt_estimate
        self.usage: dict | None = None
        self.last: dict = {}  # the last chunk read
        self.parts: list[str] = []
        self.finished = self.ended = False

    def __iter__(self) -> Iterator[bytes]:
        # One chunk at a time, each counted as delivered only when handed out (a consumer may stop
        # between two chunks that arrived together).
        for batch in self.batches([payload] for payloads in self.lines for payload in payloads):
            yield from batch

    def batches(self, lines: Iterator[list[bytes]] | None = None) -> Iterator[list[bytes]]:
        """The chunks, one list per read from the upstream (``lines``: these lists instead); the
        last (``ended``) may be empty. A list's text counts as delivered once the list is handed out."""
        complete = False  # [DONE] or a finish_reason seen: the answer is complete
        out: list[bytes] = []
        try:
            for payloads in self.lines if lines is None else lines:
                out = []
                try:
                    for payload in payloads:
                        if payload == b"[DONE]":
                            complete = self.ended = True
                            break
                        send, finished = self._chunk(payload)
                        complete = complete or finished
                        if send is _SAME:
                            out.append(payload)
                        elif send is not None:
                            out.append(dumps(send))
                except ProviderError:
                    if out:
                        yield out  # what came before the fault, in the same read, is relayed
                    raise
                if self.ended:
                    break  # sent below, with the usage estimate
                if out:
                    yield out
                    out = []
            if not complete:
                raise ProviderError("the upstream ended the stream before the answer was finished")
        except ProviderError as exc:
            timeout = isinstance(exc, ProviderTimeout)
            status_code = 504 if timeout else 502
            self._finish("timeout" if timeout else "error", status_code, exc.message)
            self.ended = True
            yield [dumps({"error": {"message": exc.message, "type": "server_error", "param": None,
                                    "code": "upstream_timeout" if timeout else "upstream_error"}})]
            return
        except Exception as exc:  # noqa: BLE001 — after the first byte every failure must end the stream cleanly
            self.app.logger.exception("gateway stream failed")
            self._finish("error", 500, f"internal error: {exc.__class__.__name__}")
            self.ended = True
            yield [dumps({"error": {"message": "internal server error", "type": "server_error", "param": None,
                                    "code": None}})]
            return
        self.ended = True
        yield out + self._usage_estimate()
        self._finish("success", 200, "")

    def _chunk(self, payload: bytes) -> tuple[dict | None, bool]:
        """One upstream chunk → (what to send: ``_SAME`` for the payload unchanged, a changed
        chunk, or None for nothing; whether it carries a ``finish_reason``). Raises
        ``ProviderError`` for an error chunk or a malformed line."""
        try:
            chunk = loads(payload)
        except ValueError:
            raise ProviderError(f"the upstream sent a malformed stream chunk: {_shown(payload)}") from None
        if not isinstance(chunk, dict):
            raise ProviderError(f"the upstream sent a malformed stream chunk: {_shown(payload)}")
        if chunk.get("error") is not None:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise ProviderError(f"the upstream failed mid-stream: {str(message)[:500]}", 502)
        self.last = chunk
        send = _SAME
        if chunk.get("usage"):
            self.usage = chunk["usage"]
            if not self.wants_usage:
                if not chunk.get("choices"):
                    return None, False  # the usage-only chunk the client did not ask for
                send = {k: v for k, v in chunk.items() if k != "usage"}
        finished = False
        for choice in chunk.get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                if self.call.first_token_ms is None:
                    self.call.first_token_ms = int((time.perf_counter() - self.call.started) * 1000)
                self.parts.append(text)
            if choice.get("finish_reason"):
                finished = True
        return send, finished

    def _usage_estimate(self) -> list[bytes]:
        """[our usage chunk] when the client asked for one and the upstream sent none (llama.cpp
        does not while streaming): the estimate, flagged, as OpenAI's last chunk; else []."""
        if not self.wants_usage or self.usage:
            return []
        last = self.last
        prompt, completion = self.prompt_estimate, estimate_tokens("".join(self.parts))
        return [dumps({"id": last.get("id", ""), "object": "chat.completion.chunk", "created": last.get("created", 0),
                       "model": last.get("model", self.call.model), "choices": [],
                       "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                 "total_tokens": prompt + completion, "estimated": True}})]

    def close(self) -> None:
        if self.ended:  # the answer's last batch was handed out: the client has all of it
            self._finish("success", 200, "")
        else:
            self._finish("stop", 499, "the client closed the stream")

    def _finish(self, status: str, status_code: int, error: str) -> None:
        if self.finished:
            return
        self.finished = True
        try:
            self.stack.close()
        except Exception:  # noqa: BLE001 — closing a broken upstream connection must not skip the settlement
            self.app.logger.warning("closing the upstream stream failed", exc_info=True)
        # A failed settlement (the database busy or gone for a moment) must not cut a stream the
        # client has received in full: the usage hold stays open and the reconciliation job
        # (``reconcile-usage``) settles it from the hold's record.
        try:
            with self.app.app_context():
                usage = self.usage
                if usage and usage.get("prompt_tokens") is not None:
                    self.call.finish(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                                     False, status, status_code, error)
                else:
                    self.call.finish(self.prompt_estimate, estimate_tokens("".join(self.parts)), True, status,
                                     status_code, error)
        except Exception:  # noqa: BLE001 — the hold is the record of last resort
            self.app.logger.exception("settling a gateway stream failed; its usage hold stays for reconciliation")


_SAME = object()  # StreamRelay._chunk: send the upstream's payload unchanged


def _shown(payload: bytes) -> str:
    """The start of an upstream's line, quoted, for an error message."""
    return repr(payload[:100].decode(errors="replace"))


def _with_fallbacks(call: Call, specs: list[ModelSpec], attempt):
    """``attempt(spec)`` for each upstream in order (cooling ones last) until one answers; 429,
    5xx, timeouts and connection errors move on, other upstream 4xx end the request."""
    cooldowns = runtime().gateway_cooldowns
    now = time.monotonic()
    ordered = sorted(specs, key=lambda s: cooldowns.get((s.provider, s.name), 0) > now)
    last: ProviderError | None = None
    metrics.GATEWAY_OVERHEAD.labels(call.endpoint).observe(time.perf_counter() - call.started)
    for index, spec in enumerate(ordered):
        call.spec = spec
        try:
            result = attempt(spec)
            if index:
                metrics.GATEWAY_FALLBACKS.labels(metrics.model_label(call.model)).inc()
            return result
        except ProviderBadRequest as exc:
            call.finish(0, 0, False, "error", exc.status or 400, exc.message)
            raise UpstreamRejectedError(exc.message, status=exc.status or 400) from exc
        except ProviderError as exc:
            last = exc
            if not exc.retryable:
                break
            with _lock:
                cooldowns[(spec.provider, spec.name)] = time.monotonic() + current_app.config["GATEWAY_COOLDOWN_S"]
    assert last is not None
    status = 504 if isinstance(last, ProviderTimeout) else 429 if isinstance(last, ProviderRateLimited) else 502
    call.finish(0, 0, False, "error", status, last.message)
    if status == 504:
        raise UpstreamTimeoutError(last.message)
    if status == 429:
        raise RateLimitedError(f"every upstream for this model is rate limiting: {last.message}")
    raise UpstreamError(last.message)


def embeddings(principal: KeyPrincipal, body: dict) -> dict:
    """OpenAI ``/v1/embeddings`` over the configured embedding model; ``encoding_format`` float
    (lists of floats) or base64 (little-endian float32, what the openai SDK asks for)."""
    model = runtime().embedding_model
    if body["model"] != model.name:
        raise ModelNotFoundError(f"The model '{body['model']}' is not an embedding model here (use '{model.name}')")
    if principal.models and model.name not in principal.models:
        raise ModelNotAllowedError(f"This API key may not use the model '{model.name}'")
    if principal.app_id is not None:
        raise ModelNotAllowedError(f"This API key is bound to an app: it may only call that app "
                                   f"(POST /v1/apps/{principal.app_id}/chat)")
    texts = [body["input"]] if isinstance(body["input"], str) else list(body["input"])
    tokens = sum(model.count_tokens(t) for t in texts)
    _rate_limit(principal, tokens)
    call = Call(principal, model.name, "embeddings", False, spec=embedding_spec(model.name))
    call.charge = metering.reserve(principal.account_id, call.spec, tokens, 0, surface="embedding",
                                   endpoint="embeddings", key_id=principal.id, model=model.name)
    try:
        vectors = model.embed(texts)
    except ProviderError as exc:
        call.finish(0, 0, False, "error", exc.status or 502, exc.message)
        raise UpstreamError(exc.message) from exc
    except BaseException as exc:
        call.finish(0, 0, False, "error", 500, f"internal error: {exc.__class__.__name__}")
        raise
    call.finish(tokens, 0, False, "success")
    as_base64 = body.get("encoding_format") == "base64"
    data = [{"object": "embedding", "index": i,
             "embedding": base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode() if as_base64 else v}
            for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": model.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def app_chat(principal: KeyPrincipal, app_id: uuid.UUID, query: str, conversation_id: uuid.UUID | None,
             end_user_id: str | None, stream: bool) -> dict | Iterator[tuple[str, dict]]:
    """Open API: a turn of the key's account's **published** app → the message (blocking) or the
    studio's SSE events (docs/api.md A "Debug-chat SSE"). The key's cap, the account's balance, the
    key's limits and allow-list (by the app's model) apply as for ``/v1/chat/completions``; the
    turn is metered by ``chat_service`` (surface ``app_api``). A key bound to an app may only call
    that app (403)."""
    if principal.app_id is not None and principal.app_id != app_id:
        raise ModelNotAllowedError("This API key is bound to another app")
    turn = chat_service.prepare_api_turn(principal.account_id, app_id, query, conversation_id, end_user_id)
    if principal.models and turn.model not in principal.models:
        raise ModelNotAllowedError(f"This API key may not use the model '{turn.model}' of this app")
    _rate_limit(principal, estimate_messages_tokens(turn.messages) + int(turn.parameters["max_tokens"]))
    turn.surface, turn.key_id, turn.endpoint = "app_api", principal.id, "apps.chat"
    if not stream:
        return chat_service.complete_debug_turn(turn)
    return chat_service.stream_debug_turn(turn)


def embedding_spec(name: str) -> ModelSpec:
    """The embedding model as a priced spec: ``EMBEDDING_PRICE`` USD per 1M tokens (0: free)."""
    return ModelSpec(name=name, provider="embedding", kind="embedding",
                     input_price=float(current_app.config["EMBEDDING_PRICE"]))


def _resolve(principal: KeyPrincipal, model: str) -> list[ModelSpec]:
    if principal.models and model not in principal.models:
        raise ModelNotAllowedError(f"This API key may not use the model '{model}'")
    try:
        return model_service.get_registry().resolve(model)
    except ModelNotFound as exc:
        raise ModelNotFoundError(str(exc)) from exc


def _rate_limit(principal: KeyPrincipal, tokens: int) -> None:
    """RPM and TPM of the key (TPM counts estimated prompt + max_tokens when the request starts)."""
    if principal.rpm is None and principal.tpm is None:
        return
    strategy = limiter.limiter
    key = str(principal.id)
    if principal.rpm is not None and not strategy.hit(RateLimitItemPerMinute(principal.rpm), "gw-rpm", key):
        metrics.QUOTA_REFUSALS.labels("rpm").inc()
        raise RateLimitedError(f"Rate limit reached: {principal.rpm} requests per minute for this API key")
    if principal.tpm is not None and not strategy.hit(RateLimitItemPerMinute(principal.tpm), "gw-tpm", key,
                                                      cost=max(tokens, 1)):
        metrics.QUOTA_REFUSALS.labels("tpm").inc()
        raise RateLimitedError(f"Rate limit reached: {principal.tpm} tokens per minute for this API key")


def _relay(spec: ModelSpec) -> RelayClient:
    registry = model_service.get_registry()
    provider = registry.provider(spec.provider)
    api_key = registry.api_key(spec.provider)
    clients = runtime().relay_clients
    key = (spec.provider, provider.base_url, api_key)
    client = clients.get(key)
    if client is None:
        with _lock:
            client = clients.get(key)
            if client is None:
                config = current_app.config
                client = RelayClient(provider.base_url, api_key, connect_timeout=config["LLM_CONNECT_TIMEOUT_S"],
                                     read_timeout=config["LLM_READ_TIMEOUT_S"])
                clients[key] = client
    return client



def course_app_chat(principal: KeyPrincipal, app_id: uuid.UUID, query: str, conversation_id: uuid.UUID | None,
                    end_user_id: str | None, stream: bool, image_urls: list[str] | None = None
                    ) -> dict | Iterator[tuple[str, dict]]:
    """The course's open chat (``POST /openapi/chat``): ``app_chat`` plus ``end_user_id`` on the
    message or on every event — a new end user (a UUID) when neither it nor a conversation is
    given. ``image_urls`` are accepted and not yet sent to the model."""
    if end_user_id is None and conversation_id is None:
        end_user_id = str(uuid.uuid4())
    result = app_chat(principal, app_id, query, conversation_id, end_user_id, stream)
    if isinstance(result, dict):
        return {**result, "end_user_id": end_user_id}
    events = _with_end_user(result, end_user_id)
    if isinstance(result, chat_service.TurnEvents):  # keeps settling a turn whose stream never started
        return chat_service.TurnEvents(result.turn, events)
    return events


def _with_end_user(events: Iterator[tuple[str, dict]], end_user_id: str | None) -> Iterator[tuple[str, dict]]:
    try:
        for name, data in events:
            yield name, {**data, "end_user_id": end_user_id}
    finally:
        events.close()
