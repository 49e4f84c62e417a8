"""Chroma client construction: ``HttpClient`` for a Chroma server, ``PersistentClient`` on disk.

Telemetry is off, and Chroma never embeds for us (its default embedding function downloads a
model at run time, OFFLINE.md): callers always pass their own vectors.
"""

from __future__ import annotations

from urllib.parse import urlparse


def make_chroma_client(url: str | None, path: str):
    """A Chroma client: ``url`` (http://host:port) → HttpClient, else PersistentClient(path)."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 8000,
            ssl=parsed.scheme == "https",
            settings=settings,
        )
    return chromadb.PersistentClient(path=path, settings=settings)
