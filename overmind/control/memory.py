"""The shared memory (Akasha) as every front end reads and changes it: the newest memories, a
search ranked by the service, one memory, forget, remember, the stats, and what one mission
consulted and fed. Each is one request to the warm memory service (overmind.akasha.client);
nothing here imports chromadb or the model.

Memories are anyone's text (an agent wrote them): a front end escapes what it shows.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from overmind.akasha import INSTALL_HINT, AkashaError
from overmind.akasha.model import GLOBAL, KINDS, check_kind, check_tags, check_text
from overmind.errors import NotFound

__all__ = ["GLOBAL", "INSTALL_HINT", "KINDS", "AkashaError", "Forgotten", "Listing", "MissionMemories",
           "forget", "newest", "of_mission", "remember", "search", "show", "stats", "scopes", "unavailable"]
NEWEST = 20


class Listing(NamedTuple):
    memories: list[dict[str, Any]]  # `akasha ls --json`
    total: int  # how many match in all


class Forgotten(NamedTuple):
    forgotten: list[str]
    missing: list[str]

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class MissionMemories(NamedTuple):
    """What one mission was told at its start and what it taught (from the mission event log)."""

    consulted: list[dict[str, Any]]  # memories; one forgotten since is {"id", "forgotten": true}
    fed: list[dict[str, Any]]
    problem: str | None  # why the memories' texts could not be read, in one line

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def unavailable() -> str | None:
    """Why the memory cannot be used on this machine, in one line with the install command; None
    when it is installed (cheap: nothing is imported)."""
    from overmind.akasha.client import installed

    if installed():
        return None
    return f"Akasha is not installed: {INSTALL_HINT}"


def one_line(error: AkashaError) -> str:
    """An Akasha failure as a page or view says it: the message, its hint, and the install
    command when the memory is not installed."""
    text = error.message + (f" ({error.hint})" if error.hint else "")
    return text if INSTALL_HINT in text else (unavailable() or text)


def _request(op: str, **fields: Any) -> dict[str, Any]:
    from overmind.akasha.client import request

    return request(op, **fields)


def scopes(option: str | None, cwd: str) -> list[str] | None:
    """What a listing or search looks in: the scope given (a repository, its directory, 'global'),
    every scope for 'all', and by default the directory's repository plus global."""
    from overmind.akasha.scope import resolve_scope

    scope = resolve_scope(option, cwd)
    if scope == "all":
        return None
    return [scope] if option is not None else list(dict.fromkeys([scope, GLOBAL]))


def _filters(kind: str | None, chosen: list[str] | None) -> dict[str, Any]:
    return {"kind": check_kind(kind) if kind else None, "scopes": chosen or None}


def newest(*, kind: str | None = None, scopes: list[str] | None = None, tag: str | None = None,
           limit: int | None = NEWEST, missions: list[str] | None = None) -> Listing:
    """The most recently seen memories first (`akasha ls`); `limit` None: all of them."""
    answer = _request("ls", **_filters(kind, scopes), tag=tag, limit=limit, missions=missions)
    return Listing(answer["memories"], answer["total"])


def search(query: str, *, n: int = 5, kind: str | None = None, scopes: list[str] | None = None) -> list[dict[str, Any]]:
    """The memories that best answer `query`, ranked by the service (`akasha recall`): by meaning
    and by its rare words, each with its score."""
    hits: list[dict[str, Any]] = _request("recall", query=check_text(query), n=n, **_filters(kind, scopes))["hits"]
    return hits


def show(memory_id: str) -> dict[str, Any]:
    try:
        memory: dict[str, Any] = _request("show", id=memory_id)["memory"]
    except AkashaError as error:
        if error.message.startswith("no memory"):
            raise NotFound(error.message, hint=error.hint) from None
        raise
    return memory


def forget(ids: list[str]) -> Forgotten:
    """Forget memories for good; which were, and which were not there."""
    forgotten: list[str] = _request("forget", ids=list(ids))["forgotten"]
    return Forgotten(forgotten, [memory_id for memory_id in ids if memory_id not in forgotten])


def remember(text: str, *, kind: str = "fact", tags: list[str] | tuple[str, ...] = (), scope: str | None = None,
             cwd: str = ".", agent: str | None = None, mission: str | None = None) -> dict[str, Any]:
    """Remember a text (a near-duplicate of a memory of its scope is counted again instead);
    the service's answer: {"memory", "created", "redacted"}. `scope` as `--scope` takes it
    (default: the repository of `cwd`)."""
    from overmind.akasha.scope import resolve_scope

    entry = {"text": check_text(text), "kind": check_kind(kind), "tags": check_tags(list(tags)),
             "scope": resolve_scope(scope, os.path.abspath(cwd)), "agent": agent or "cli", "mission": mission}
    if entry["scope"] == "all":
        raise AkashaError("a memory belongs to one scope, not 'all'", hint="use --scope global")
    result: dict[str, Any] = _request("remember", memories=[entry])["results"][0]
    return result


def stats() -> dict[str, Any]:
    """`akasha stats --json`: counts by kind and scope, where the memories are stored, the model
    and the service's state."""
    from overmind.akasha.config import configured

    answer = _request("stats")
    return {**answer["stats"], "backend": configured().describe(), "service": answer["service"]}


def of_mission(mission_id: str) -> MissionMemories:
    """The memories a mission consulted at its start and those it fed (when it ended, or through
    its tools), as the mission event log records them, with their texts from the service."""
    from overmind.akasha.eventlog import EventLog

    noted = EventLog().memories(mission_id)
    if not any(noted.values()):
        return MissionMemories([], [], None)
    try:
        known = {m["id"]: m for m in newest(limit=None, missions=[mission_id]).memories}
        for memory_id in {*noted["consulted"], *noted["fed"]} - set(known):
            try:
                known[memory_id] = show(memory_id)
            except NotFound:
                known[memory_id] = {"id": memory_id, "forgotten": True}
    except AkashaError as error:
        bare = {action: [{"id": memory_id} for memory_id in ids] for action, ids in noted.items()}
        return MissionMemories(bare["consulted"], bare["fed"], one_line(error))
    return MissionMemories([known[i] for i in noted["consulted"]], [known[i] for i in noted["fed"]], None)
