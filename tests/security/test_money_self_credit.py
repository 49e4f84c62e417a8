"""A user can never raise their own balance: not through the admin routes, their profile, their
keys' caps, or a redeem code used twice."""

import uuid

from llmops.services.gateway import redeem_service
from tests.api.test_api_keys import new_key
from tests.conftest import register
from tests.money import balance


def test_a_user_cannot_raise_their_own_balance(app, client, paid_provider, fake):
    mallory = register(client, "Mallory")
    me = client.get("/account", headers=mallory).get_json()["data"]
    assert me["balance"] == 0
    assert client.post(f"/admin/accounts/{me['id']}", json={"amount": 10**12, "reason": "mine"},
                       headers=mallory).status_code == 403
    client.post("/account/name", json={"name": "Mallory", "balance": 10**12, "used": -10**12}, headers=mallory)
    key = new_key(client, mallory, quota=10**15)["key"]  # a huge cap on a key is not money
    client.post("/api-keys", json={"quota": 10**15}, headers=mallory)
    spent = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                        json={"model": paid_provider, "messages": [{"role": "user", "content": "x"}]})
    assert spent.status_code == 429 and fake.requests == []
    with app.app_context():
        code = redeem_service.generate(1, 100)[0]
    ip = {"environ_base": {"REMOTE_ADDR": f"10.66.{uuid.uuid4().int % 250}.1"}}
    assert client.post("/account/redeem", json={"code": code}, headers=mallory, **ip).status_code == 200
    assert client.post("/account/redeem", json={"code": code}, headers=mallory, **ip).status_code == 400
    assert client.post("/api/redeem", json={"code": code}, headers={"Authorization": f"Bearer {key}"},
                       **ip).status_code == 400
    assert balance(app, mallory["X-Email"]) == (100, 0)  # the code, once; nothing else
