"""Model registry access and provider clients for the rest of the services."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from flask import current_app

from llmops.errors import FailError, ValidateError
from llmops.extensions import db
from llmops.models import ProviderOverride
from llmops.providers.chat import ChatClient
from llmops.providers.errors import ModelNotFound
from llmops.providers.registry import ModelRegistry, ModelSpec

# Database overrides are re-read at most this often, so every process sees a change within it.
REGISTRY_TTL_S = 5.0
_lock = threading.Lock()


def get_registry() -> ModelRegistry:
    """The registry (YAML + environment + database overrides), cached ``REGISTRY_TTL_S`` seconds."""
    cache = current_app.extensions.setdefault("model_registry", {})
    now = time.monotonic()
    if cache.get("expires", 0) > now:
        return cache["registry"]
    with _lock:
        if cache.get("expires", 0) > now:
            return cache["registry"]
        config = current_app.config
        rows = db.session.execute(sa.select(ProviderOverride)).scalars().all()
        base_urls = {"local": config["LOCAL_LLM_BASE_URL"], **config["PROVIDER_BASE_URLS"]}
        registry = ModelRegistry.from_yaml(
            config["MODEL_REGISTRY_PATH"],
            api_keys=config["PROVIDER_API_KEYS"],
            base_urls=base_urls,
            overrides=[
                {"provider": r.provider, "base_url": r.base_url, "api_key_env": r.api_key_env, "enabled": r.enabled}
                for r in rows
            ],
        )
        cache.update(registry=registry, expires=now + REGISTRY_TTL_S)
        return registry


def get_model(provider: str, model: str) -> ModelSpec:
    """The model's spec; raises ``ValidateError`` naming ``model_config.provider`` when unknown."""
    try:
        return get_registry().model(provider, model)
    except ModelNotFound as exc:
        raise ValidateError(str(exc), data={"model_config.provider": [str(exc)]}) from exc


def get_chat_client(provider: str) -> ChatClient:
    """A pooled client for ``provider`` (rebuilt when its base URL or key changes)."""
    registry = get_registry()
    try:
        spec = registry.provider(provider)
    except ModelNotFound as exc:
        raise FailError(str(exc)) from exc
    if not registry.is_configured(provider):
        raise FailError(f"provider '{provider}' has no API key configured ({spec.api_key_env})")
    api_key = registry.api_key(provider)
    clients = current_app.extensions.setdefault("chat_clients", {})
    key = (provider, spec.base_url, api_key)
    client = clients.get(key)
    if client is None:
        config = current_app.config
        client = ChatClient(
            spec.base_url,
            api_key,
            connect_timeout=config["LLM_CONNECT_TIMEOUT_S"],
            read_timeout=config["LLM_READ_TIMEOUT_S"],
            total_timeout=config["LLM_TOTAL_TIMEOUT_S"],
            max_retries=config["LLM_MAX_RETRIES"],
        )
        clients[key] = client
    return client


def list_language_models() -> list[dict]:
    """Providers and their models for the studio (features, context window, prices per 1M)."""
    registry = get_registry()
    result = []
    for provider in registry.providers.values():
        if not provider.enabled:
            continue
        result.append({
            "provider": provider.name,
            "label": provider.label,
            "base_url": provider.base_url,
            "configured": registry.is_configured(provider.name),
            "models": [
                {
                    "model": m.name,
                    "label": m.label,
                    "kind": m.kind,
                    "context_window": m.context_window,
                    "max_output": m.max_output,
                    "features": list(m.features),
                    "price": {"input": m.input_price, "output": m.output_price, "unit": "USD per 1M tokens"},
                }
                for m in provider.models.values()
            ],
        })
    return result


def set_provider_override(provider: str, base_url: str | None, api_key_env: str | None, enabled: bool) -> None:
    """Store a database override for ``provider`` (seen by every process within the cache TTL)."""
    registry = get_registry()
    if provider not in registry.providers:
        raise ValidateError(f"unknown provider '{provider}'", data={"provider": ["unknown provider"]})
    row = db.session.get(ProviderOverride, provider) or ProviderOverride(provider=provider)
    row.base_url, row.api_key_env, row.enabled = base_url, api_key_env, enabled
    db.session.add(row)
    db.session.commit()
    current_app.extensions.pop("model_registry", None)
