"""Attacks through model names and app-bound keys: an unlisted model name under a paid provider
(billed to the operator at an unknown price, and a new Prometheus label per name), and a key bound
to one app used for anything else."""

import uuid

from tests.api.test_api_keys import new_key
from tests.api.test_metrics import scrape


def test_an_unlisted_model_of_a_paid_provider_is_refused(client, auth, paid_provider, fake):
    key = new_key(client, auth)["key"]
    refused = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json={"model": "deepseek/deepseek-free-lunch", "messages": [{"role": "user", "content": "x"}]})
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "model_not_found"
    assert fake.requests == []


def test_metric_labels_use_only_registry_names(client, auth, fake):
    key = new_key(client, auth)["key"]
    invented = f"local/invented-{uuid.uuid4().hex}"  # a keyless self-hosted provider serves any name
    response = client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                           json={"model": invented, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 200
    samples = scrape(client)
    labels = {s.labels.get("model") for family in samples.values() for s in family}
    assert not any(label and "invented-" in label for label in labels) and "unlisted" in labels


def test_a_key_bound_to_an_app_calls_only_that_app(client, auth, new_app, fake):
    client.post(f"/apps/{new_app}/publish", headers=auth)
    bound = {"Authorization": f"Bearer {new_key(client, auth, app_id=new_app)['key']}"}
    chat = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "x"}]}
    assert client.post("/v1/chat/completions", json=chat, headers=bound).status_code == 403
    assert client.post("/api/v1/chat/completions", json=chat, headers=bound).status_code == 403
    assert client.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2", "input": "x"},
                       headers=bound).status_code == 403
    assert fake.requests == []
    assert client.post(f"/v1/apps/{new_app}/chat", json={"query": "hi"}, headers=bound).status_code == 200
