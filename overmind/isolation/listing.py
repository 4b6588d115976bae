"""`overmind worktree ls`: every worktree with its missions, work state, ports, services and size."""

from __future__ import annotations

import os
from typing import Any

from overmind.errors import OvermindError
from overmind.isolation import keeping
from overmind.isolation.environment import contract_or_none, declared, fields, missions_in, recorded, service_states
from overmind.store import Mission, Store
from overmind.store.worktrees import WorktreeRecord, WorktreeStore


def size_of(path: str) -> int:
    """Bytes in the worktree's files (its .git is a pointer file; git's objects are shared)."""
    total = 0
    stack = [path]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    total += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
    return total


def row(store: Store, record: WorktreeRecord, leases: dict[str, int], states: dict[str, dict[str, dict[str, str]]],
        with_size: bool = True) -> dict[str, Any]:
    return {**place(record, missions_in(store, record.name), leases, states), **work(record, with_size)}


def place(record: WorktreeRecord, missions: list[Mission], leases: dict[str, int],
          states: dict[str, dict[str, dict[str, str]]]) -> dict[str, Any]:
    """A row's fields that git has no part in: the record, its missions, ports and services."""
    missions = sorted(missions, key=lambda m: m.created_at, reverse=True)
    data: dict[str, Any] = {"name": record.name, "mission": missions[0].name if missions else None,
                            "missions": [m.name for m in missions], "repo": record.repo, "path": record.path,
                            "branch": record.branch, "base": record.base, "created_at": record.created_at}
    # What its newest mission's run recorded; what .overmind.yml gives it now if none did.
    data.update(fields(record, next(filter(None, map(recorded, missions)), None) or declared(record, leases), states))
    del data["worktree"]
    return data


def work(record: WorktreeRecord, with_size: bool = True) -> dict[str, Any]:
    """A row's fields that git (and the file system) tell: uncommitted and unmerged work, size."""
    present = os.path.isdir(record.path)
    data: dict[str, Any] = {"missing": not present, "dirty": None, "changes": [], "ahead": None, "behind": None,
                            "unmerged": None, "size_bytes": None}
    if present:
        try:
            state = keeping.state(record, contract_or_none(record.repo))
            data.update({"dirty": state.dirty, "changes": state.changes, "ahead": state.ahead,
                         "behind": state.behind, "unmerged": keeping.unmerged(record, state)})
        except OvermindError as error:
            data["error"] = error.message
        if with_size:
            data["size_bytes"] = size_of(record.path)
    return data


def rows(store: Store, name: str | None = None) -> list[dict[str, Any]]:
    records = WorktreeStore(store)
    chosen = records.all() if name is None else [r for r in records.all() if r.name == name]
    if name is not None and not chosen:
        raise OvermindError(f"no worktree named '{name}'", hint="see 'overmind worktree ls'")
    leases = records.all_leases()
    states = service_states(name) if chosen else {}
    return [row(store, record, leases.get(record.name, {}), states) for record in chosen]
