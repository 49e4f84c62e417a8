"""The embedding models a dataset can use (``GET /embedding-models``); the per-process embedding
model, vector store and full-text cache themselves are members of ``llmops.runtime.Runtime``."""

from __future__ import annotations

from flask import current_app


def list_embedding_models() -> list[dict]:
    """Configured embedding models; the default is marked (``GET /embedding-models``)."""
    config = current_app.config
    local = {"provider": "local", "model": "all-MiniLM-L6-v2", "dimension": 384, "max_tokens": 256,
             "is_default": config["EMBEDDING_PROVIDER"] == "local"}
    models = [local]
    if config["EMBEDDING_PROVIDER"] != "local":
        models.append({"provider": config["EMBEDDING_PROVIDER"], "model": config["EMBEDDING_MODEL"],
                       "dimension": config["EMBEDDING_DIMENSION"], "max_tokens": 8191, "is_default": True})
    return models
