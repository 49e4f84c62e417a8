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


class VectorStore:
    """One Chroma collection per dataset (cosine space); ids are segment ids.

    ``query`` returns (segment_id, score) with score = 1 − cosine distance, clamped to 0..1.
    Only enabled segments are matched (``enabled`` is kept in each vector's metadata).
    """

    def __init__(self, client):
        self.client = client

    @staticmethod
    def collection_name(dataset_id) -> str:
        return f"dataset_{str(dataset_id).replace('-', '')}"

    def _collection(self, dataset_id):
        return self.client.get_or_create_collection(
            self.collection_name(dataset_id), embedding_function=None, metadata={"hnsw:space": "cosine"})

    def upsert(self, dataset_id, ids: list[str], vectors: list[list[float]], metadatas: list[dict]) -> None:
        """Add or replace vectors (idempotent by id)."""
        if ids:
            self._collection(dataset_id).upsert(ids=ids, embeddings=vectors, metadatas=metadatas)

    def set_enabled(self, dataset_id, ids: list[str], enabled: bool) -> None:
        if ids:
            self._collection(dataset_id).update(ids=ids, metadatas=[{"enabled": enabled} for _ in ids])

    def delete(self, dataset_id, ids: list[str] | None = None, document_id: str | None = None) -> None:
        """Delete vectors by ids or by document."""
        collection = self._collection(dataset_id)
        if ids:
            collection.delete(ids=ids)
        elif document_id:
            collection.delete(where={"document_id": document_id})

    def drop(self, dataset_id) -> None:
        try:
            self.client.delete_collection(self.collection_name(dataset_id))
        except Exception:  # noqa: BLE001 — already gone
            pass

    def query(self, dataset_ids: list, vector: list[float], k: int) -> list[tuple[str, float]]:
        """Top ``k`` enabled segments over ``dataset_ids``, best first."""
        hits: list[tuple[str, float]] = []
        for dataset_id in dataset_ids:
            collection = self._collection(dataset_id)
            if collection.count() == 0:
                continue
            result = collection.query(query_embeddings=[vector], n_results=k, where={"enabled": True},
                                      include=["distances"])
            for segment_id, distance in zip(result["ids"][0], result["distances"][0], strict=True):
                hits.append((segment_id, max(0.0, min(1.0, 1.0 - float(distance)))))
        hits.sort(key=lambda hit: hit[1], reverse=True)
        return hits[:k]
