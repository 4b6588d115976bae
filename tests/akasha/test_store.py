"""The memory store on a real local chromadb with the real embedding model, in this process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from overmind.akasha import AkashaError
from overmind.akasha.chroma import open_collection
from overmind.akasha.config import Backend
from overmind.akasha.embedder import Embedder
from overmind.akasha.model import Memory
from overmind.akasha.store import MemoryStore, new_id

LABELLED = Path(__file__).resolve().parents[1] / "data" / "akasha-recall.jsonl"


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def store(embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MemoryStore:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    return MemoryStore(open_collection(Backend(), embedder), embedder)


def memory(text: str, scope: str = "repo", **fields: object) -> Memory:
    return Memory(id=new_id(), text=text, scope=scope, **fields)  # type: ignore[arg-type]


def test_the_embedder_gives_unit_vectors_that_place_paraphrases_together(embedder: Embedder) -> None:
    vectors = embedder.embed(["The cat sits on the mat", "A feline rests on a rug", "Stock markets fell sharply"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    similar, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert similar > 0.5 > 0.2 > unrelated
    # A batch pads to its longest text only: the same text embeds alike alone or beside a long one.
    alone = embedder.embed(["short text"])[0]
    batched = embedder.embed(["short text", "a much longer text " * 30])[0]
    assert float(alone @ batched) > 0.9999


def test_a_near_duplicate_in_the_same_scope_is_counted_not_stored_twice(store: MemoryStore) -> None:
    first, created = store.remember(memory("Run the integration tests with pytest -m systemd; they need the host up.",
                                           tags=["tests"]))
    again, created_again = store.remember(memory("Run the integration tests with pytest -m systemd, they need the "
                                                 "host up.", tags=["ci"]))
    elsewhere, created_elsewhere = store.remember(memory("Run the integration tests with pytest -m systemd; they "
                                                         "need the host up.", scope="other/repo"))
    assert created and not created_again and created_elsewhere
    assert again.id == first.id and again.count == 2 and again.tags == ["tests", "ci"]
    assert again.last_seen >= first.last_seen
    assert store.get(first.id) == again
    assert store.stats()["memories"] == 2


def test_recall_ranks_by_meaning_and_rescues_identifiers(store: MemoryStore) -> None:
    texts = ["Tests that sleep instead of waiting on a condition are flaky on the busy CI machine.",
             "ECONNRESET from the fake API means the CLI retried; set CLAUDE_CODE_MAX_RETRIES=0.",
             "The dashboard serves its assets from overmind/web/static.",
             "Podman cannot pull images here; build them with podman import."]
    ids = [store.remember(memory(text))[0].id for text in texts]
    hits = store.recall("why do my tests fail only when the machine is loaded?", n=2, scopes=["repo"])
    assert hits[0].memory.id == ids[0] and hits[0].scored.semantic > 0.3
    literal = store.recall("ECONNRESET", n=1, scopes=["repo"])[0]
    assert literal.memory.id == ids[1] and literal.scored.keyword == 1.0
    assert store.recall("why do my tests fail only when the machine is loaded?", scopes=["elsewhere"]) == []
    assert [h.memory.kind for h in store.recall("images", kind="fact", scopes=["repo"])]


def test_listing_filters_by_scope_kind_tag_and_mission(store: MemoryStore) -> None:
    store.remember(memory("a decision about caching", kind="decision", tags=["cache"], mission="m1"))
    store.remember(memory("a pitfall with the scheduler", kind="pitfall", mission="m2"))
    store.remember(memory("a global howto about git worktrees", scope="global", kind="howto"))
    listed, total = store.newest(scopes=["repo"])
    assert total == 2 and {m.kind for m in listed} == {"decision", "pitfall"}
    assert [m.kind for m in store.newest(tag="cache")[0]] == ["decision"]
    assert [m.mission for m in store.newest(missions=["m2"])[0]] == ["m2"]
    assert len(store.newest(limit=1)[0]) == 1 and store.newest(limit=1)[1] == 3


def test_importing_an_export_twice_changes_nothing(store: MemoryStore, embedder: Embedder, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for text in ("first fact about the parser", "second fact about the lexer", "third fact about the printer"):
        store.remember(memory(text))
    exported = list(store.export())
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path / "other-machine"))
    other = MemoryStore(open_collection(Backend(), embedder), embedder)
    other.remember(memory("second fact about the lexer!"))  # a near-duplicate the other machine already has
    assert other.import_memories(exported) == {"added": 2, "unchanged": 0, "duplicates": 1}
    before = [m.to_json() for m in other.export()]
    assert other.import_memories(exported) == {"added": 0, "unchanged": 2, "duplicates": 1}
    assert [m.to_json() for m in other.export()] == before


def test_a_corrupted_local_store_is_reported_and_left_as_it_is(embedder: Embedder, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    database = tmp_path / "akasha" / "chroma" / "chroma.sqlite3"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"this is not a database" * 100)
    with pytest.raises(AkashaError, match="cannot be opened: chroma.sqlite3 is not an SQLite database"):
        open_collection(Backend(), embedder)
    assert database.read_bytes() == b"this is not a database" * 100


def test_recall_at_3_on_the_labelled_paraphrases_stays_above_its_floor(store: MemoryStore) -> None:
    """The measured figures on the 90 pairs (benchmarks/akasha.py) are 0.79 for questions and 0.84
    for task prompts; this floor catches a ranking or embedding change that makes them worse."""
    pairs = [json.loads(line) for line in LABELLED.read_text().splitlines()]
    assert len(pairs) >= 50
    ids = [store.remember(memory(pair["memory"]))[0].id for pair in pairs]
    assert len(set(ids)) == len(pairs)
    for style in ("question", "task"):
        found = sum(ids[i] in [h.memory.id for h in store.recall(pair[style], n=3, scopes=["repo"])]
                    for i, pair in enumerate(pairs))
        assert found / len(pairs) >= 0.75, f"recall@3 for {style}s fell to {found / len(pairs):.2f}"
