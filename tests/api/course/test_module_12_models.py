"""Course module 12 (language models): the list in the course's shape (and ours), one model with
its parameter schema, the provider icon."""

from __future__ import annotations

from tests.api.course.conftest import envelope, missing

PROVIDER_FIELDS = {"name", "position", "label", "icon", "description", "background", "support_model_types", "models"}
MODEL_FIELDS = {"name", "model", "label", "model_type", "features", "context_window", "context_windows",
                "max_output_tokens", "attributes", "metadata", "parameters"}
PARAMETER_FIELDS = {"name", "label", "type", "help", "required", "default", "min", "max", "precision", "options"}


def test_language_models_replay(client, logged_in):
    providers = envelope(client.get("/language-models", headers=logged_in))
    for provider in providers:
        assert not missing(provider, PROVIDER_FIELDS | {"provider", "configured"}), provider["name"]
        for model in provider["models"]:
            assert not missing(model, MODEL_FIELDS), model["name"]
            names = [p["name"] for p in model["parameters"]]
            assert names == ["temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens"]
            assert all(not missing(p, PARAMETER_FIELDS) for p in model["parameters"])
    openai = next(p for p in providers if p["name"] == "openai")
    mini = next(m for m in openai["models"] if m["name"] == "gpt-4o-mini")
    assert "image_input" in mini["features"] and mini["max_output_tokens"] == 16384
    assert mini["parameters"][-1]["max"] == 16384 and mini["parameters"][0]["type"] == "float"
    assert [p["position"] for p in providers] == sorted(p["position"] for p in providers)


def test_one_model_replay(client, logged_in):
    model = envelope(client.get("/language-models/openai/gpt-4o-mini", headers=logged_in))
    assert not missing(model, MODEL_FIELDS) and model["name"] == "gpt-4o-mini"
    slashed = envelope(client.get("/language-models/siliconflow/Qwen/Qwen2.5-7B-Instruct", headers=logged_in))
    assert slashed["model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert client.get("/language-models/openai/no-such-model", headers=logged_in).status_code == 404
    assert client.get("/language-models/nope/gpt-4o-mini", headers=logged_in).status_code == 404
    assert client.get("/language-models/openai/gpt-4o-mini").status_code == 401


def test_provider_icon(client, logged_in):
    icon_url = next(p for p in envelope(client.get("/language-models", headers=logged_in)) if p["name"] == "openai")["icon"]
    assert icon_url == "http://localhost/language-models/openai/icon"  # absolute: the front end may live elsewhere
    response = client.get(icon_url)  # no auth: fetched by <img src>
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("image/svg+xml")
    assert response.data.startswith(b"<svg")
    assert client.get("/language-models/vllm/icon").status_code == 200
    assert client.get("/language-models/nope/icon").status_code == 404
