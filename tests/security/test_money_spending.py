"""Attacks on the operator's money: spending a paid provider's key without credit, through each
surface that calls a model. Each was possible before accounts had balances (keys without a quota
were unlimited; the studio's chats were not metered at all)."""

import uuid

from llmops.services.studio import memory_service
from tests.api.compat.test_seed000 import seed_user
from tests.api.test_api_keys import new_key
from tests.api.test_gateway import flush
from tests.conftest import register
from tests.money import balance, grant


def bearer(plain: str) -> dict:
    return {"Authorization": f"Bearer {plain}"}


MESSAGES = [{"role": "user", "content": "Write me a novel."}]


def test_a_stranger_with_a_fresh_key_cannot_spend_the_operators_paid_provider(client, paid_provider, fake):
    stranger = register(client, "Mallory")
    key = new_key(client, stranger)["key"]  # no cap of its own: the default
    refused = client.post("/v1/chat/completions", json={"model": paid_provider, "messages": MESSAGES},
                          headers=bearer(key))
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "insufficient_quota"
    assert fake.requests == []  # the upstream (the operator's bill) was never called


def test_the_voice_engine_and_seed003_routes_are_not_a_way_around(client, paid_provider, fake):
    key = new_key(client, register(client, "Mallory"))["key"]
    voice = client.post("/chat/completions", json={"model": paid_provider, "messages": MESSAGES, "stream": False},
                        headers=bearer(key))
    seed003 = client.post("/api/v1/chat/completions", json={"model": paid_provider, "messages": MESSAGES},
                          headers=bearer(key))
    assert (voice.status_code, seed003.status_code) == (429, 429) and fake.requests == []


def test_studio_debug_chat_on_a_paid_model_is_not_free(client, paid_provider, fake):
    stranger = register(client, "Mallory")
    app_id = client.post("/apps", json={"name": "free lunch"}, headers=stranger).get_json()["data"]["id"]
    client.post(f"/apps/{app_id}/config", json={"model_config": {"provider": "deepseek", "model": paid_provider}},
                headers=stranger)
    for stream in (False, True):
        refused = client.post(f"/apps/{app_id}/debug", json={"query": "hi", "stream": stream}, headers=stranger)
        assert refused.status_code == 429 and "balance" in refused.get_json()["message"]
    assert fake.requests == []


def test_a_published_app_on_a_paid_model_is_not_free(client, paid_provider, fake):
    stranger = register(client, "Mallory")
    app_id = client.post("/apps", json={"name": "free lunch"}, headers=stranger).get_json()["data"]["id"]
    client.post(f"/apps/{app_id}/config", json={"model_config": {"provider": "deepseek", "model": paid_provider}},
                headers=stranger)
    client.post(f"/apps/{app_id}/publish", headers=stranger)
    key = new_key(client, stranger)["key"]
    refused = client.post(f"/v1/apps/{app_id}/chat", json={"query": "hi"}, headers=bearer(key))
    assert refused.status_code == 429 and fake.requests == []


def test_seed000_chat_on_a_paid_model_is_not_free(client, paid_provider, fake):
    user = seed_user(client)
    number = client.post("/api/conversations/create", headers=user,
                         json={"title": "t", "model": f"deepseek/{paid_provider}"}).get_json()["conversation_id"]
    assert client.post(f"/api/chat/{number}", headers=user, json={"message": "hi"}).status_code == 429
    assert fake.requests == []


def test_memory_folds_are_charged_to_the_apps_account(app, client, paid_provider, fake):
    owner = register(client, "Ada")
    grant(app, owner["X-Email"], 1_000_000)
    app_id = client.post("/apps", json={"name": "memory"}, headers=owner).get_json()["data"]["id"]
    client.post(f"/apps/{app_id}/config", json={"memory_mode": "long_term_memory", "model_config": {
        "provider": "deepseek", "model": paid_provider}}, headers=owner)
    message = client.post(f"/apps/{app_id}/debug", json={"query": "I am Ada."}, headers=owner).get_json()["data"]
    after_turn = balance(app, owner["X-Email"])
    with app.app_context():
        memory_service.fold_round(uuid.UUID(message["id"]))
    after_fold = balance(app, owner["X-Email"])
    assert after_fold[0] < after_turn[0] and after_fold[1] > after_turn[1]  # the fold's tokens were paid for
    assert flush(app) == []  # written by the fold itself (the worker has no usage buffer)
