"""The service's operations: each request's fields checked, then the store asked.

Every text is redacted here, once, whoever sent it (the CLI, the MCP server, a mission's end):
nothing that looks like a secret reaches the store.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from overmind.akasha import AkashaError
from overmind.akasha.config import Backend, check_url
from overmind.akasha.model import Memory, check_kind, check_tags, check_text
from overmind.akasha.redact import redact

if TYPE_CHECKING:
    from overmind.akasha.service import Service
    from overmind.akasha.store import MemoryStore

MAX_RECALL = 100


class Handlers:
    def __init__(self, service: Service) -> None:
        self.service = service

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        method = getattr(self, f"op_{op}", None) if isinstance(op, str) and op.isidentifier() else None
        if method is None:
            raise AkashaError(f"unknown request {op!r}")
        if op == "status":
            return dict(method(request))
        backend = _backend(request.get("backend"))
        store = self.service.store(backend)
        try:
            return dict(method(store, request))
        except AkashaError:
            raise
        except Exception as exc:
            if backend.url is None:
                raise
            self.service.forget_store(backend)
            from overmind.akasha.chroma import unreachable

            raise unreachable(backend, exc) from exc

    # -- operations ----------------------------------------------------------------------
    def op_status(self, request: dict[str, Any]) -> dict[str, Any]:
        import os

        return {"pid": os.getpid(), "rss": self.service.rss(), "uptime": time.time() - self.service.started,
                "idle_timeout": self.service.idle,
                "model": self.service.model_name(),
                "backends": [backend.describe() for backend in self.service.stores]}

    def op_remember(self, store: MemoryStore, request: dict[str, Any]) -> dict[str, Any]:
        entries = request.get("memories")
        if not isinstance(entries, list) or not entries:
            raise AkashaError("nothing to remember")
        results = []
        stored_memories = []
        for entry in entries:
            memory, redacted = _new_memory(entry)
            stored, created = store.remember(memory)
            stored_memories.append(stored.to_json())
            results.append({"memory": stored_memories[-1], "created": created, "redacted": redacted})
        _note_fed([memory for memory in stored_memories if memory.get("mission")])
        return {"results": results}

    def op_recall(self, store: MemoryStore, request: dict[str, Any]) -> dict[str, Any]:
        query = check_text(request.get("query"))
        n = request.get("n", 5)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_RECALL:
            raise AkashaError(f"-n must be between 1 and {MAX_RECALL}")
        hits = store.recall(query, n, _scopes(request), _kind(request))
        return {"hits": [hit.to_json() for hit in hits]}

    def op_ls(self, store: MemoryStore, request: dict[str, Any]) -> dict[str, Any]:
        limit = request.get("limit")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise AkashaError("the limit must be 1 or more")
        tag = request.get("tag")
        if tag is not None:
            tag = check_tags([tag])[0]
        missions = request.get("missions")
        if missions is not None and (not isinstance(missions, list) or not all(isinstance(m, str) for m in missions)):
            raise AkashaError("missions must be a list of ids")
        memories, total = store.newest(_scopes(request), _kind(request), tag, missions, limit)
        return {"memories": [memory.to_json() for memory in memories], "total": total}

    def op_show(self, store: MemoryStore, request: dict[str, Any]) -> dict[str, Any]:
        memory = store.get(_id(request.get("id")))
        if memory is None:
            raise AkashaError(f"no memory {request.get('id')!r}", hint="see 'overmind akasha ls'")
        return {"memory": memory.to_json()}

    def op_forget(self, store: MemoryStore, request: dict[str, Any]) -> dict[str, Any]:
        ids = request.get("ids")
        if not isinstance(ids, list) or not ids:
            raise AkashaError("no memory to forget")
        return {"forgotten": store.forget([_id(i) for i in ids])}

    def op_export(self, store: MemoryStore, request: dict[str, Any]) -> dict[str, Any]:
        return {"memories": [memory.to_json() for memory in store.export()]}

    def op_import(self, store: MemoryStore, request: dict[str, Any]) -> dict[str, Any]:
        records = request.get("memories")
        if not isinstance(records, list):
            raise AkashaError("nothing to import")
        memories = []
        for record in records:
            memory = Memory.from_json(record)
            memory.text, _ = redact(memory.text)
            memories.append(memory)
        return {"report": store.import_memories(memories)}

    def op_stats(self, store: MemoryStore, request: dict[str, Any]) -> dict[str, Any]:
        return {"stats": store.stats(), "service": self.op_status(request)}


def _note_fed(memories: list[dict[str, Any]]) -> None:
    """What a mission taught, in the mission event log (its page lists it): by the service, which
    alone learns the ids, whoever sent the memories (the mission's end, its MCP tools)."""
    if not memories:
        return
    from overmind.akasha.eventlog import EventLog

    try:
        log = EventLog()
        for memory in memories:
            log.note_memories(memory["mission"], memory.get("agent") or memory["mission"], "fed", [memory["id"]])
    except Exception as exc:  # noqa: BLE001 - the memories are stored; only the log line is missing
        print(f"fed memories not logged: {type(exc).__name__}: {exc}", flush=True)


def _backend(data: Any) -> Backend:
    if data is None:
        return Backend()
    if not isinstance(data, dict):
        raise AkashaError("malformed backend")
    url, token = data.get("url"), data.get("token")
    if url is None:
        return Backend()
    if not isinstance(url, str) or token is not None and not isinstance(token, str):
        raise AkashaError("malformed backend")
    return Backend(check_url(url), token)


def _new_memory(entry: Any) -> tuple[Memory, int]:
    from overmind.akasha.store import new_id

    if not isinstance(entry, dict):
        raise AkashaError("malformed memory")
    text, redacted = redact(check_text(entry.get("text")))
    scope = entry.get("scope") or "global"
    if not isinstance(scope, str) or "\0" in scope:
        raise AkashaError("invalid scope")
    source = {key: entry.get(key) for key in ("mission", "agent")}
    for key, value in source.items():
        if value is not None and (not isinstance(value, str) or "\0" in value):
            raise AkashaError(f"invalid {key}")
    memory = Memory(id=new_id(), text=text, kind=check_kind(entry.get("kind", "fact")), scope=scope,
                    tags=check_tags(entry.get("tags") or []), mission=source["mission"], agent=source["agent"])
    return memory, redacted


def _scopes(request: dict[str, Any]) -> list[str] | None:
    scopes = request.get("scopes")
    if scopes is None:
        return None
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s for s in scopes):
        raise AkashaError("malformed scopes")
    return list(dict.fromkeys(scopes))


def _kind(request: dict[str, Any]) -> str | None:
    kind = request.get("kind")
    return None if kind is None else check_kind(kind)


def _id(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise AkashaError(f"invalid memory id {value!r}")
    return value


