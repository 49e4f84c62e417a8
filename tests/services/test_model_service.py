"""Provider clients for users' own upstream keys (seed 000 conversations): pooled, LRU-bounded."""

from cachetools import LRUCache

from llmops.runtime import runtime
from llmops.services.core import model_service


def test_user_key_clients_are_reused_and_bounded(app_ctx, monkeypatch):
    monkeypatch.setattr(runtime(), "user_key_chat_clients", LRUCache(maxsize=2))
    first = model_service.get_chat_client("local", "key-one-0123456789")
    assert model_service.get_chat_client("local", "key-one-0123456789") is first
    model_service.get_chat_client("local", "key-two-0123456789")
    model_service.get_chat_client("local", "key-one-0123456789")  # most recently used again
    model_service.get_chat_client("local", "key-three-0123456789")  # evicts key-two, not key-one
    pooled = [k[2] for k in runtime().user_key_chat_clients]
    assert pooled == ["key-one-0123456789", "key-three-0123456789"]
    assert model_service.get_chat_client("local") is not first  # the provider's own client is separate
