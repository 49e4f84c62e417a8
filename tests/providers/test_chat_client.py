"""ChatClient against the fake upstream: usage, estimates, retries, error mapping, timeouts."""

import pytest

from llmops.providers.chat import ChatClient, StreamState
from llmops.providers.errors import ProviderBadRequest, ProviderError, ProviderTimeout, ProviderUnavailable
from llmops.providers.tokens import estimate_tokens

MESSAGES = [{"role": "user", "content": "hi"}]


def client_for(fake, **kwargs):
    kwargs.setdefault("max_retries", 0)
    return ChatClient(fake.base_url, "test-key", **kwargs)


def test_complete_uses_upstream_usage(fake):
    result = client_for(fake).complete("m", MESSAGES)
    assert result.content == "Hello, world!" and not result.usage.estimated
    assert result.usage.prompt_tokens == 11 and result.usage.completion_tokens == 4


def test_stream_collects_text_and_asks_for_usage(fake):
    state = StreamState()
    pieces = [d.content for d in client_for(fake).stream("m", MESSAGES, state)]
    assert pieces == ["Hello", ", ", "world", "!"] and state.content == "Hello, world!"
    assert fake.requests[-1]["stream_options"] == {"include_usage": True}
    assert state.usage.completion_tokens == 4 and not state.usage.estimated
    assert state.first_token_ms is not None


def test_stream_without_usage_is_estimated(fake):
    fake.behaviour.send_usage = False
    state = StreamState()
    list(client_for(fake).stream("m", MESSAGES, state))
    assert state.usage.estimated and state.usage.completion_tokens == estimate_tokens("Hello, world!")


def test_retries_on_5xx_then_succeeds(fake):
    fake.behaviour.fail_status, fake.behaviour.fail_times = 503, 1
    result = client_for(fake, max_retries=2).complete("m", MESSAGES)
    assert result.content == "Hello, world!" and len(fake.requests) == 2


@pytest.mark.parametrize("status, error", [(500, ProviderError), (429, ProviderError), (400, ProviderBadRequest)])
def test_error_mapping(fake, status, error):
    fake.behaviour.fail_status, fake.behaviour.fail_times = status, 10
    with pytest.raises(error) as info:
        client_for(fake).complete("m", MESSAGES)
    assert info.value.status == status and "test-key" not in info.value.message


def test_idle_timeout_between_chunks(fake):
    fake.behaviour.chunk_delay_s = 1.0
    with pytest.raises(ProviderTimeout):
        list(client_for(fake, read_timeout=0.3).stream("m", MESSAGES, StreamState()))


def test_unreachable_provider():
    client = ChatClient("http://127.0.0.1:9/v1", None, max_retries=0, connect_timeout=1)
    with pytest.raises(ProviderUnavailable):
        client.complete("m", MESSAGES)


def test_estimate_tokens_counts_cjk_per_character():
    assert estimate_tokens("") == 0
    assert estimate_tokens("大语言模型") == 5
    assert estimate_tokens("abcdefgh") == 2


def test_stream_cut_short_is_an_error_not_an_answer(fake):
    fake.behaviour.send_finish_reason = False
    state = StreamState()
    with pytest.raises(ProviderError, match="before the answer was finished"):
        list(client_for(fake).stream("m", MESSAGES, state))
    assert state.content == "Hello, world!"  # what arrived is kept for the caller to save


def test_probe_treats_a_silent_server_as_busy_and_a_closed_port_as_down(fake):
    import socket

    assert client_for(fake).probe() == "ok"
    silent = socket.socket()  # accepts connections (backlog) but never answers, like a busy llama.cpp
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        busy = ChatClient(f"http://127.0.0.1:{silent.getsockname()[1]}/v1", None, max_retries=0)
        assert busy.probe(read_timeout=0.5) == "busy"
    finally:
        silent.close()
    with pytest.raises(ProviderUnavailable):
        ChatClient("http://127.0.0.1:9/v1", None, max_retries=0).probe()
