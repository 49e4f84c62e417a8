"""The embedding models a dataset can use (``GET /embedding-models``); the per-process embedding
model, vector store and full-text cache themselves are members of ``llmops.runtime.Runtime``."""

from __future__ import annotations

from flask import current_app

from llmops.providers.embeddings import EmbeddingModel
from llmops.runtime import runtime


def get_embedding_model() -> EmbeddingModel:
    """``runtime().embedding_model``, for the gateway service until it reads the runtime itself."""
    return runtime().embedding_model


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
