"""Chroma client construction: ``HttpClient`` for a Chroma server, ``PersistentClient`` on disk.

Telemetry is off, and Chroma never embeds for us (its default embedding function downloads a
model at run time, docs/offline.md): callers always pass their own vectors.
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
    """Two Chroma collections per dataset (cosine space); ids are segment ids.

    The searchable collection holds only enabled segments' vectors; a disabled segment's vector
    is moved to a parked sibling collection and moved back when it is enabled again (no
    re-embedding). Queries therefore need no metadata filter: Chroma's ``where`` pre-filter
    costs ~24 ms at 10k vectors against ~1.4 ms unfiltered, and grows with the collection.
    ``query`` returns (segment_id, score) with score = 1 − cosine distance, clamped to 0..1.
    """

    def __init__(self, client):
        self.client = client
        # Collection handles by name: looking one up costs a round trip (1-4 ms) per query.
        self._handles: dict[str, object] = {}

    @staticmethod
    def collection_name(dataset_id) -> str:
        return f"dataset_{str(dataset_id).replace('-', '')}"

    def _collection(self, dataset_id, parked: bool = False, fresh: bool = False):
        name = self.collection_name(dataset_id) + ("_disabled" if parked else "")
        handle = None if fresh else self._handles.get(name)
        if handle is None:
            handle = self.client.get_or_create_collection(name, embedding_function=None,
                                                          metadata={"hnsw:space": "cosine"})
            self._handles[name] = handle
        return handle

    def upsert(self, dataset_id, ids: list[str], vectors: list[list[float]], metadatas: list[dict]) -> None:
        """Add or replace vectors (idempotent by id); ``metadatas[i]["enabled"]`` picks the collection."""
        for parked in (False, True):
            picked = [i for i, meta in enumerate(metadatas) if bool(meta.get("enabled", True)) != parked]
            if not picked:
                continue
            self._collection(dataset_id, parked).upsert(
                ids=[ids[i] for i in picked], embeddings=[vectors[i] for i in picked],
                metadatas=[metadatas[i] for i in picked])
            self._collection(dataset_id, not parked).delete(ids=[ids[i] for i in picked])

    def set_enabled(self, dataset_id, ids: list[str], enabled: bool, batch_size: int = 1000) -> None:
        """Move vectors into (``enabled``) or out of the searchable collection. Safe to repeat:
        a crash between copy and delete leaves a copy in both, which the next call clears."""
        source, target = self._collection(dataset_id, parked=enabled), self._collection(dataset_id, parked=not enabled)
        for start in range(0, len(ids), batch_size):
            chunk = ids[start:start + batch_size]
            found = source.get(ids=chunk, include=["embeddings", "metadatas"])
            if found["ids"]:
                metadatas = [{**(meta or {}), "enabled": enabled} for meta in found["metadatas"]]
                target.upsert(ids=found["ids"], embeddings=found["embeddings"], metadatas=metadatas)
                source.delete(ids=found["ids"])

    def delete(self, dataset_id, ids: list[str] | None = None, document_id: str | None = None) -> None:
        """Delete vectors by ids or by document, from both collections."""
        for parked in (False, True):
            collection = self._collection(dataset_id, parked)
            if ids:
                collection.delete(ids=ids)
            elif document_id:
                collection.delete(where={"document_id": document_id})

    def drop(self, dataset_id) -> None:
        for name in (self.collection_name(dataset_id), self.collection_name(dataset_id) + "_disabled"):
            self._handles.pop(name, None)
            try:
                self.client.delete_collection(name)
            except Exception:  # noqa: BLE001 — already gone
                pass

    def count(self, dataset_id, parked: bool = False) -> int:
        """Vectors in the searchable (or the parked) collection."""
        return self._collection(dataset_id, parked).count()

    def query(self, dataset_ids: list, vector: list[float], k: int) -> list[tuple[str, float]]:
        """Top ``k`` enabled segments over ``dataset_ids``, best first."""
        hits: list[tuple[str, float]] = []
        for dataset_id in dataset_ids:
            try:
                result = self._collection(dataset_id).query(query_embeddings=[vector], n_results=k,
                                                            include=["distances"])
            except Exception:  # noqa: BLE001 — a cached handle of a collection dropped elsewhere
                result = self._collection(dataset_id, fresh=True).query(query_embeddings=[vector], n_results=k,
                                                                        include=["distances"])
            for segment_id, distance in zip(result["ids"][0], result["distances"][0], strict=True):
                hits.append((segment_id, max(0.0, min(1.0, 1.0 - float(distance)))))
        hits.sort(key=lambda hit: hit[1], reverse=True)
        return hits[:k]
