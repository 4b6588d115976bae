"""Stores made with another model or older search settings, on a real local chromadb with the real
embedding model: rebuilt in place locally (nothing lost), refused in one line on a shared server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import chromadb
import numpy as np
import pytest

from overmind.akasha import AkashaError
from overmind.akasha.chroma import open_collection
from overmind.akasha.config import Backend, local_path
from overmind.akasha.embedder import MODEL_NAME, Embedder
from overmind.akasha.layout import COLLECTION, CONFIGURATION, GRAPH_VERSION, made_with, open_current, stamp
from overmind.akasha.model import Memory
from overmind.akasha.store import MemoryStore, new_id

TEXTS = ["The parser tests need PARSER_FAST=1 on CI.",
         "Podman cannot pull images here; build them with podman import.",
         "Timers with Persistent=true run a missed job once at boot."]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    local_path().mkdir(parents=True)
    return chromadb.PersistentClient(path=str(local_path()), settings=chromadb.Settings(anonymized_telemetry=False))


def _old_store(client: Any, vectors: Any, metadata: dict[str, Any] | None = None) -> list[str]:
    """A collection as an earlier overmind made it: chromadb's default graph, perhaps a stamp."""
    collection = client.create_collection(COLLECTION, embedding_function=None, metadata=metadata,
                                          configuration={"hnsw": {"space": "cosine"}})
    ids = [new_id() for _ in TEXTS]
    collection.add(ids=ids, documents=TEXTS, embeddings=vectors,
                   metadatas=[{"kind": "fact", "scope": "repo", "count": 2, "created_at": 1.0, "last_seen": 2.0}] * 3)
    return ids


def _vectors(collection: Any, ids: list[str]) -> Any:
    found = collection.get(ids=ids, include=["embeddings"])
    return np.asarray([found["embeddings"][found["ids"].index(memory_id)] for memory_id in ids])


def test_a_store_made_before_stamps_gets_the_faster_graph_and_keeps_every_memory(client: Any,
                                                                                   embedder: Embedder) -> None:
    ids = _old_store(client, embedder.embed(TEXTS))
    store = MemoryStore(open_collection(Backend(), embedder), embedder)
    collection = store.collection
    assert collection.configuration["hnsw"]["max_neighbors"] == CONFIGURATION["hnsw"]["max_neighbors"]
    assert made_with(collection, "whatever") == (MODEL_NAME, GRAPH_VERSION)
    assert sorted(m.id for m in store.export()) == sorted(ids)
    assert store.get(ids[1]) == Memory(id=ids[1], text=TEXTS[1], kind="fact", scope="repo", created_at=1.0,
                                       last_seen=2.0, count=2)
    assert np.allclose(_vectors(collection, ids), embedder.embed(TEXTS), atol=1e-6)
    assert store.recall("how do I get a container image offline?", n=1, scopes=["repo"])[0].memory.id == ids[1]


def test_a_store_embedded_by_another_model_is_re_embedded_by_this_one(client: Any, embedder: Embedder) -> None:
    foreign = np.random.default_rng(1).normal(size=(3, 384)).astype(np.float32)
    ids = _old_store(client, foreign / np.linalg.norm(foreign, axis=1, keepdims=True), stamp("another-model"))
    collection = open_collection(Backend(), embedder)
    assert made_with(collection, "whatever") == (MODEL_NAME, GRAPH_VERSION)
    assert np.allclose(_vectors(collection, ids), embedder.embed(TEXTS), atol=1e-5)
    assert open_collection(Backend(), embedder).count() == 3  # up to date now: opened as it is


def test_a_rebuild_stopped_half_way_is_redone_and_a_finished_one_takes_over(client: Any, embedder: Embedder) -> None:
    ids = _old_store(client, embedder.embed(TEXTS))
    half = client.create_collection(COLLECTION + "-rebuild", embedding_function=None)  # no stamp: unfinished
    half.add(ids=ids[:1], documents=TEXTS[:1], embeddings=embedder.embed(TEXTS[:1]))
    collection = open_collection(Backend(), embedder)
    assert collection.count() == 3 and made_with(collection, "whatever")[1] == GRAPH_VERSION
    assert [c.name for c in client.list_collections()] == [COLLECTION]

    done = client.create_collection(COLLECTION + "-rebuild", embedding_function=None, metadata=stamp(embedder.name),
                                    configuration=CONFIGURATION)
    done.add(ids=["only"], documents=["the finished copy"], embeddings=embedder.embed(["the finished copy"]))
    assert open_collection(Backend(), embedder).get()["ids"] == ["only"]
    assert [c.name for c in client.list_collections()] == [COLLECTION]


def test_a_shared_store_of_another_model_is_refused_in_one_line_and_left_alone(client: Any,
                                                                               embedder: Embedder) -> None:
    _old_store(client, embedder.embed(TEXTS), stamp("another-model"))
    with pytest.raises(AkashaError, match=r"^the memories at http://team:8000 were embedded with another-model; "
                                          rf"this machine embeds with {MODEL_NAME}$") as error:
        open_current(client, embedder, local=False, where="http://team:8000")
    assert "export" in (error.value.hint or "")
    assert made_with(client.get_collection(COLLECTION), "whatever") == ("another-model", GRAPH_VERSION)


def test_a_model_of_ones_own_is_named_by_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  embedder: Embedder) -> None:
    from overmind.akasha.embedder import model_files

    model, tokenizer = model_files()
    own = tmp_path / "my-model"
    own.mkdir()
    (own / "model.onnx").write_bytes(model.read_bytes())
    (own / "tokenizer.json").write_bytes(tokenizer.read_bytes())
    monkeypatch.setenv("OVERMIND_AKASHA_MODEL_DIR", str(own))
    name = Embedder().name
    assert name.startswith("my-model-") and name != embedder.name
