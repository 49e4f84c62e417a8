"""The vector store's two collections per dataset and its cached collection handles (real Chroma)."""

import uuid

import chromadb
from chromadb.config import Settings

from llmops.rag.vector_store import VectorStore


def unit(i: int) -> list[float]:
    vector = [0.0] * 8
    vector[i] = 1.0
    return vector


def test_disabled_vectors_are_parked_and_come_back(tmp_path):
    store = VectorStore(chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False)))
    dataset = uuid.uuid4()
    store.upsert(dataset, ["a", "b"], [unit(0), unit(1)], [{"enabled": True}, {"enabled": False}])
    assert (store.count(dataset), store.count(dataset, parked=True)) == (1, 1)
    assert [hit for hit, _ in store.query([dataset], unit(1), 2)] == ["a"]
    store.set_enabled(dataset, ["b"], True)
    store.set_enabled(dataset, ["b"], True)  # repeating is harmless
    assert store.query([dataset], unit(1), 1)[0] == ("b", 1.0)
    assert (store.count(dataset), store.count(dataset, parked=True)) == (2, 0)


def test_a_handle_cached_before_another_process_recreated_the_collection(tmp_path):
    settings = Settings(anonymized_telemetry=False)
    ours = VectorStore(chromadb.PersistentClient(path=str(tmp_path), settings=settings))
    theirs = VectorStore(chromadb.PersistentClient(path=str(tmp_path), settings=settings))
    dataset = uuid.uuid4()
    ours.upsert(dataset, ["a"], [unit(0)], [{"enabled": True}])
    assert ours.query([dataset], unit(0), 1)[0][0] == "a"  # the handle is now cached
    theirs.drop(dataset)
    theirs.upsert(dataset, ["z"], [unit(2)], [{"enabled": True}])  # same name, a new collection
    assert ours.query([dataset], unit(2), 1)[0][0] == "z"
