"""Every worktree as the control towers show it: the rows of `worktree ls --json`, with each
worktree's git work (uncommitted and unmerged changes, size) kept in memory.

Reading the work of one worktree costs a handful of git processes (5-20 ms), so fifty cost a
second: a board reads it once, and again only for the worktrees a watch says changed
(`worktree_watch`), while the rest of a row (missions, ports, services) is read afresh each
time from the store, and the services' states from one `list-units` read again when a
watch saw their units change. Without a watch (`kept` False) every read is fresh.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from overmind.errors import NotFound
from overmind.store import Mission, shared

SIZE_EVERY_S = 30.0  # a worktree's size is walked again at most this often: it can be large
READERS = 4  # git processes reading cold worktrees at once


class Board:
    def __init__(self) -> None:
        self.kept = False  # a watch keeps the cached work current
        self._work: dict[str, dict[str, Any]] = {}
        self._sized: dict[str, tuple[float, int | None]] = {}
        self._states: dict[str, dict[str, dict[str, str]]] | None = None  # the services' units, by worktree
        self._lock = threading.Lock()

    def rows(self, name: str | None = None) -> list[dict[str, Any]]:
        """`worktree ls --json` (of one worktree with `name`): cached work where it is kept."""
        from overmind.isolation.environment import service_states
        from overmind.isolation.listing import place
        from overmind.store.worktrees import WorktreeStore

        store = shared()
        records = WorktreeStore(store)
        chosen = [r for r in records.all() if name is None or r.name == name]
        if name is not None and not chosen:
            raise NotFound(f"no worktree named '{name}'", hint="see 'overmind worktree ls'")
        if not chosen:
            return []
        working: dict[str, list[Mission]] = {}
        for mission in store.all():
            if (worktree := mission.worktree) is not None:
                working.setdefault(worktree, []).append(mission)
        leases = records.all_leases()
        states = self._states if self.kept and self._states is not None else service_states()
        if self.kept:
            self._states = states
        cold = [r.name for r in chosen if not self.kept or r.name not in self._work]
        if cold:
            self.refresh(cold)
        return [{**place(r, working.get(r.name, []), leases.get(r.name, {}), states), **self.work(r.name)}
                for r in chosen]

    def work(self, name: str) -> dict[str, Any]:
        with self._lock:
            found = dict(self._work.get(name) or {})
            found["size_bytes"] = self._sized.get(name, (0.0, None))[1]
        return found

    def refresh(self, names: list[str]) -> set[str]:
        """Read these worktrees' work again (in parallel); the names whose work changed."""
        from overmind.store.worktrees import WorktreeStore

        records = {r.name: r for r in WorktreeStore(shared()).all() if r.name in names}
        gone = set(names) - set(records)
        with self._lock:
            for name in gone:
                self._work.pop(name, None)
                self._sized.pop(name, None)
        if not records:
            return gone
        chosen = list(records.values())
        if len(chosen) == 1:
            found = [_read(chosen[0])]
        else:
            with ThreadPoolExecutor(min(READERS, len(chosen))) as pool:
                found = list(pool.map(_read, chosen))
        changed = set(gone)
        now = time.monotonic()
        with self._lock:
            for record, work in zip(chosen, found, strict=True):
                if self._work.get(record.name) != work:
                    changed.add(record.name)
                self._work[record.name] = work
                sized_at, _ = self._sized.get(record.name, (0.0, None))
                if record.name not in self._sized or now - sized_at >= SIZE_EVERY_S:
                    self._sized[record.name] = (now, _size(record.path))
        return changed

    def services_changed(self) -> None:
        """A service's or setup's unit changed: their states are read again at the next rows()."""
        self._states = None

    def forget(self) -> None:
        """Nothing cached is current any more (the watch stopped)."""
        with self._lock:
            self._work.clear()
            self._states = None


def _read(record: Any) -> dict[str, Any]:
    from overmind.isolation.listing import work

    found = work(record, with_size=False)
    del found["size_bytes"]
    return found


def _size(path: str) -> int | None:
    from overmind.isolation.listing import size_of

    return size_of(path) if os.path.isdir(path) else None
