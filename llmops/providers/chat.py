"""Chat-completion client for any OpenAI-compatible provider, over the official ``openai`` SDK.

* timeouts: ``connect_timeout`` (s) to open a connection, ``read_timeout`` (s) of silence
  allowed between bytes — for a stream that is the idle gap between chunks — and
  ``total_timeout`` (s) for the whole call, checked between chunks;
* retries: the SDK retries connection errors, 408/409/429 and 5xx with exponential backoff
  (``max_retries``), before the first byte only;
* errors: mapped to ``llmops.providers.errors`` types;
* usage: taken from the upstream (``usage`` of the response, or the final usage chunk of a
  stream, which we ask for with ``stream_options.include_usage``); when absent it is estimated
  with ``tokens.estimate_*`` and ``usage_estimated`` is set.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import openai

from llmops.providers.errors import (
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    auth_failed,
)
from llmops.providers.tokens import estimate_messages_tokens, estimate_tokens


@dataclass
class Usage:
    """Token usage of one completion; ``estimated`` is True when we counted, not the upstream."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class ChatResult:
    """A finished completion: full ``content``, ``finish_reason``, ``usage``, latencies in ms."""

    content: str
    finish_reason: str | None
    usage: Usage
    latency_ms: int
    first_token_ms: int | None = None


@dataclass
class ChatDelta:
    """One streamed piece of answer text."""

    content: str


@dataclass
class StreamState:
    """Filled in while a stream runs; complete once the iterator is exhausted."""

    content_parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    started: float = field(default_factory=time.perf_counter)
    first_token_ms: int | None = None

    @property
    def content(self) -> str:
        return "".join(self.content_parts)


class ChatClient:
    """Client for one provider (``base_url`` + ``api_key``); thread- and greenlet-safe."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        total_timeout: float = 300.0,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
    ):
        self.base_url = base_url
        self.total_timeout = total_timeout
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "no-key",
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
        )

    @property
    def sdk(self) -> openai.OpenAI:
        """The underlying ``openai`` client (for calls this class does not wrap: tool calls)."""
        return self._client

    def complete(self, model: str, messages: list[dict], **params) -> ChatResult:
        """Blocking completion. Raises a ``ProviderError`` subclass on failure."""
        started = time.perf_counter()
        try:
            response = self._client.chat.completions.create(
                model=model, messages=messages, stream=False, **_clean(params)
            )
        except openai.APIError as exc:
            raise map_openai_error(exc) from exc
        choice = response.choices[0] if response.choices else None
        content = (choice.message.content or "") if choice else ""
        usage = _usage_from(response.usage) or Usage(
            estimate_messages_tokens(messages), estimate_tokens(content), estimated=True
        )
        latency = int((time.perf_counter() - started) * 1000)
        return ChatResult(content, choice.finish_reason if choice else None, usage, latency)

    def stream(self, model: str, messages: list[dict], state: StreamState, **params) -> Iterator[ChatDelta]:
        """Stream answer deltas; ``state`` holds the text, finish reason and usage at the end.

        Raises ``ProviderTimeout`` when ``total_timeout`` passes or the upstream stays silent
        longer than ``read_timeout``; other failures as in ``complete``.
        """
        params = _clean(params)
        params.setdefault("stream_options", {"include_usage": True})
        deadline = state.started + self.total_timeout
        try:
            stream = self._client.chat.completions.create(
                model=model, messages=messages, stream=True, **params
            )
            with stream:
                for chunk in stream:
                    if chunk.usage is not None:
                        state.usage = _usage_from(chunk.usage)
                    for choice in chunk.choices or []:
                        if choice.finish_reason:
                            state.finish_reason = choice.finish_reason
                        text = choice.delta.content if choice.delta else None
                        if text:
                            if state.first_token_ms is None:
                                state.first_token_ms = int((time.perf_counter() - state.started) * 1000)
                            state.content_parts.append(text)
                            yield ChatDelta(text)
                    if time.perf_counter() > deadline:
                        raise ProviderTimeout(f"no complete answer within {self.total_timeout:g} s")
        except openai.APIError as exc:
            raise map_openai_error(exc) from exc
        except httpx.TimeoutException as exc:  # idle gap while iterating the body
            raise ProviderTimeout(f"the provider stopped sending data: {exc}") from exc
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"the provider connection failed: {exc}") from exc
        except ValueError as exc:  # a ``data:`` line that is not JSON
            raise ProviderError(f"the provider sent a malformed stream chunk ({exc.__class__.__name__})") from exc
        if state.finish_reason is None:
            # OpenAI-compatible servers always end a complete choice with a finish_reason; a
            # stream without one was cut short (e.g. llama.cpp interrupting it for another request).
            raise ProviderError("the provider ended the stream before the answer was finished", retryable=True)
        if state.usage is None:
            state.usage = Usage(
                estimate_messages_tokens(messages), estimate_tokens(state.content), estimated=True
            )

    def probe(self, connect_timeout: float = 3.0, read_timeout: float = 2.0) -> str:
        """Readiness: ``"ok"``, or ``"busy"`` when the server accepted the connection but is slow
        to answer (llama.cpp answers ``/models`` only between generations). Raises
        ``ProviderUnavailable`` when it cannot be reached, ``ProviderError`` on a 5xx."""
        try:
            self._client.with_options(timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
                                      max_retries=0).models.list()
        except openai.APITimeoutError as exc:
            if isinstance(exc.__cause__, httpx.ConnectTimeout):
                raise ProviderUnavailable("the provider could not be reached (connect timeout)") from exc
            return "busy"
        except openai.APIError as exc:
            raise map_openai_error(exc) from exc
        return "ok"

    def close(self) -> None:
        self._client.close()


def _clean(params: dict) -> dict:
    return {k: v for k, v in params.items() if v is not None}


def _usage_from(usage) -> Usage | None:
    if usage is None or usage.prompt_tokens is None:
        return None
    return Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0, estimated=False)


def map_openai_error(exc: openai.APIError) -> ProviderError:
    """Map an ``openai`` SDK error to our provider error type (the key is never included)."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderTimeout("the provider timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderUnavailable("the provider could not be reached", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        detail = _error_message(exc)
        status = exc.status_code
        if status in (401, 403):
            return auth_failed(status, detail, str(exc.request.url) if exc.request is not None else "")
        if status == 429:
            return ProviderRateLimited(f"the provider is rate limiting: {detail}", status, True)
        if status >= 500:
            return ProviderError(f"the provider failed ({status}): {detail}", status, True)
        return ProviderBadRequest(f"the provider rejected the request ({status}): {detail}", status)
    return ProviderError(f"the provider failed: {exc.__class__.__name__}")


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:500]
        if isinstance(error, str):
            return error[:500]
    return (exc.message or "")[:500]
