"""Memories in a chromadb collection: remember (with near-duplicates merged), recall (semantic
plus keyword), list, show, forget, export, import, stats.

Only the service imports this module (with chromadb and the embedder): the embeddings are
computed here and passed to chromadb, so a collection never depends on an embedding function
of chromadb's own (which would try to download a model).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from overmind.akasha import ranking
from overmind.akasha.model import Memory

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from overmind.akasha.embedder import Embedder

DUPLICATE = 0.95  # cosine similarity at which a memory counts as one already known in its scope
# Every search asks chromadb for this many neighbours and ranks them here: enough that filtering
# by scope and kind afterwards rarely needs a second, filtered search.
CANDIDATES = 200
_PAGE = 1000
_Row = tuple[str, str | None, dict[str, Any]]  # id, text (if asked for), metadata


@dataclass(frozen=True)
class Hit:
    memory: Memory
    scored: ranking.Scored

    def to_json(self) -> dict[str, Any]:
        return {**self.memory.to_json(), "score": self.scored.score, "semantic": self.scored.semantic,
                "keyword": self.scored.keyword}


def new_id() -> str:
    return os.urandom(6).hex()


def _metadata(memory: Memory) -> dict[str, Any]:
    """chromadb metadata holds no None and no empty list: such fields are left out."""
    data: dict[str, Any] = {"kind": memory.kind, "scope": memory.scope, "created_at": memory.created_at,
                            "last_seen": memory.last_seen, "count": memory.count}
    if memory.tags:
        data["tags"] = memory.tags
    for key in ("mission", "agent"):
        if getattr(memory, key):
            data[key] = getattr(memory, key)
    return data


def _memory(memory_id: str, text: str, meta: dict[str, Any]) -> Memory:
    return Memory(id=memory_id, text=text, kind=meta.get("kind", "fact"), scope=meta.get("scope", "global"),
                  tags=list(meta.get("tags") or []), mission=meta.get("mission"), agent=meta.get("agent"),
                  created_at=float(meta.get("created_at", 0)), last_seen=float(meta.get("last_seen", 0)),
                  count=int(meta.get("count", 1)))


def where(scopes: list[str] | None = None, kind: str | None = None, tag: str | None = None,
          missions: list[str] | None = None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if scopes is not None:
        clauses.append({"scope": {"$in": scopes}} if len(scopes) != 1 else {"scope": scopes[0]})
    if kind is not None:
        clauses.append({"kind": kind})
    if tag is not None:
        clauses.append({"tags": {"$contains": tag}})
    if missions is not None:
        clauses.append({"mission": {"$in": missions}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class MemoryStore:
    def __init__(self, collection: Any, embedder: Embedder) -> None:
        self.collection = collection
        self.embedder = embedder

    # -- writing -----------------------------------------------------------------------
    def remember(self, memory: Memory) -> tuple[Memory, bool]:
        """Store a memory, or fold it into a near-duplicate of its scope; (stored, created)."""
        vector = self.embedder.embed([memory.text])[0]
        known = self._nearest(vector, memory.scope)
        if known is not None:
            return self._seen_again(known, memory), False
        self.collection.add(ids=[memory.id], embeddings=[vector], documents=[memory.text],
                            metadatas=[_metadata(memory)])
        return memory, True

    def _nearest(self, vector: npt.NDArray[np.float32], scope: str) -> Memory | None:
        found = self._search(vector, [scope], None, 1)
        if not found or found[0][1] < DUPLICATE:
            return None
        return found[0][0]

    def _search(self, vector: npt.NDArray[np.float32], scopes: list[str] | None, kind: str | None,
                n: int) -> list[tuple[Memory, float]]:
        """(memory, cosine similarity) of the nearest memories in the scopes, best first. Filtering
        here after an unfiltered search costs ~2 ms at 10,000 memories, chromadb's filtered search
        ~40 ms; the filtered one is asked only when too few of the nearest are in the scopes."""
        total = self.collection.count()
        if not total:
            return []
        include = ["documents", "metadatas", "distances"]
        found = self.collection.query(query_embeddings=[vector], n_results=min(total, CANDIDATES), include=include)
        rows = list(zip(found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0],
                        strict=True))
        wanted = [row for row in rows if (scopes is None or row[2].get("scope") in scopes)
                  and (kind is None or row[2].get("kind") == kind)]
        if len(wanted) < n and len(rows) < total:
            found = self.collection.query(query_embeddings=[vector], n_results=min(total, CANDIDATES),
                                          where=where(scopes, kind), include=include)
            wanted = list(zip(found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0],
                              strict=True))
        return [(_memory(memory_id, text, meta), 1 - distance) for memory_id, text, meta, distance in wanted]

    def _seen_again(self, known: Memory, new: Memory) -> Memory:
        known.count += 1
        known.last_seen = max(known.last_seen, new.last_seen)
        known.tags = list(dict.fromkeys([*known.tags, *new.tags]))[:16]
        known.mission, known.agent = new.mission or known.mission, new.agent or known.agent
        self.collection.update(ids=[known.id], metadatas=[_metadata(known)])
        return known

    def forget(self, ids: list[str]) -> list[str]:
        present = self.collection.get(ids=ids, include=[])["ids"]
        if present:
            self.collection.delete(ids=present)
        return list(present)

    def import_memories(self, memories: list[Memory]) -> dict[str, int]:
        """Add what is new: a known id is left as it is, and so is a near-duplicate of a memory
        of its scope (in the store or earlier in the batch), so importing twice changes nothing."""
        import numpy as np

        report = {"added": 0, "unchanged": 0, "duplicates": 0}
        unique = list({memory.id: memory for memory in memories}.values())
        report["unchanged"] += len(memories) - len(unique)
        known = set(self.collection.get(ids=[m.id for m in unique], include=[])["ids"]) if unique else set()
        fresh = [m for m in unique if m.id not in known]
        report["unchanged"] += len(unique) - len(fresh)
        vectors = self.embedder.embed([m.text for m in fresh])
        known_duplicates = self._duplicates_in_store(fresh, vectors)
        chosen: list[int] = []
        for index, memory in enumerate(fresh):
            same_scope = [i for i in chosen if fresh[i].scope == memory.scope]
            if index in known_duplicates or (
                    same_scope and float(np.max(vectors[same_scope] @ vectors[index])) >= DUPLICATE):
                report["duplicates"] += 1
            else:
                chosen.append(index)
        for start in range(0, len(chosen), _PAGE):
            batch = chosen[start:start + _PAGE]
            self.collection.add(ids=[fresh[i].id for i in batch], embeddings=vectors[batch],
                                documents=[fresh[i].text for i in batch],
                                metadatas=[_metadata(fresh[i]) for i in batch])
        report["added"] = len(chosen)
        return report

    def _duplicates_in_store(self, memories: list[Memory], vectors: npt.NDArray[np.float32]) -> set[int]:
        """Indexes of the memories that have a near-duplicate stored in their scope: one query
        per scope for the whole batch."""
        duplicates: set[int] = set()
        if not memories or not self.collection.count():
            return duplicates
        by_scope: dict[str, list[int]] = {}
        for index, memory in enumerate(memories):
            by_scope.setdefault(memory.scope, []).append(index)
        for scope, indexes in by_scope.items():
            found = self.collection.query(query_embeddings=vectors[indexes],
                                          n_results=min(self.collection.count(), CANDIDATES),
                                          where={"scope": scope}, include=["distances"])
            duplicates.update(index for index, distances in zip(indexes, found["distances"], strict=True)
                              if distances and 1 - min(distances) >= DUPLICATE)
        return duplicates

    # -- reading -----------------------------------------------------------------------
    def recall(self, query: str, n: int = 5, scopes: list[str] | None = None, kind: str | None = None) -> list[Hit]:
        """The n memories that best answer the query, best first."""
        import numpy as np

        vector = self.embedder.embed([query])[0]
        filter_ = where(scopes, kind)
        candidates = {memory.id: (memory, semantic) for memory, semantic in self._search(vector, scopes, kind, n)}
        rare = ranking.rare_terms(query)
        if rare and candidates:
            literal = self.collection.get(where=filter_, where_document={"$regex": ranking.regex_any(rare)}, limit=50,
                                          include=["documents", "metadatas", "embeddings"])
            for memory_id, text, meta, embedding in zip(literal["ids"], literal["documents"], literal["metadatas"],
                                                        literal["embeddings"], strict=True):
                if memory_id not in candidates:
                    semantic = float(np.dot(np.asarray(embedding, dtype=np.float32), vector))
                    candidates[memory_id] = (_memory(memory_id, text, meta), semantic)
        hits = [Hit(memory, ranking.score(semantic, rare, memory.text)) for memory, semantic in candidates.values()]
        hits.sort(key=lambda hit: (-hit.scored.score, -hit.memory.last_seen))
        return hits[:n]

    def get(self, memory_id: str) -> Memory | None:
        found = self.collection.get(ids=[memory_id], include=["documents", "metadatas"])
        if not found["ids"]:
            return None
        return _memory(found["ids"][0], found["documents"][0], found["metadatas"][0])

    def newest(self, scopes: list[str] | None = None, kind: str | None = None, tag: str | None = None,
             missions: list[str] | None = None, limit: int | None = None) -> tuple[list[Memory], int]:
        """(the newest memories first, up to limit; how many match in all)."""
        filter_ = where(scopes, kind, tag, missions)
        metas = self._all(filter_, include=["metadatas"])
        order: list[_Row] = sorted(metas, key=lambda item: -float(item[2].get("last_seen", 0)))
        chosen = [memory_id for memory_id, _, _ in (order if limit is None else order[:limit])]
        texts: dict[str, str] = {}
        for start in range(0, len(chosen), _PAGE):
            page = self.collection.get(ids=chosen[start:start + _PAGE], include=["documents"])
            texts.update(zip(page["ids"], page["documents"], strict=True))
        by_id = {memory_id: meta for memory_id, _, meta in order}
        return [_memory(memory_id, texts[memory_id], by_id[memory_id]) for memory_id in chosen], len(order)

    def export(self) -> Iterator[Memory]:
        items = self._all(None, include=["documents", "metadatas"])
        for memory_id, text, meta in sorted(items, key=lambda item: (item[2].get("created_at", 0), item[0])):
            yield _memory(memory_id, text or "", meta)

    def stats(self) -> dict[str, Any]:
        metas = [meta for _, _, meta in self._all(None, include=["metadatas"])]
        seen = [float(meta.get("last_seen", 0)) for meta in metas]
        return {"memories": len(metas), "kinds": dict(Counter(meta.get("kind", "?") for meta in metas)),
                "scopes": dict(Counter(meta.get("scope", "?") for meta in metas).most_common()),
                "remembered": sum(int(meta.get("count", 1)) for meta in metas),
                "newest": max(seen) if seen else None, "oldest": min(seen) if seen else None}

    def _all(self, filter_: dict[str, Any] | None, include: list[str]) -> list[_Row]:
        rows: list[_Row] = []
        offset = 0
        while True:
            page = self.collection.get(where=filter_, include=include, limit=_PAGE * 5, offset=offset)
            documents = page.get("documents") or [None] * len(page["ids"])
            rows.extend(zip(page["ids"], documents, page["metadatas"], strict=True))
            if len(page["ids"]) < _PAGE * 5:
                return rows
            offset += len(page["ids"])

