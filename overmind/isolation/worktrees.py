"""Creating a mission's worktree, or finding the one it already has.

A worktree is registered in the store before git creates it (the name is claimed atomically,
so two runs never share one by accident), and a worktree git has but the store lost (a crash
between the two) is adopted rather than recreated: nothing in it is ever thrown away here.
"""

from __future__ import annotations

import os
import sqlite3
import time

from overmind.errors import OvermindError
from overmind.isolation import git, ports
from overmind.isolation.model import Contract
from overmind.isolation.paths import branch_of, worktree_path
from overmind.store import Store, state_dir
from overmind.store.worktrees import WorktreeRecord, WorktreeStore

EXCLUDE_PATTERN = "/.overmind/"


class WorktreeTaken(OvermindError):
    """The name belongs to another repository's worktree (a generated name then tries another)."""


def claim(checkout: git.Checkout, name: str, base: str | None, records: WorktreeStore) -> tuple[WorktreeRecord, bool]:
    """The worktree `name` of this repository: the one it has, or a new record claiming the name
    (True), which `materialize` then makes on disk; ports can be leased in between. Both under
    `git.worktree_lock`: a record without its folder is then one deleted by hand, not one
    another run is making."""
    existing = records.get(name)
    if existing is not None:
        if existing.repo != checkout.repo:
            raise WorktreeTaken(f"the worktree {name!r} belongs to another repository ({existing.repo})",
                                hint="choose another --name, or remove it there with 'overmind worktree rm'")
        if os.path.isdir(existing.path):
            if base is not None and git.resolve_commit(base, checkout.toplevel) != existing.base_commit:
                raise OvermindError(f"the worktree {name!r} already exists (from {existing.base}); --base cannot "
                                    "move it", hint=f"overmind worktree rm {name}, or run without --base")
            return existing, False
        records.remove(name)  # deleted by hand: its leases go with the record
    path = worktree_path(checkout.repo, name)
    if base is None:
        commit = checkout.head
        base = checkout.branch.removeprefix("refs/heads/") if checkout.branch else commit
    else:
        commit = git.resolve_commit(base, checkout.toplevel)
    record = WorktreeRecord(name=name, repo=checkout.repo, path=path, branch=branch_of(name), base=base,
                            base_commit=commit, created_at=time.time())
    try:
        records.add(record)
    except sqlite3.IntegrityError:
        raise WorktreeTaken(f"a worktree named {name!r} is being created by another run") from None
    forget_setup(name)  # of an earlier worktree of this name
    return record, True


def setup_marker(name: str) -> str:
    """The file the setup unit writes once the worktree's setup has succeeded (it runs once)."""
    return str(state_dir() / "worktrees" / f"{name}.setup-done")


def setup_done(name: str) -> bool:
    return os.path.exists(setup_marker(name))


def forget_setup(name: str) -> None:
    try:
        os.unlink(setup_marker(name))
    except FileNotFoundError:
        pass


def materialize(checkout: git.Checkout, record: WorktreeRecord, records: WorktreeStore) -> None:
    """`git worktree add` for a claimed record (or adopting what git already has there); if that
    fails, the claim goes."""
    git.exclude_locally(checkout.common_dir, EXCLUDE_PATTERN)
    try:
        if os.path.lexists(record.path):
            _adopt(record.path, record.branch)
        else:
            # checkout.workers: the files are written by as many workers as there are cores
            made = git.git(["-c", "checkout.workers=0", "worktree", "add", "--quiet", "-b", record.branch,
                            record.path, record.base_commit], checkout.repo, check=False)
            if made.returncode != 0 and f"'{record.branch}' already exists" in made.stderr:
                raise OvermindError(f"the branch {record.branch} already exists, without a worktree",
                                    hint=f"choose another --name, or delete it (git branch -D {record.branch})")
            if made.returncode != 0:
                detail = made.stderr.strip().splitlines()[-1] if made.stderr.strip() else f"exit {made.returncode}"
                raise git.GitError(f"git worktree add failed: {detail.removeprefix('fatal: ')}")
    except BaseException:
        records.remove(record.name)
        raise


def acquire(checkout: git.Checkout, name: str, base: str | None, records: WorktreeStore) -> tuple[WorktreeRecord, bool]:
    """The worktree `name` of this repository, created if needed; True if it was just created."""
    with git.worktree_lock(checkout.repo):
        record, fresh = claim(checkout, name, base, records)
        if fresh:
            materialize(checkout, record, records)
    return record, fresh


def _adopt(path: str, branch: str) -> None:
    """A worktree git made for this name before the store knew of it; anything else is refused."""
    proc = git.git(["rev-parse", "--show-toplevel", "--symbolic-full-name", "HEAD"], path, check=False)
    lines = proc.stdout.split()
    if proc.returncode != 0 or len(lines) != 2 or os.path.realpath(lines[0]) != os.path.realpath(path) \
            or lines[1] != f"refs/heads/{branch}":
        raise OvermindError(f"{path} already exists and is not the worktree of {branch}",
                            hint="move it away, or choose another --name")


def provide(checkout: git.Checkout, contract: Contract, name: str, base: str | None, store: Store,
            in_use: bool = False) -> tuple[WorktreeRecord, dict[str, int], list[str]]:
    """The worktree `name` with its leased ports, created (and its files copied and linked) if new."""
    records = WorktreeStore(store)
    record, fresh = acquire(checkout, name, base, records)
    leases = ports.lease(records, record.name, contract.port_variables, contract.port_range, in_use)
    if not fresh or not (contract.copy or contract.link):
        return record, leases, []
    from overmind.isolation import files

    notes = files.populate(checkout.repo, record.path, contract)
    return record, leases, notes
