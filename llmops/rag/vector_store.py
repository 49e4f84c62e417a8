"""Chroma client construction: ``HttpClient`` for a Chroma server, ``PersistentClient`` on disk.

Telemetry is off, and Chroma never embeds for us (its default embedding function downloads a
model at run time, docs/offline.md): callers always pass their own vectors.
"""

from __future__ import annotations

import functools
from urllib.parse import urlparse


class VectorStoreUnavailable(Exception):
    """The Chroma server cannot be reached (refused, reset, timed out); ``message`` says so."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _unreachable(exc: BaseException) -> bool:
    """True for the errors of a Chroma server that is down (not of a bad request)."""
    import httpx

    if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, ValueError) and "could not connect" in str(exc).lower()


def _guarded(method):
    """Run a store operation; a server that is down becomes ``VectorStoreUnavailable`` and the
    cached collection handles are dropped (the server may come back with new ones)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except VectorStoreUnavailable:
            raise
        except Exception as exc:
            if not _unreachable(exc):
                raise
            self._handles.clear()
            raise VectorStoreUnavailable(f"the vector store is unreachable ({exc.__class__.__name__}: "
                                         f"{str(exc)[:200]})") from exc

    return wrapper


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

    def __init__(self, client=None, factory=None):
        """``client``: a Chroma client; or ``factory``: makes one on first use (and again after
        a failed attempt), so a process starts while its Chroma server is down."""
        self._client, self._factory = client, factory
        # Collection handles by name: looking one up costs a round trip (1-4 ms) per query.
        self._handles: dict[str, object] = {}

    @property
    def client(self):
        if self._client is None:
            self._client = self._factory()
        return self._client

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

    @_guarded
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

    @_guarded
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

    @_guarded
    def delete(self, dataset_id, ids: list[str] | None = None, document_id: str | None = None) -> None:
        """Delete vectors by ids or by document, from both collections."""
        for parked in (False, True):
            collection = self._collection(dataset_id, parked)
            if ids:
                collection.delete(ids=ids)
            elif document_id:
                collection.delete(where={"document_id": document_id})

    @_guarded
    def drop(self, dataset_id) -> None:
        """Delete both collections of the dataset (absent ones are skipped)."""
        for name in (self.collection_name(dataset_id), self.collection_name(dataset_id) + "_disabled"):
            self._handles.pop(name, None)
            try:
                self.client.delete_collection(name)
            except Exception as exc:  # noqa: BLE001 — already gone
                if _unreachable(exc):
                    raise

    @_guarded
    def ping(self) -> None:
        """Raise ``VectorStoreUnavailable`` when the server does not answer."""
        self.client.heartbeat()

    @_guarded
    def list_dataset_ids(self) -> set[str]:
        """Dataset ids (32 hex digits) that have a collection on the server (orphan sweeping)."""
        found = set()
        for collection in self.client.list_collections():
            name = getattr(collection, "name", collection)
            if name.startswith("dataset_"):
                found.add(name.removeprefix("dataset_").removesuffix("_disabled"))
        return found

    @_guarded
    def collection_ids(self, dataset_id, parked: bool = False, page: int = 1000) -> list[str]:
        """Every vector id in one collection of the dataset, read page by page (orphan sweeping)."""
        collection = self._collection(dataset_id, parked)
        ids: list[str] = []
        while True:
            found = collection.get(include=[], limit=page, offset=len(ids))["ids"]
            ids.extend(found)
            if len(found) < page:
                return ids

    @_guarded
    def count(self, dataset_id, parked: bool = False) -> int:
        """Vectors in the searchable (or the parked) collection."""
        return self._collection(dataset_id, parked).count()

    @_guarded
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
