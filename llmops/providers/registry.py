"""Model registry: which providers and models exist, and how to reach them.

Built from the YAML shipped in the repo (``models.yaml``) plus overrides passed in by the caller
(database rows, environment base URLs). No Flask or database access here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from llmops.providers.errors import ModelNotFound


@dataclass(frozen=True)
class ModelSpec:
    """A model: ``context_window``/``max_output`` in tokens, prices in USD per 1M tokens (which is
    credits per token, 1 credit = 1e-6 USD). ``listed`` is False for a name the registry does not
    list, served by a keyless (self-hosted) provider."""

    name: str
    provider: str
    kind: str = "language"
    label: str = ""
    context_window: int = 4096
    max_output: int = 1024
    features: tuple[str, ...] = ()
    input_price: float = 0.0
    output_price: float = 0.0
    listed: bool = True


@dataclass
class ProviderSpec:
    """A provider: an OpenAI-compatible ``base_url`` and the variable naming its key."""

    name: str
    base_url: str
    api_key_env: str | None = None
    label: str = ""
    enabled: bool = True
    models: dict[str, ModelSpec] = field(default_factory=dict)


class ModelRegistry:
    """Providers and models by name; ``api_keys`` maps variable names to key values."""

    def __init__(self, providers: dict[str, ProviderSpec], api_keys: dict[str, str],
                 aliases: dict[str, list[str]] | None = None):
        self.providers = providers
        self._api_keys = api_keys
        self.aliases = aliases or {}

    @classmethod
    def from_yaml(
        cls,
        path: str | Path,
        *,
        api_keys: dict[str, str] | None = None,
        base_urls: dict[str, str] | None = None,
        overrides: list[dict] | None = None,
        prices: list[dict] | None = None,
    ) -> ModelRegistry:
        """Load ``path``; ``base_urls`` (provider → URL) and ``overrides`` (dicts with
        ``provider`` and any of ``base_url``, ``api_key_env``, ``enabled``) win over the file;
        ``prices`` (dicts with ``provider``, ``model``, ``kind``, ``input_price``, ``output_price``,
        ``context_window``, ``max_output``: models an admin added or re-priced) too."""
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        providers: dict[str, ProviderSpec] = {}
        for name, item in (raw.get("providers") or {}).items():
            provider = ProviderSpec(
                name=name,
                base_url=item["base_url"],
                api_key_env=item.get("api_key_env"),
                label=item.get("label", name),
            )
            for model in item.get("models") or []:
                price = model.get("price") or {}
                provider.models[model["name"]] = ModelSpec(
                    name=model["name"],
                    provider=name,
                    kind=model.get("kind", "language"),
                    label=model.get("label", model["name"]),
                    context_window=int(model.get("context_window", 4096)),
                    max_output=int(model.get("max_output", 1024)),
                    features=tuple(model.get("features") or ()),
                    input_price=float(price.get("input", 0.0)),
                    output_price=float(price.get("output", 0.0)),
                )
            providers[name] = provider
        aliases = {str(name): [str(t) for t in targets] for name, targets in (raw.get("aliases") or {}).items()}
        for name, url in (base_urls or {}).items():
            if name in providers:
                providers[name].base_url = url
        for override in overrides or []:
            provider = providers.get(override["provider"])
            if provider is None:
                continue
            if override.get("base_url"):
                provider.base_url = override["base_url"]
            if override.get("api_key_env"):
                provider.api_key_env = override["api_key_env"]
            if override.get("enabled") is not None:
                provider.enabled = bool(override["enabled"])
        for item in prices or []:
            provider = providers.get(item["provider"])
            if provider is None:
                continue
            listed = provider.models.get(item["model"])
            provider.models[item["model"]] = ModelSpec(
                name=item["model"], provider=provider.name, kind=item.get("kind") or (listed.kind if listed else "language"),
                label=listed.label if listed else item["model"],
                context_window=int(item.get("context_window") or (listed.context_window if listed else 4096)),
                max_output=int(item.get("max_output") or (listed.max_output if listed else 1024)),
                features=listed.features if listed else ("stream",),
                input_price=float(item["input_price"]), output_price=float(item["output_price"]),
            )
        return cls(providers, api_keys or {}, aliases)

    def provider(self, name: str) -> ProviderSpec:
        """The enabled provider ``name``; raises ``ModelNotFound``."""
        provider = self.providers.get(name)
        if provider is None or not provider.enabled:
            raise ModelNotFound(f"unknown or disabled provider '{name}'")
        return provider

    def model(self, provider: str, model: str, allow_unlisted: bool = False) -> ModelSpec:
        """The model spec. A name the provider does not list is refused (``ModelNotFound``) when
        the provider needs a key — it would be billed to the operator at a price we do not know —
        unless ``allow_unlisted`` (the caller brings its own key); a keyless, self-hosted provider
        (llama.cpp, Ollama) serves whatever it loads, free, with default sizes."""
        spec = self.provider(provider)
        listed = spec.models.get(model)
        if listed is not None:
            return listed
        if spec.api_key_env is not None and not allow_unlisted:
            raise ModelNotFound(f"The model '{model}' is not listed for the provider '{provider}' (an admin can "
                                "add it with a price: POST /admin/models)")
        return ModelSpec(name=model, provider=provider, listed=False)

    def label(self, name: str) -> str:
        """``name`` when the registry lists it (a model, ``provider/model`` or an alias), else
        ``"unlisted"``: metric labels stay a bounded set."""
        if name in self.aliases:
            return name
        provider, _, model = name.rpartition("/")
        if provider:
            return name if provider in self.providers and model in self.providers[provider].models else "unlisted"
        return name if any(name in p.models for p in self.providers.values()) else "unlisted"

    def resolve(self, name: str, configured_only: bool = True) -> list[ModelSpec]:
        """The upstream models a client's ``model`` name stands for, in fallback order.

        ``name`` is an alias (``aliases:`` in the YAML: an ordered list of ``provider/model``),
        a ``provider/model`` pair, or a bare model name listed by one or more providers (YAML
        order). Providers that are disabled, or (``configured_only``, the default: the caller
        brings no key of its own) miss their key, are left out. Raises
        ``ModelNotFound`` when nothing usable remains."""
        if name in self.aliases:
            targets = self.aliases[name]
        elif "/" in name and name.split("/", 1)[0] in self.providers:
            targets = [name]
        else:
            targets = [f"{p.name}/{name}" for p in self.providers.values() if name in p.models]
        specs = []
        for target in targets:
            provider, _, model = target.partition("/")
            known = provider in self.providers and self.providers[provider].enabled
            if self.is_configured(provider) or (known and not configured_only):
                try:
                    specs.append(self.model(provider, model, allow_unlisted=not configured_only))
                except ModelNotFound:
                    continue
        if not specs:
            raise ModelNotFound(f"The model '{name}' does not exist or is not configured")
        return specs

    def api_key(self, provider: str) -> str | None:
        """The key value for ``provider`` (None when it needs none or it is not configured)."""
        env = self.provider(provider).api_key_env
        return self._api_keys.get(env) if env else None

    def is_configured(self, provider: str) -> bool:
        """True when the provider is enabled and has its key (if it needs one)."""
        try:
            spec = self.provider(provider)
        except ModelNotFound:
            return False
        return spec.api_key_env is None or bool(self._api_keys.get(spec.api_key_env))
