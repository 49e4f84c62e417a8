"""Model registry access and provider clients for the rest of the services."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from llmops import metrics
from llmops.errors import FailError, NotFoundError, ServiceUnavailableError, ValidateError
from llmops.extensions import db
from llmops.models import ActiveModel, ModelPrice, ProviderOverride
from llmops.models.base import unix, utcnow
from llmops.providers.chat import ChatClient
from llmops.providers.errors import ModelNotFound
from llmops.providers.registry import ModelRegistry, ModelSpec
from llmops.runtime import runtime

# cachetools caches are not thread-safe: one lock for the registry, one for the client pools.
_lock = threading.Lock()
_clients_lock = threading.Lock()


def get_registry() -> ModelRegistry:
    """The registry (YAML + environment + database overrides), cached ``runtime.REGISTRY_TTL_S``
    seconds so every process sees a database change within it."""
    cache = runtime().model_registry
    with _lock:
        registry = cache.get("registry")
        if registry is not None:
            return registry
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
            prices=[
                {"provider": p.provider, "model": p.model, "kind": p.kind, "input_price": p.input_price,
                 "output_price": p.output_price, "context_window": p.context_window, "max_output": p.max_output}
                for p in db.session.execute(sa.select(ModelPrice)).scalars()
            ],
        )
        metrics.set_model_labels(registry.label)
        cache["registry"] = registry
        return registry


def get_model(provider: str, model: str, allow_unlisted: bool = False) -> ModelSpec:
    """The model's spec; raises ``ValidateError`` naming ``model_config.provider`` when unknown
    (or unlisted under a provider that needs a key, ``ModelRegistry.model``)."""
    try:
        return get_registry().model(provider, model, allow_unlisted)
    except ModelNotFound as exc:
        raise ValidateError(str(exc), data={"model_config.provider": [str(exc)]}) from exc


def get_chat_client(provider: str, api_key: str | None = None) -> ChatClient:
    """A pooled client for ``provider`` (rebuilt when its base URL or key changes).

    ``api_key`` replaces the provider's configured key (a user's own key, seed 000); such clients
    are pooled too, the least recently used dropped beyond ``runtime.USER_KEY_CLIENTS_MAX``.
    """
    registry = get_registry()
    try:
        spec = registry.provider(provider)
    except ModelNotFound as exc:
        raise FailError(str(exc)) from exc
    if api_key is None and not registry.is_configured(provider):
        raise FailError(f"provider '{provider}' has no API key configured ({spec.api_key_env})")
    if api_key is not None:
        clients = runtime().user_key_chat_clients  # an LRU: a dropped client is not closed (a stream may use it)
    else:
        api_key = registry.api_key(provider)
        clients = runtime().chat_clients
    key = (provider, spec.base_url, api_key)
    with _clients_lock:
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
        with _clients_lock:
            client = clients.setdefault(key, client)
    return client


ICON_DIR = Path(__file__).resolve().parents[2] / "providers" / "icons"
ICON_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}


def list_language_models(base_url: str = "") -> list[dict]:
    """Providers and their language models for the studio, in both our shape (``provider``,
    ``base_url``, ``configured``; per model ``kind``, ``max_output``, ``price`` per 1M tokens) and
    the course's (``name``, ``position``, ``icon``, ``description``, ``background``,
    ``support_model_types``; per model ``model_type``, ``max_output_tokens``, ``attributes``,
    ``metadata`` and ``parameters``, the schema of each parameter the model takes). ``icon`` is
    ``base_url`` + the provider's icon route (absolute, for a front end served elsewhere)."""
    registry = get_registry()
    result = []
    for position, provider in enumerate(registry.providers.values(), start=1):
        if not provider.enabled:
            continue
        result.append({
            "provider": provider.name,
            "name": provider.name,
            "position": position,
            "label": provider.label or provider.name,
            "icon": f"{base_url.rstrip('/')}/language-models/{provider.name}/icon",
            "description": f"{provider.label or provider.name} models (OpenAI-compatible API)",
            "background": "#ffffff",
            "support_model_types": ["chat"],
            "base_url": provider.base_url,
            "configured": registry.is_configured(provider.name),
            "models": [model_to_dict(m) for m in provider.models.values()],
        })
    return result


def get_language_model(provider: str, model: str) -> dict:
    """Course 12.2: one model of ``list_language_models`` (``NotFoundError`` when not listed)."""
    spec = get_registry().providers.get(provider)
    listed = spec.models.get(model) if spec is not None and spec.enabled else None
    if listed is None or listed.kind != "language":
        raise NotFoundError(f"language model '{provider}/{model}' not found")
    return model_to_dict(listed)


def provider_icon(provider: str) -> tuple[Path, str]:
    """Course 12.3: the provider's icon file (``providers/icons/<name>.svg|png``, else the default
    icon) → (path, Content-Type); ``NotFoundError`` for an unknown provider."""
    if provider not in get_registry().providers:
        raise NotFoundError(f"provider '{provider}' not found")
    for suffix, content_type in ICON_TYPES.items():
        path = ICON_DIR / f"{provider}{suffix}"
        if path.is_file():
            return path, content_type
    return ICON_DIR / "default.svg", ICON_TYPES[".svg"]


def model_to_dict(m: ModelSpec) -> dict:
    """A language model in our shape and the course's (see ``list_language_models``)."""
    features = list(m.features)
    course_features = [f for f in ("tool_call",) if f in features] + (["image_input"] if "vision" in features else [])
    return {
        "model": m.name,
        "name": m.name,
        "label": m.label or m.name,
        "kind": m.kind,
        "model_type": "chat",
        "context_window": m.context_window,
        "context_windows": m.context_window,  # the course's response example spells it so
        "max_output": m.max_output,
        "max_output_tokens": m.max_output,
        "features": features + [f for f in course_features if f not in features],
        "price": {"input": m.input_price, "output": m.output_price, "unit": "USD per 1M tokens"},
        "attributes": {"model": m.name},
        "metadata": {"input_price": m.input_price, "output_price": m.output_price, "unit": "USD per 1M tokens"},
        "parameters": model_parameters(m),
    }


def model_parameters(m: ModelSpec) -> list[dict]:
    """The parameter schema of a model (course 12.1 ``parameters``): the OpenAI sampling
    parameters every provider of the registry takes; ``max_tokens`` bounded by the model."""
    def number(name, label, type_, help_, default, low, high, precision):
        return {"name": name, "label": label, "type": type_, "help": help_, "required": False, "default": default,
                "min": low, "max": high, "precision": precision, "options": []}

    return [
        number("temperature", "Temperature", "float", "Randomness: lower is more deterministic, higher more varied.",
               0.5, 0, 2, 2),
        number("top_p", "Top P", "float", "Nucleus sampling: only tokens within this cumulative probability.",
               0.85, 0, 1, 2),
        number("presence_penalty", "Presence penalty", "float",
               "Positive values favour tokens not yet used: new topics.", 0.2, -2, 2, 2),
        number("frequency_penalty", "Frequency penalty", "float",
               "Positive values penalise repeated tokens by how often they appeared.", 0.2, -2, 2, 2),
        number("max_tokens", "Max tokens", "int", "The most tokens the answer may have.",
               min(512, m.max_output), 1, m.max_output, 0),
    ]


def set_provider_override(provider: str, base_url: str | None, api_key_env: str | None, enabled: bool) -> None:
    """Store a database override for ``provider`` (seen by every process within the cache TTL)."""
    registry = get_registry()
    if provider not in registry.providers:
        raise ValidateError(f"unknown provider '{provider}'", data={"provider": ["unknown provider"]})
    row = db.session.get(ProviderOverride, provider) or ProviderOverride(provider=provider)
    row.base_url, row.api_key_env, row.enabled = base_url, api_key_env, enabled
    db.session.add(row)
    db.session.commit()
    runtime().model_registry.clear()


def list_active_models() -> list[dict]:
    """The admin-chosen default model per kind (a kind never set is absent)."""
    rows = db.session.scalars(sa.select(ActiveModel).order_by(ActiveModel.kind)).all()
    return [{"kind": r.kind, "provider": r.provider, "model": r.model, "updated_at": unix(r.updated_at)} for r in rows]


def get_active_model(kind: str) -> ActiveModel | None:
    """The active model of ``kind`` (read from the database, so every process agrees at once)."""
    return db.session.get(ActiveModel, kind)


def set_active_model(kind: str, provider: str, model: str) -> dict:
    """Make ``provider``/``model`` the active ``kind`` model; the provider must be configured and,
    for a named provider's list, the model must be of that kind."""
    registry = get_registry()
    if not registry.is_configured(provider):
        raise ValidateError(f"provider '{provider}' is unknown, disabled or has no API key",
                            data={"provider": ["unknown, disabled or without an API key"]})
    listed = registry.providers[provider].models.get(model)
    if listed is not None and listed.kind != kind and not (kind == "vision" and "vision" in listed.features):
        raise ValidateError(f"'{model}' is a {listed.kind} model, not {kind}", data={"model": [f"not a {kind} model"]})
    row = db.session.get(ActiveModel, kind) or ActiveModel(kind=kind)
    row.provider, row.model, row.updated_at = provider, model, utcnow()
    db.session.add(row)
    db.session.commit()
    return {"kind": kind, "provider": provider, "model": model, "updated_at": unix(row.updated_at)}


def active_model_name(kind: str) -> str:
    """``provider/model`` of the admin's active ``kind`` model — for ``language`` the configured
    default when none is set. ``ServiceUnavailableError`` (503) when there is none or its provider
    is not usable (disabled, no key)."""
    active = get_active_model(kind)
    if active is not None:
        provider, model = active.provider, active.model
    elif kind == "language":
        provider, model = current_app.config["DEFAULT_LLM_PROVIDER"], current_app.config["DEFAULT_LLM_MODEL"]
    else:
        raise ServiceUnavailableError(f"no {kind} model is configured (an admin sets one: POST /admin/models/active)")
    if not get_registry().is_configured(provider):
        raise ServiceUnavailableError(f"the active {kind} model's provider '{provider}' is not configured")
    return f"{provider}/{model}"


def list_model_prices() -> list[dict]:
    """Models admins added or re-priced (``POST /admin/models``), prices in USD per 1M tokens."""
    rows = db.session.scalars(sa.select(ModelPrice).order_by(ModelPrice.provider, ModelPrice.model)).all()
    return [_price_to_dict(r) for r in rows]


def set_model_price(provider: str, model: str, input_price: float, output_price: float, kind: str = "language",
                    context_window: int | None = None, max_output: int | None = None) -> dict:
    """Add ``model`` under ``provider`` (or re-price a listed one): prices in USD per 1M tokens
    (= credits per token); every process sees it within ``runtime.REGISTRY_TTL_S``."""
    if provider not in get_registry().providers:
        raise ValidateError(f"unknown provider '{provider}'", data={"provider": ["unknown provider"]})
    row = db.session.get(ModelPrice, (provider, model)) or ModelPrice(provider=provider, model=model)
    row.kind, row.input_price, row.output_price = kind, input_price, output_price
    row.context_window, row.max_output, row.updated_at = context_window, max_output, utcnow()
    db.session.add(row)
    db.session.commit()
    runtime().model_registry.clear()
    return _price_to_dict(row)


def _price_to_dict(row: ModelPrice) -> dict:
    return {"provider": row.provider, "model": row.model, "kind": row.kind, "input_price": row.input_price,
            "output_price": row.output_price, "unit": "USD per 1M tokens", "context_window": row.context_window,
            "max_output": row.max_output, "updated_at": unix(row.updated_at)}
