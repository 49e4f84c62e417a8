"""Account money: balances in credits, the ledger, admin grants and debits, studio redeem, and
metering of the studio's chat surfaces (debug chat, memory folds, the published-app API, seed 000)
on a priced model served by the fake upstream."""

import concurrent.futures
import json
import threading
import uuid

import pytest

from llmops.extensions import db
from llmops.models import Account, AccountLedger, UsageLog
from llmops.services.gateway import redeem_service
from llmops.services.studio import memory_service
from tests.api.compat.test_seed000 import events, seed_user
from tests.api.test_api_keys import new_key
from tests.api.test_gateway import flush
from tests.conftest import register
from tests.money import FAKE_CALL_COST, balance, grant


def account_id(app, email: str) -> str:
    with app.app_context():
        return str(db.session.query(Account).filter_by(email=email.lower()).one().id)


def ledger(client, auth) -> list[tuple[str, int, int]]:
    rows = client.get("/account/ledger?page_size=50", headers=auth).get_json()["data"]["list"]
    return [(r["kind"], r["delta"], r["balance_after"]) for r in rows]


def usage(app, email: str) -> list[UsageLog]:
    flush(app)
    with app.app_context():
        rows = db.session.query(UsageLog).filter_by(account_id=uuid.UUID(account_id(app, email))) \
            .order_by(UsageLog.created_at).all()
        db.session.expunge_all()
        return rows


@pytest.fixture
def priced_app(client, auth, new_app, priced):
    client.post(f"/apps/{new_app}/config", json={"model_config": {"provider": "local", "model": priced,
                                                                  "parameters": {"max_tokens": 50}}}, headers=auth)
    return new_app


def test_admin_grants_and_debits_with_reasons_in_the_ledger(app, client, auth, admin_auth):
    target = account_id(app, auth["X-Email"])
    profile = client.get("/account", headers=auth).get_json()["data"]
    assert (profile["balance"], profile["used"], profile["unit"]) == (0, 0, "credit (1e-6 USD)")
    granted = client.post(f"/admin/accounts/{target}", json={"amount": 5_000_000, "reason": "paid invoice 17"},
                          headers=admin_auth)
    assert granted.status_code == 200 and granted.get_json()["data"]["balance"] == 5_000_000
    debited = client.post(f"/admin/accounts/{target}", json={"amount": -2_000_000, "reason": "refund"},
                          headers=admin_auth)
    assert debited.get_json()["data"]["balance"] == 3_000_000
    too_much = client.post(f"/admin/accounts/{target}", json={"amount": -3_000_001, "reason": "x"}, headers=admin_auth)
    assert too_much.status_code == 400 and "amount" in too_much.get_json()["data"]  # never below 0
    bad = client.post(f"/admin/accounts/{target}", json={"amount": 0}, headers=admin_auth)
    assert bad.status_code == 422 and {"amount", "reason"} <= set(bad.get_json()["data"])
    assert client.post(f"/admin/accounts/{uuid.uuid4()}", json={"amount": 1, "reason": "x"},
                       headers=admin_auth).status_code == 404
    assert ledger(client, auth) == [("debit", -2_000_000, 3_000_000), ("grant", 5_000_000, 5_000_000)]
    rows = client.get("/account/ledger", headers=auth).get_json()["data"]["list"]
    assert rows[1]["reason"] == "paid invoice 17" and rows[1]["actor_id"] == account_id(app, admin_auth["X-Email"])
    assert client.get("/account", headers=auth).get_json()["data"]["balance"] == 3_000_000


def test_admin_account_list_searches_with_escaped_wildcards(app, client, admin_auth):
    tag = uuid.uuid4().hex[:8]
    for name in (f"100%_{tag}", f"100x_{tag}", f"other {tag}"):
        client.post("/auth/register", json={"name": name, "email": f"{uuid.uuid4().hex[:8]}@example.com",
                                            "password": "secret123"})
    found = client.get(f"/admin/accounts?search_word=100%25_{tag}", headers=admin_auth).get_json()["data"]
    assert [a["name"] for a in found["list"]] == [f"100%_{tag}"]  # % and _ match themselves
    assert set(found["list"][0]) >= {"id", "email", "name", "balance", "used", "is_admin", "status"}
    assert found["list"][0]["status"] == "active"
    paged = client.get(f"/admin/accounts?search_word={tag}&page_size=2", headers=admin_auth).get_json()["data"]
    assert paged["paginator"]["total_record"] == 3 and len(paged["list"]) == 2
    assert client.get("/admin/accounts?page_size=0", headers=admin_auth).status_code == 422


def test_only_admins_see_accounts_or_move_money(app, client, auth):
    target = account_id(app, auth["X-Email"])
    assert client.get("/admin/accounts", headers=auth).status_code == 403
    assert client.post(f"/admin/accounts/{target}", json={"amount": 10**9, "reason": "me"}, headers=auth).status_code == 403
    assert client.get("/account/ledger").status_code == 401


def test_studio_redeem_tops_up_the_account_once(app, client, auth):
    with app.app_context():
        code = redeem_service.generate(1, 750_000)[0]
    assert client.post("/account/redeem", json={}, headers=auth).status_code == 422
    redeemed = client.post("/account/redeem", json={"code": code}, headers=auth)
    assert redeemed.status_code == 200 and redeemed.get_json()["data"] == {"credited": 750_000, "balance": 750_000}
    again = client.post("/account/redeem", json={"code": code}, headers=auth)
    assert again.status_code == 400 and again.get_json()["message"] == redeem_service.GENERIC_ERROR
    assert ledger(client, auth) == [("redeem", 750_000, 750_000)]


def test_redeem_codes_race_across_accounts_and_routes(app, client):
    """One code, 8 accounts at once, half through the studio route, half through seed 004's."""
    with app.app_context():
        code = redeem_service.generate(1, 1000)[0]
    accounts = [register(client) for _ in range(8)]
    keys = [new_key(client, a)["key"] for a in accounts[4:]]

    def attempt(i):
        c = app.test_client()
        ip = {"environ_base": {"REMOTE_ADDR": f"10.77.{i}.{uuid.uuid4().int % 250}"}}
        if i < 4:
            return c.post("/account/redeem", json={"code": code}, headers=accounts[i], **ip).status_code
        return c.post("/api/redeem", json={"code": code}, headers={"Authorization": f"Bearer {keys[i - 4]}"},
                      **ip).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, range(8)))
    assert sorted(statuses) == [200] + [400] * 7
    assert sorted(balance(app, a["X-Email"])[0] for a in accounts) == [0] * 7 + [1000]


def test_new_accounts_start_with_new_account_credit(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "NEW_ACCOUNT_CREDIT", 1234)
    auth = register(client)
    assert client.get("/account", headers=auth).get_json()["data"]["balance"] == 1234
    assert ledger(client, auth) == [("signup", 1234, 1234)]
    seed = seed_user(client)
    assert client.get("/account", headers=seed).get_json()["data"]["balance"] == 1234


def test_debug_chat_on_a_priced_model_debits_the_account(app, client, auth, priced_app, fake):
    refused = client.post(f"/apps/{priced_app}/debug", json={"query": "hi"}, headers=auth)
    assert refused.status_code == 429 and refused.get_json()["code"] == "fail"
    assert "balance" in refused.get_json()["message"] and fake.requests == []  # refused before the model
    stream_refused = client.post(f"/apps/{priced_app}/debug", json={"query": "hi", "stream": True}, headers=auth)
    assert stream_refused.status_code == 429  # before the stream starts
    grant(app, auth["X-Email"], 10_000)
    assert client.post(f"/apps/{priced_app}/debug", json={"query": "hi"}, headers=auth).status_code == 200
    streamed = client.post(f"/apps/{priced_app}/debug", json={"query": "hi", "stream": True}, headers=auth)
    assert "event: agent_end" in streamed.get_data(as_text=True)
    assert balance(app, auth["X-Email"]) == (10_000 - 2 * FAKE_CALL_COST, 2 * FAKE_CALL_COST)
    rows = usage(app, auth["X-Email"])
    assert [(r.surface, r.cost_credits, r.api_key_id) for r in rows] == [("debug", FAKE_CALL_COST, None)] * 2
    assert ledger(client, auth)[:2] == [("usage", -FAKE_CALL_COST, 10_000 - 2 * FAKE_CALL_COST),
                                        ("usage", -FAKE_CALL_COST, 10_000 - FAKE_CALL_COST)]


def test_the_local_model_is_free_with_no_balance(app, client, auth, new_app, fake):
    assert client.post(f"/apps/{new_app}/debug", json={"query": "hi"}, headers=auth).status_code == 200
    assert balance(app, auth["X-Email"]) == (0, 0)
    assert [(r.surface, r.cost_credits) for r in usage(app, auth["X-Email"])] == [("debug", 0)]
    assert ledger(client, auth) == []


def test_memory_folds_are_charged_and_skip_the_model_without_balance(app, client, auth, priced_app, fake):
    client.post(f"/apps/{priced_app}/config", json={"memory_mode": "long_term_memory"}, headers=auth)
    grant(app, auth["X-Email"], 1000)  # a fold holds its prompt + 256 x 2 credits
    first = client.post(f"/apps/{priced_app}/debug", json={"query": "I am Ada."}, headers=auth).get_json()["data"]
    with app.app_context():
        assert memory_service.fold_round(uuid.UUID(first["id"])) == "Hello, world!"
    left, _ = balance(app, auth["X-Email"])
    assert left == 1000 - 2 * FAKE_CALL_COST  # the fold was one more call of 19
    kinds = [(r.surface, r.endpoint, r.cost_credits) for r in usage(app, auth["X-Email"])]
    assert kinds == [("debug", "apps.debug", FAKE_CALL_COST), ("memory", "memory.fold", FAKE_CALL_COST)]
    assert [k for k, _, _ in ledger(client, auth)] == ["usage", "usage", "grant"]
    client.application.test_cli_runner().invoke(args=["llmops", "debit", auth["X-Email"], str(left - 200),
                                                      "--reason", "leave 200"])
    # 200 - 19 for the turn is less than the fold holds (prompt + 256 x 2): the lines are kept, no model call
    second = client.post(f"/apps/{priced_app}/debug", json={"query": "I like tea."}, headers=auth).get_json()["data"]
    calls = len(fake.requests)
    with app.app_context():
        summary = memory_service.fold_round(uuid.UUID(second["id"]))
    assert "I like tea." in summary and len(fake.requests) == calls


def test_the_published_app_api_is_charged_to_the_key_and_account(app, client, auth, priced_app, fake):
    client.post(f"/apps/{priced_app}/publish", headers=auth)
    key = new_key(client, auth, quota=200)
    headers = {"Authorization": f"Bearer {key['key']}"}
    refused = client.post(f"/v1/apps/{priced_app}/chat", json={"query": "Hi"}, headers=headers)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "insufficient_quota"
    grant(app, auth["X-Email"], 1000)
    assert client.post(f"/v1/apps/{priced_app}/chat", json={"query": "Hi"}, headers=headers).status_code == 200
    streamed = client.post(f"/v1/apps/{priced_app}/chat", json={"query": "Hi", "stream": True}, headers=headers)
    assert "event: agent_end" in streamed.get_data(as_text=True)
    rows = usage(app, auth["X-Email"])
    assert [(r.surface, r.endpoint, r.cost_credits, str(r.api_key_id)) for r in rows] == \
        [("app_api", "apps.chat", FAKE_CALL_COST, key["id"])] * 2
    listed = client.get("/api-keys", headers=auth).get_json()["data"]["list"][0]
    assert listed["used_quota"] == 2 * FAKE_CALL_COST and balance(app, auth["X-Email"])[0] == 1000 - 2 * FAKE_CALL_COST


def test_seed000_chat_is_charged_unless_the_user_brings_a_key(app, client, priced, fake):
    user = seed_user(client)
    email = client.get("/account", headers=user).get_json()["data"]["email"]
    number = client.post("/api/conversations/create", headers=user,
                         json={"title": "t", "model": f"local/{priced}"}).get_json()["conversation_id"]
    refused = client.post(f"/api/chat/{number}", headers=user, json={"message": "hi"})
    assert refused.status_code == 429 and "balance" in json.dumps(refused.get_json())
    grant(app, email, 5000)  # a turn holds its prompt + 512 x 2
    frames = events(client.post(f"/api/chat/{number}", headers=user, json={"message": "hi"}))
    assert [f["event"] for f in frames][-2:] == ["done", "full_response"]
    own_key = client.post("/api/conversations/create", headers=user,
                          json={"title": "mine", "model": f"local/{priced}", "api_key": "sk-users-own-key-123"})
    frames = events(client.post(f"/api/chat/{own_key.get_json()['conversation_id']}", headers=user,
                                json={"message": "hi"}))
    assert frames[-1]["event"] == "full_response"
    rows = usage(app, email)
    assert [(r.surface, r.cost_credits) for r in rows] == [("seed000", FAKE_CALL_COST), ("seed000", 0)]
    assert balance(app, email) == (5000 - FAKE_CALL_COST, FAKE_CALL_COST)


def test_a_key_may_hold_only_max_streams_open(app, client, auth, fake):
    from llmops.services.gateway import api_key_service, gateway_service

    key = new_key(client, auth, max_streams=1)
    body = {"model": "smollm2-135m", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    with app.test_request_context():
        principal = api_key_service.authenticate(f"Bearer {key['key']}")
        first = gateway_service.chat_completions(principal, dict(body))
        refused = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key['key']}"})
        assert refused.status_code == 429 and "open streams" in refused.get_json()["error"]["message"]
        list(first)  # the first stream ends: its slot is free again
    again = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key['key']}"})
    assert again.status_code == 200 and "[DONE]" in again.get_data(as_text=True)
    assert client.post("/api-keys", json={"max_streams": 0}, headers=auth).status_code == 422


def test_priced_embeddings_are_metered(app, client, auth, monkeypatch):
    monkeypatch.setitem(app.config, "EMBEDDING_PRICE", 3.0)
    key = new_key(client, auth)
    headers = {"Authorization": f"Bearer {key['key']}"}
    body = {"model": "all-MiniLM-L6-v2", "input": "The Moon orbits the Earth."}
    assert client.post("/v1/embeddings", json=body, headers=headers).status_code == 429
    grant(app, auth["X-Email"], 1000)
    tokens = client.post("/v1/embeddings", json=body, headers=headers).get_json()["usage"]["prompt_tokens"]
    rows = usage(app, auth["X-Email"])
    assert [(r.surface, r.cost_credits) for r in rows] == [("embedding", 3 * tokens)]


def test_admins_add_a_model_with_a_price(app, client, auth, admin_auth, fake):
    body = {"provider": "local", "model": f"m-{uuid.uuid4().hex[:6]}", "input_price": 0.5, "output_price": 1.5}
    assert client.post("/admin/models", json=body, headers=auth).status_code == 403
    saved = client.post("/admin/models", json=body, headers=admin_auth)
    assert saved.status_code == 200 and saved.get_json()["data"]["unit"] == "USD per 1M tokens"
    listed = client.get("/api/pricing").get_json()["data"]["data"]
    assert any(m["model"] == body["model"] and m["output_price"] == 1.5 for m in listed)
    bad = client.post("/admin/models", json={**body, "provider": "nope", "input_price": -1}, headers=admin_auth)
    assert bad.status_code == 422 and "input_price" in bad.get_json()["data"]


def test_cli_grant_and_debit(app, client, auth):
    runner = app.test_cli_runner()
    granted = runner.invoke(args=["llmops", "grant", auth["X-Email"], "5000", "--reason", "welcome"])
    assert granted.exit_code == 0 and "balance 5000" in granted.output
    debited = runner.invoke(args=["llmops", "debit", auth["X-Email"], "2000", "--reason", "correction"])
    assert debited.exit_code == 0 and "balance 3000" in debited.output
    over = runner.invoke(args=["llmops", "debit", auth["X-Email"], "9000", "--reason", "x"])
    assert over.exit_code == 1 and "smaller than the debit" in over.output
    assert runner.invoke(args=["llmops", "grant", auth["X-Email"], "10"]).exit_code == 2  # --reason is required
    assert [(k, r) for k, r in ((row.kind, row.reason) for row in _ledger_rows(app, auth))] == \
        [("debit", "correction"), ("grant", "welcome")]


def _ledger_rows(app, auth) -> list[AccountLedger]:
    with app.app_context():
        rows = db.session.query(AccountLedger).filter_by(account_id=uuid.UUID(account_id(app, auth["X-Email"]))) \
            .order_by(AccountLedger.created_at.desc()).all()
        db.session.expunge_all()
        return rows


def test_concurrent_gateway_calls_never_overdraw(app, client, auth, priced, fake):
    """12 calls from two keys of one account whose balance covers exactly 4 reservations."""
    body = {"model": priced, "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}
    reservation = 7 * 1 + 4 * 2  # estimated prompt 7, at most 4 completion tokens
    fake.behaviour.first_chunk_delay_s, fake.behaviour.prompt_tokens = 0.3, 7  # costs exactly what it holds
    grant(app, auth["X-Email"], 4 * reservation)
    keys = [new_key(client, auth)["key"], new_key(client, auth)["key"]]
    barrier = threading.Barrier(12)

    def call(i):
        barrier.wait()
        return app.test_client().post("/v1/chat/completions", json=body,
                                      headers={"Authorization": f"Bearer {keys[i % 2]}"}).status_code

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(call, range(12)))
    assert sorted(statuses) == [200] * 4 + [429] * 8
    rows = usage(app, auth["X-Email"])
    left, used = balance(app, auth["X-Email"])
    assert (left, used) == (0, 4 * reservation) and sum(r.cost_credits for r in rows) == used


def test_priced_embeddings_of_indexing_and_retrieval_are_metered(app, client, auth, monkeypatch):
    from tests.api.test_datasets import index_files, new_dataset

    dataset_id = new_dataset(client, auth)
    index_files(app, client, auth, dataset_id, {"moon.txt": b"The Moon orbits the Earth every 27 days."})  # free
    monkeypatch.setitem(app.config, "EMBEDDING_PRICE", 2.0)
    hit = {"query": "What orbits the Earth?", "retrieval_strategy": "semantic", "k": 1, "score": 0}
    refused = client.post(f"/datasets/{dataset_id}/hit", json=hit, headers=auth)
    assert refused.status_code == 429 and "balance" in refused.get_json()["message"]
    grant(app, auth["X-Email"], 1000)
    assert client.post(f"/datasets/{dataset_id}/hit", json=hit, headers=auth).get_json()["data"]
    index_files(app, client, auth, dataset_id, {"sun.txt": b"The Sun is a star at the centre of the solar system."})
    rows = usage(app, auth["X-Email"])
    assert [(r.surface, r.endpoint) for r in rows] == [("embedding", "retrieval.query"), ("embedding", "documents.index")]
    assert all(r.cost_credits > 0 for r in rows) and balance(app, auth["X-Email"])[1] == sum(r.cost_credits for r in rows)


def test_ai_helpers_and_conversation_titles_are_metered(app, client, auth, priced, fake):
    from llmops.errors import QuotaExceededError
    from llmops.services.core import model_service
    from llmops.services.studio import chat_service, conversation_service

    owner = uuid.UUID(account_id(app, auth["X-Email"]))
    messages = [{"role": "user", "content": "Suggest something."}]
    with app.app_context():
        model_service.set_active_model("language", "local", priced)
        try:
            with pytest.raises(QuotaExceededError):
                chat_service.helper_complete(owner, "suggested_questions", messages)
            assert conversation_service.title_from_model("local", priced, "Hi", account_id=owner) == ""
            assert fake.requests == []  # refused before the model
            grant(app, auth["X-Email"], 10_000)
            assert chat_service.helper_complete(owner, "suggested_questions", messages) == "Hello, world!"
            assert "".join(chat_service.helper_stream(owner, "optimize_prompt", messages)) == "Hello, world!"
            assert conversation_service.title_from_model("local", priced, "Hi", account_id=owner)
        finally:
            model_service.set_active_model("language", "local", "smollm2-135m")
    rows = usage(app, auth["X-Email"])
    assert sorted((r.surface, r.endpoint) for r in rows) == [
        ("ai", "ai.optimize_prompt"), ("ai", "ai.suggested_questions"), ("ai", "conversation.name")]
    assert all(r.cost_credits == FAKE_CALL_COST for r in rows)
