"""What happens to a worktree after its missions: merging its branch, removing it (never with
unsaved work), and collecting the ones nobody needs.

Stopping, killing or a crash of a mission never comes here: only `worktree rm` and
`gc --worktrees` remove a worktree, and neither ever throws work away.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from overmind import names
from overmind.errors import OvermindError
from overmind.isolation import env, git, keeping, naming, service_units
from overmind.isolation.environment import busy, contract_or_none, unit_states, users
from overmind.isolation.model import Contract
from overmind.isolation.worktrees import forget_setup
from overmind.store import Store
from overmind.store.worktrees import WorktreeRecord, WorktreeStore
from overmind.systemd import manager


def record_of(store: Store, name: str) -> WorktreeRecord:
    record = WorktreeStore(store).get(name)
    if record is None:
        raise OvermindError(f"no worktree named '{name}'", hint="see 'overmind worktree ls'")
    return record


# -- merge ------------------------------------------------------------------------------

@dataclass
class Merged:
    name: str
    branch: str
    into: str
    commit: str | None = None  # the merge commit; None when nothing was merged
    conflicts: list[str] = field(default_factory=list)
    already: bool = False
    uncommitted: int = 0  # changes in the worktree that a merge of its branch does not carry

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "branch": self.branch, "into": self.into, "merged": self.commit is not None,
                "already_merged": self.already, "commit": self.commit, "conflicts": self.conflicts,
                "uncommitted": self.uncommitted}


def merge(record: WorktreeRecord, into: str | None) -> Merged:
    """Merge the worktree's branch into `into` (default: the branch it started from). A merge
    with conflicts changes nothing anywhere; it reports the conflicting files."""
    target = into or record.base
    if target.startswith("-") or not git.branch_exists(target, record.repo):
        raise OvermindError(f"no branch named {target!r} to merge into",
                            hint="give one with --into BRANCH" if into is None else "git branch --list")
    work = keeping.state(record, contract_or_none(record.repo))
    result = Merged(record.name, record.branch, into=target, uncommitted=len(work.changes))
    source = f"refs/heads/{record.branch}"
    if git.git(["merge-base", "--is-ancestor", source, f"refs/heads/{target}"], record.repo,
               check=False).returncode == 0:
        result.already = True
        return result
    trial = git.git(["merge-tree", "--write-tree", "--name-only", "--no-messages", f"refs/heads/{target}", source],
                    record.repo, check=False)
    lines = trial.stdout.split("\n")
    if trial.returncode == 1:
        result.conflicts = [line for line in lines[1:] if line]
        return result
    if trial.returncode != 0:
        raise git.GitError(f"git merge-tree failed: {trial.stderr.strip() or trial.returncode}")
    message = f"Merge {record.branch} (overmind worktree {record.name}) into {target}"
    checkout = _checked_out_at(record.repo, target)
    if checkout is None:  # nobody has the branch checked out: make the commit, move the branch
        commit = git.git(["commit-tree", lines[0], "-p", f"refs/heads/{target}", "-p", source, "-m", message],
                         record.repo, env=keeping.IDENTITY).stdout.strip()
        old = git.output(["rev-parse", f"refs/heads/{target}"], record.repo)
        git.git(["update-ref", f"refs/heads/{target}", commit, old], record.repo)
    else:
        if git.output(["status", "--porcelain", "--untracked-files=no"], checkout):
            raise OvermindError(f"{target} is checked out at {checkout} with uncommitted changes",
                                hint="commit or stash them there first; nothing was merged")
        git.git(["merge", "--no-ff", "--no-edit", "-m", message, source], checkout)
        commit = git.output(["rev-parse", "HEAD"], checkout)
    result.commit = commit
    return result


def _checked_out_at(repo: str, branch: str) -> str | None:
    listing = git.output(["worktree", "list", "--porcelain"], repo)
    path = None
    for line in listing.split("\n"):
        if line.startswith("worktree "):
            path = line.removeprefix("worktree ")
        elif line == f"branch refs/heads/{branch}":
            return path
    return None


# -- remove -----------------------------------------------------------------------------

@dataclass
class Removed:
    name: str
    saved: str | None = None  # the ref the work was saved under
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "saved": self.saved, "notes": self.notes}


def remove(store: Store, record: WorktreeRecord, force: bool) -> Removed:
    """Remove a worktree whose work is committed and merged; with force, first save its work
    under a ref it names. Never while a mission or service still works in it."""
    states = unit_states(record.name)
    _refuse_if_in_use(store, record, states)
    contract = contract_or_none(record.repo)
    result = Removed(record.name)
    if os.path.isdir(record.path):
        work = keeping.state(record, contract)
        pending = keeping.unmerged(record, work)
        if (work.dirty or pending) and not force:
            what = [f"{len(work.changes)} uncommitted change{'s' * (len(work.changes) != 1)}"] * work.dirty + \
                   [f"{pending} commit{'s' * (pending != 1)} not in {record.base}"] * bool(pending)
            advice = "commit and merge it" if work.dirty else f"merge it (overmind worktree merge {record.name})"
            raise OvermindError(f"worktree '{record.name}' has {' and '.join(what)}",
                                hint=f"{advice}, or --force to save the work as a ref and remove the worktree")
        if work.dirty or pending:
            result.saved = keeping.save(record, contract, work)
        _teardown(store, record, contract, force, result)
        _unlink_links(record, contract)
        with git.worktree_lock(record.repo):
            git.git(["worktree", "remove", "--force", "--force", record.path], record.repo)
    else:
        with git.worktree_lock(record.repo):
            git.git(["worktree", "prune"], record.repo, check=False)
        result.notes.append(f"its folder {record.path} was already gone")
    if git.branch_exists(record.branch, record.repo):
        if result.saved is None and git.git(["merge-base", "--is-ancestor", f"refs/heads/{record.branch}",
                                             keeping.base_ref(record)], record.repo, check=False).returncode != 0:
            result.notes.append(f"kept the branch {record.branch}: it has commits that {record.base} has not")
        else:
            git.git(["branch", "-D", record.branch], record.repo)
    _remove_volumes(record, result)
    ended = [unit for unit, props in states.items() if props.get("ActiveState") == "failed"]
    if ended:  # a service that failed earlier: nothing of it is left but its unit
        manager.systemctl("reset-failed", *ended, check=False)
    from overmind.isolation.service_files import units_of
    from overmind.systemd import unitfiles

    unitfiles.remove(units_of(record.name))  # a persisted mission's services: gone with their worktree
    forget_setup(record.name)
    WorktreeStore(store).remove(record.name)
    return result


def _refuse_if_in_use(store: Store, record: WorktreeRecord, states: dict[str, dict[str, str]]) -> None:
    """A mission working in the worktree, or one being started with its services, keeps it. Its
    services alone, needed by nothing (they stop by themselves when unneeded), are stopped here."""
    missions, services = busy(store, record.name, states)
    if services and not missions:
        missions = [names.name_from_unit(unit) for unit in users(states)]  # missions, or holds of runs
        if not missions:
            manager.systemctl("stop", *services, check=False)
            manager.systemctl("reset-failed", *services, check=False)
            return
    if missions or services:
        raise OvermindError(f"worktree '{record.name}' is in use by {', '.join([*missions, *services])}",
                            hint=f"stop it first: overmind stop {missions[0]}")


def _teardown(store: Store, record: WorktreeRecord, contract: Contract | None, force: bool, result: Removed) -> None:
    """The contract's teardown commands, in the worktree, with its ports; output to stderr."""
    if contract is None or not contract.teardown:
        return
    variables = {**os.environ, **env.mission(contract, WorktreeStore(store).leases(record.name), record)}
    for command in contract.teardown:
        try:
            proc = subprocess.run(["/bin/sh", "-c", command], cwd=record.path, env=variables, stdin=subprocess.DEVNULL,
                                  stdout=sys.stderr, stderr=sys.stderr, timeout=contract.teardown_timeout)
            failure = f"exit code {proc.returncode}" if proc.returncode else None
        except subprocess.TimeoutExpired:
            failure = f"timed out after {contract.teardown_timeout:g}s"
        if failure:
            if not force:
                raise OvermindError(f"teardown of worktree '{record.name}' failed ({failure}): {command}",
                                    hint="fix it and try again, or --force to remove the worktree anyway")
            result.notes.append(f"teardown failed ({failure}): {command}")
            return


def _unlink_links(record: WorktreeRecord, contract: Contract | None) -> None:
    """Symlinks made by `link` go first, so nothing below the repository's real folders is touched."""
    for relative in contract.link if contract else ():
        path = os.path.join(record.path, relative)
        if os.path.islink(path):
            os.unlink(path)


def _remove_volumes(record: WorktreeRecord, result: Removed) -> None:
    """The worktree's Podman volumes (kept while the worktree lives; the containers are gone)."""
    try:
        podman = service_units.podman()
    except OvermindError:
        return
    label = naming.LABEL
    listed = subprocess.run([podman, "volume", "ls", "--quiet", f"--filter=label={label}.worktree={record.name}",
                             f"--filter=label={label}.prefix={names.unit_prefix()}"],
                            capture_output=True, text=True, check=False)
    volumes = listed.stdout.split()
    if volumes:
        removed = subprocess.run([podman, "volume", "rm", "--force", *volumes], capture_output=True, text=True,
                                 check=False)
        if removed.returncode != 0:
            result.notes.append(f"could not remove volumes {', '.join(volumes)}: {removed.stderr.strip()}")


# -- gc ---------------------------------------------------------------------------------

@dataclass
class Collected:
    removed: list[Removed]
    kept: list[tuple[str, str]]  # name, why

    def to_json(self) -> dict[str, Any]:
        return {"removed": [r.to_json() for r in self.removed],
                "kept": [{"name": name, "reason": reason} for name, reason in self.kept]}


def collect(store: Store, repo: str | None = None) -> Collected:
    """Remove worktrees nobody works in whose work is all merged, and forget those whose folder
    is gone (of one repository, given its main work tree, or of all); returns what went and what
    was kept (with why)."""
    removed: list[Removed] = []
    kept: list[tuple[str, str]] = []
    for record in WorktreeStore(store).all():
        if repo is not None and record.repo != repo:
            continue
        if os.path.isdir(record.path):
            if any(busy(store, record.name)):
                continue
            work = keeping.state(record, contract_or_none(record.repo))
            pending = keeping.unmerged(record, work)
            if work.dirty or pending:
                kept.append((record.name, f"{len(work.changes)} uncommitted, {pending} unmerged"))
                continue
        try:
            removed.append(remove(store, record, force=False))
        except OvermindError as error:
            kept.append((record.name, error.message))
    return Collected(removed, kept)
