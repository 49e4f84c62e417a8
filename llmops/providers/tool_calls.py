"""Streaming chat completions with OpenAI function calling (``tools``), over ``ChatClient``'s
SDK client and with its timeouts and error mapping: answer text is yielded as it arrives, tool
calls (streamed in pieces by index) are assembled in ``ToolStreamState.tool_calls``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import openai

from llmops.providers.chat import ChatClient, StreamState, Usage, _clean, _usage_from, map_openai_error
from llmops.providers.errors import ProviderError, ProviderTimeout, ProviderUnavailable
from llmops.providers.tokens import estimate_messages_tokens, estimate_tokens


@dataclass
class ToolCall:
    """One function call the model asked for; ``arguments`` is the model's JSON text."""

    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass
class ToolStreamState(StreamState):
    """``StreamState`` plus the tool calls, by their stream index."""

    calls: dict[int, ToolCall] = field(default_factory=dict)

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [self.calls[i] for i in sorted(self.calls) if self.calls[i].name]


def stream_with_tools(client: ChatClient, model: str, messages: list[dict], tools: list[dict],
                      state: ToolStreamState, **params) -> Iterator[str]:
    """Stream one completion offering ``tools`` (OpenAI ``tools`` shape; none → a plain call):
    yields answer text; ``state`` then holds the text, tool calls, finish reason and usage.
    Raises ``ProviderTimeout`` / ``ProviderError`` like ``ChatClient.stream``."""
    params = _clean(params)
    params.setdefault("stream_options", {"include_usage": True})
    if tools:
        params["tools"] = tools
    deadline = state.started + client.total_timeout
    try:
        stream = client.sdk.chat.completions.create(model=model, messages=messages, stream=True, **params)
        with stream:
            for chunk in stream:
                if chunk.usage is not None:
                    state.usage = _usage_from(chunk.usage)
                for choice in chunk.choices or []:
                    if choice.finish_reason:
                        state.finish_reason = choice.finish_reason
                    delta = choice.delta
                    if delta is None:
                        continue
                    for piece in delta.tool_calls or []:
                        call = state.calls.setdefault(piece.index or 0, ToolCall())
                        call.id = piece.id or call.id
                        if piece.function is not None:
                            call.name += piece.function.name or ""
                            call.arguments += piece.function.arguments or ""
                    if delta.content:
                        if state.first_token_ms is None:
                            state.first_token_ms = int((time.perf_counter() - state.started) * 1000)
                        state.content_parts.append(delta.content)
                        yield delta.content
                if time.perf_counter() > deadline:
                    raise ProviderTimeout(f"no complete answer within {client.total_timeout:g} s")
    except openai.APIError as exc:
        raise map_openai_error(exc) from exc
    except httpx.TimeoutException as exc:
        raise ProviderTimeout(f"the provider stopped sending data: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"the provider connection failed: {exc}") from exc
    if state.finish_reason is None:
        raise ProviderError("the provider ended the stream before the answer was finished", retryable=True)
    if state.usage is None:
        produced = state.content + "".join(c.name + c.arguments for c in state.tool_calls)
        state.usage = Usage(estimate_messages_tokens(messages), estimate_tokens(produced), estimated=True)
