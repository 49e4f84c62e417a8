"""Per-process RAG resources: the embedding model and the Chroma-backed vector store."""

from __future__ import annotations

import threading

from flask import current_app

from llmops.providers.embeddings import EmbeddingModel, LocalEmbeddings, OpenAIEmbeddings
from llmops.rag.fulltext import IndexCache
from llmops.rag.vector_store import VectorStore, make_chroma_client

_lock = threading.Lock()


def get_embedding_model() -> EmbeddingModel:
    """The configured embedding model (loaded once per process)."""
    extensions = current_app.extensions
    if "embedding_model" not in extensions:
        with _lock:
            if "embedding_model" not in extensions:
                config = current_app.config
                if config["EMBEDDING_PROVIDER"] == "local":
                    model = LocalEmbeddings(batch_size=config["EMBEDDING_BATCH_SIZE"], threads=config["EMBEDDING_THREADS"])
                else:
                    model = OpenAIEmbeddings(config["EMBEDDING_BASE_URL"], config["EMBEDDING_API_KEY"],
                                             config["EMBEDDING_MODEL"], config["EMBEDDING_DIMENSION"],
                                             config["EMBEDDING_BATCH_SIZE"])
                extensions["embedding_model"] = model
    return extensions["embedding_model"]


def get_vector_store() -> VectorStore:
    """The vector store over this process's Chroma client."""
    extensions = current_app.extensions
    if "vector_store" not in extensions:
        with _lock:
            if "vector_store" not in extensions:
                chroma = extensions.setdefault("chroma", {})
                if "client" in chroma:
                    extensions["vector_store"] = VectorStore(chroma["client"])
                else:  # made on first use: a Chroma server that is down fails calls, not start-up
                    url, path = current_app.config["CHROMA_URL"], current_app.config["CHROMA_PATH"]
                    extensions["vector_store"] = VectorStore(factory=lambda: make_chroma_client(url, path))
    return extensions["vector_store"]


def get_fulltext_cache() -> IndexCache:
    """This process's full-text snapshots (see ``llmops.rag.fulltext``)."""
    extensions = current_app.extensions
    if "fulltext_cache" not in extensions:
        with _lock:
            extensions.setdefault("fulltext_cache", IndexCache(current_app.config["FULLTEXT_CACHE_MAX_POSTINGS"]))
    return extensions["fulltext_cache"]


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
