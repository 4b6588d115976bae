"""What a collection's vectors and search graph were built with, and rebuilding a local one that
is out of date.

A collection is stamped (in its chromadb metadata) with the embedding model that made its vectors
and the version of its search-graph settings. Opening one made otherwise:

- locally, it is rebuilt: copied into a new collection with the current graph settings (its
  vectors re-embedded when the model changed), which then takes the old one's place. A rebuild
  stopped half-way is finished or redone at the next open; the old collection is dropped only
  once the new one is complete.
- on a shared server, a different model is refused in one line (a team store is not re-embedded
  behind the team's back by whichever machine happens to differ), and older graph settings are
  used as they are.

A collection made before stamps existed was embedded by the only model there was then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from overmind.akasha import AkashaError

if TYPE_CHECKING:
    from overmind.akasha.embedder import Embedder

COLLECTION = "overmind-memories"
_REBUILD = COLLECTION + "-rebuild"
# chromadb's default HNSW graph (16 neighbours, ef 100) found the true nearest memories for only
# 37 of the 60 labelled questions among 10,000 memories, even asked for 200 results; this one
# finds all 60 (benchmarks/akasha.py), at ~2 ms per query and ~1.7x the insertion time.
CONFIGURATION = {"hnsw": {"space": "cosine", "ef_construction": 400, "max_neighbors": 64, "ef_search": 1000}}
GRAPH_VERSION = 2  # 1: chromadb's default graph (collections made before stamps)
_MODEL_KEY, _GRAPH_KEY = "overmind_model", "overmind_graph"
_PAGE = 500


def stamp(model: str) -> dict[str, Any]:
    return {_MODEL_KEY: model, _GRAPH_KEY: GRAPH_VERSION}


def made_with(collection: Any, current_model: str) -> tuple[str, int]:
    """(the model that embedded the collection, its graph version)."""
    metadata = collection.metadata or {}
    if _MODEL_KEY not in metadata:
        return current_model, 1  # made before stamps, by the only model there was
    return str(metadata[_MODEL_KEY]), int(metadata.get(_GRAPH_KEY, 1))


def open_current(client: Any, embedder: Embedder, local: bool, where: str) -> Any:
    """The memories' collection, created or brought up to date (see the module's docstring)."""
    collection = _finish_interrupted(client) if local else None
    if collection is None:
        collection = _get(client, COLLECTION)
    if collection is None:
        return client.get_or_create_collection(COLLECTION, embedding_function=None, configuration=CONFIGURATION,
                                               metadata=stamp(embedder.name))
    model, graph = made_with(collection, embedder.name)
    if model == embedder.name and graph == GRAPH_VERSION and (collection.metadata or {}).get(_MODEL_KEY):
        return collection
    if not local:
        if model != embedder.name:
            raise AkashaError(f"the memories at {where} were embedded with {model}; this machine embeds with "
                              f"{embedder.name}",
                              hint="use the same model on every machine that shares them (scripts/install-akasha.sh, "
                                   "OVERMIND_AKASHA_MODEL_DIR), or move them: overmind akasha export FILE, then "
                                   "import FILE on a new server")
        return collection
    return rebuild(client, collection, embedder, reembed=model != embedder.name)


def rebuild(client: Any, old: Any, embedder: Embedder, reembed: bool) -> Any:
    """Copy every memory into a collection with the current settings (re-embedding the texts if
    asked), stamp it once complete, then put it in the old one's place."""
    total = old.count()
    why = "re-embedding them with " + embedder.name if reembed else "building a faster search graph"
    print(f"rebuilding the memory store ({total} memories): {why}", flush=True)
    _drop(client, _REBUILD)
    new = client.create_collection(_REBUILD, embedding_function=None, configuration=CONFIGURATION)
    for offset in range(0, total, _PAGE):
        page = old.get(include=["documents", "metadatas", "embeddings"], limit=_PAGE, offset=offset)
        if not page["ids"]:
            break
        vectors = embedder.embed(list(page["documents"])) if reembed else page["embeddings"]
        new.add(ids=page["ids"], documents=page["documents"], metadatas=page["metadatas"], embeddings=vectors)
    new.modify(metadata=stamp(embedder.name))  # complete: from here on it replaces the old one
    return _replace(client, new)


def _finish_interrupted(client: Any) -> Any:
    """A rebuild that was stopped: a complete (stamped) one takes the old collection's place, an
    incomplete one is dropped (the old collection is still whole, and is rebuilt again)."""
    pending = _get(client, _REBUILD)
    if pending is None:
        return None
    if (pending.metadata or {}).get(_MODEL_KEY):
        return _replace(client, pending)
    _drop(client, _REBUILD)
    return None


def _replace(client: Any, new: Any) -> Any:
    _drop(client, COLLECTION)
    new.modify(name=COLLECTION)
    return client.get_collection(COLLECTION, embedding_function=None)


def _get(client: Any, name: str) -> Any:
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return None


def _drop(client: Any, name: str) -> None:
    from chromadb.errors import NotFoundError

    try:
        client.delete_collection(name)
    except NotFoundError:
        pass
