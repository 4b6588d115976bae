"""Missions' worktrees, as every front end lists and changes them: the listing (work state,
ports, services, size), a named worktree made ahead, the diff, the merge, removal that never
loses work, and collecting the unused ones. The work is done in `overmind.isolation`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from overmind.errors import OvermindError
from overmind.store import Mission, Store, shared

if TYPE_CHECKING:  # `run` imports this module for workplace(): the rest loads when asked for
    from overmind.isolation.lifecycle import Collected, Merged, Removed
    from overmind.isolation.review import Commit, FileDiff


class Worktree(NamedTuple):
    """One row of `worktree ls` (docs/json.md)."""

    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dict(self.data)

    @property
    def work(self) -> str:
        """In words: clean, or how much is uncommitted, and how far it is from its base."""
        row = self.data
        if row["missing"]:
            return "missing"
        if row["dirty"] is None:
            return "?"
        parts = [f"{len(row['changes'])} uncommitted" if row["dirty"] else "clean"]
        if row["ahead"] or row["behind"]:
            parts.append(f"+{row['ahead']}/-{row['behind']}")
        return " ".join(parts)


class Created(NamedTuple):
    name: str
    path: str
    branch: str
    base: str
    ports: dict[str, int]
    notes: list[str]  # what copy/link left out, and why

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "branch": self.branch, "base": self.base, "ports": self.ports}


def listing(name: str | None = None, store: Store | None = None) -> list[Worktree]:
    from overmind.isolation.listing import rows

    return [Worktree(row) for row in rows(store or shared(), name)]


def create(name: str, base: str | None = None, cwd: str = ".", store: Store | None = None) -> Created:
    """A named worktree (with its ports, and .overmind.yml's copy and link) for missions to share."""
    from overmind.isolation import cache, git
    from overmind.isolation.paths import check_worktree_name
    from overmind.isolation.worktrees import provide

    check_worktree_name(name)
    checkout = git.checkout_of(os.path.abspath(cwd))
    record, leases, notes = provide(checkout, cache.contract_of(checkout.repo), name, base, store or shared())
    return Created(record.name, record.path, record.branch, record.base, leases, notes)


def diff(name: str, stat: bool = False, color: bool = False, store: Store | None = None) -> str:
    from overmind.isolation import keeping
    from overmind.isolation.environment import contract_or_none
    from overmind.isolation.lifecycle import record_of

    record = record_of(store or shared(), name)
    return keeping.diff(record, contract_or_none(record.repo), stat, color)


class Review(NamedTuple):
    """What a reviewer reads of a worktree: its diff per file and its commits (`worktree diff --json`)."""

    name: str
    files: list[FileDiff]
    commits: list[Commit]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "files": [f.to_json() for f in self.files],
                "commits": [c.to_json() for c in self.commits]}


def review(name: str, store: Store | None = None) -> Review:
    store = store or shared()
    return Review(name, files(name, store), commits(name, store))


def files(name: str, store: Store | None = None) -> list[FileDiff]:
    """The diff `worktree diff` prints, per file: added and removed line counts, numbered lines."""
    from overmind.isolation import review
    from overmind.isolation.environment import contract_or_none
    from overmind.isolation.lifecycle import record_of

    record = record_of(store or shared(), name)
    return review.files(record, contract_or_none(record.repo))


def commits(name: str, store: Store | None = None) -> list[Commit]:
    """The commits on the worktree's branch that its base does not have, newest first."""
    from overmind.isolation import review
    from overmind.isolation.lifecycle import record_of

    return review.commits(record_of(store or shared(), name))


def merge(name: str, into: str | None = None, store: Store | None = None) -> Merged:
    from overmind.isolation.lifecycle import merge as merge_branch
    from overmind.isolation.lifecycle import record_of

    return merge_branch(record_of(store or shared(), name), into)


def remove(name: str, force: bool = False, store: Store | None = None) -> Removed:
    from overmind.isolation.lifecycle import record_of
    from overmind.isolation.lifecycle import remove as remove_worktree

    store = store or shared()
    return remove_worktree(store, record_of(store, name), force)


class Removal(NamedTuple):
    """One worktree of a `worktree rm`: removed, or refused with why (the others go on)."""

    name: str
    removed: Removed | None
    error: OvermindError | None

    def to_json(self) -> dict[str, Any]:
        done = self.removed.to_json() if self.removed else {"name": self.name, "saved": None, "notes": []}
        return {**done, "removed": self.removed is not None, "error": self.error.message if self.error else None,
                "hint": self.error.hint if self.error else None}


def remove_each(names: Sequence[str], force: bool = False, store: Store | None = None) -> list[Removal]:
    """Every named worktree in turn, each removed or refused on its own: one with unsaved work, or
    in use, does not keep the others."""
    store = store or shared()
    done = []
    for name in names:
        try:
            done.append(Removal(name, remove(name, force, store), None))
        except OvermindError as error:
            done.append(Removal(name, None, error))
    return done


def collect(repo: str | None = None, store: Store | None = None) -> Collected:
    """`gc --worktrees`: the unused, merged worktrees of one repository (its main work tree), or
    of every repository overmind knows."""
    from overmind.isolation.lifecycle import collect as collect_worktrees

    return collect_worktrees(store or shared(), repo)


class Repository(NamedTuple):
    """What `gc` keeps to inside a repository: its main work tree and every work tree of it."""

    main: str
    folders: list[str]


def repository(directory: str) -> Repository | None:
    """The repository `directory` is in (from any of its work trees too); None outside one."""
    from overmind.isolation.git import work_trees

    found = work_trees(os.path.abspath(directory))
    return Repository(found[0], found) if found else None


def workplace(mission: Mission, store: Store | None = None) -> dict[str, Any]:
    """A just-started mission's worktree, branch and ports (empty without a worktree)."""
    if not mission.worktree:
        return {}
    from overmind import isolation

    return isolation.workplace(mission, store or shared())
