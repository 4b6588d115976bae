"""The store's side of isolation: mission worktrees and the port leases they hold.

A lease belongs to a worktree, not to one run: an agent's dev server keeps its port across
restarts and later missions in the same worktree, until the worktree is removed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from overmind.store import Store

# plan(this worktree's leases, ports leased by every other worktree) -> the leases it should hold
LeasePlan = Callable[[dict[str, int], set[int]], dict[str, int]]


class WorktreeRecord(NamedTuple):
    name: str
    repo: str  # the main work tree of the repository
    path: str
    branch: str
    base: str  # what it started from, as named (a branch, a tag, HEAD's branch, or a commit)
    base_commit: str
    created_at: float


_COLUMNS = "name, repo, path, branch, base, base_commit, created_at"


class WorktreeStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def add(self, record: WorktreeRecord) -> None:
        self.db.execute(f"INSERT INTO worktrees ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(record))
        self.store._mirror("worktree", record.name, record._asdict())

    def get(self, name: str) -> WorktreeRecord | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM worktrees WHERE name = ?", (name,)).fetchone()
        return WorktreeRecord(*row) if row else None

    def by_path(self, path: str) -> WorktreeRecord | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM worktrees WHERE path = ?", (path,)).fetchone()
        return WorktreeRecord(*row) if row else None

    def all(self) -> list[WorktreeRecord]:
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM worktrees ORDER BY created_at")
        return [WorktreeRecord(*row) for row in rows]

    def remove(self, name: str) -> None:
        """Forget a worktree; its leases go with it."""
        self.db.execute("DELETE FROM worktrees WHERE name = ?", (name,))
        self.store._mirror("worktree-remove", name)

    def leases(self, worktree: str) -> dict[str, int]:
        rows = self.db.execute("SELECT name, port FROM port_leases WHERE worktree = ? ORDER BY port", (worktree,))
        return dict(rows.fetchall())

    def all_leases(self) -> dict[str, dict[str, int]]:
        leases: dict[str, dict[str, int]] = {}
        for worktree, name, port in self.db.execute("SELECT worktree, name, port FROM port_leases ORDER BY port"):
            leases.setdefault(worktree, {})[name] = port
        return leases

    def lease(self, worktree: str, plan: LeasePlan) -> dict[str, int]:
        """Replace a worktree's leases with what `plan` decides, in one write transaction: two
        allocations never see the same free port."""
        with self.store.transaction() as db:
            mine = dict(db.execute("SELECT name, port FROM port_leases WHERE worktree = ?", (worktree,)).fetchall())
            others = {row[0] for row in db.execute("SELECT port FROM port_leases WHERE worktree != ?", (worktree,))}
            wanted = plan(mine, others)
            gone = [(worktree, name) for name, port in mine.items() if wanted.get(name) != port]
            db.executemany("DELETE FROM port_leases WHERE worktree = ? AND name = ?", gone)
            now = time.time()
            db.executemany("INSERT INTO port_leases (port, worktree, name, leased_at) VALUES (?, ?, ?, ?)",
                           [(port, worktree, name, now) for name, port in wanted.items() if mine.get(name) != port])
        if wanted != mine:
            self.store._mirror("leases", worktree, {"leases": wanted, "at": now})
        return wanted
