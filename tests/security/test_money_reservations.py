"""Attacks on the reservation: asking for more output than was reserved (a huge ``max_tokens``,
or none at all, or ``n`` answers at once) so the upstream bills more than the caller could pay."""

from tests.api.test_api_keys import new_key
from tests.money import balance, grant


def test_max_tokens_is_capped_at_the_models_max_output(app, client, auth, priced, fake):
    grant(app, auth["X-Email"], 10_000_000)
    key = new_key(client, auth)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    messages = [{"role": "user", "content": "Hi"}]
    assert client.post("/v1/chat/completions", json={"model": priced, "messages": messages, "max_tokens": 10**6},
                       headers=headers).status_code == 200
    assert fake.requests[-1]["max_tokens"] == 1000  # the model's max_output
    assert client.post("/v1/chat/completions", json={"model": priced, "messages": messages},
                       headers=headers).status_code == 200
    assert fake.requests[-1]["max_tokens"] == 1000  # none given: bounded all the same


def test_n_answers_are_counted_in_the_reservation(app, client, auth, priced, fake):
    grant(app, auth["X-Email"], 20)  # one answer of 4 tokens holds 7 + 4 x 2 = 15; three hold 31
    key = new_key(client, auth)["key"]
    body = {"model": priced, "max_tokens": 4, "n": 3, "messages": [{"role": "user", "content": "Hi"}]}
    refused = client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 429 and fake.requests == []
    assert balance(app, auth["X-Email"]) == (20, 0)


def test_n_and_max_tokens_must_be_counts_on_every_route(client, auth, fake):
    key = new_key(client, auth)["key"]
    headers = {"Authorization": f"Bearer {key}"}
    messages = [{"role": "user", "content": "Hi"}]
    for path, extra in (("/v1/chat/completions", {"n": "lots"}), ("/v1/chat/completions", {"n": 10**6}),
                        ("/api/v1/chat/completions", {"max_tokens": "x"}), ("/chat/completions", {"n": -1})):
        response = client.post(path, json={"model": "smollm2-135m", "messages": messages, "stream": False, **extra},
                               headers=headers)
        assert response.status_code == 400, (path, extra, response.get_json())
        assert next(iter(extra)) in str(response.get_json())
    assert fake.requests == []
