"""The work in a worktree: what is uncommitted, what is not merged, and saving it whole.

What overmind itself put into the worktree (copied and linked files, volume folders) is not
the agent's work: it is left out of "dirty" and out of saves.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass

from overmind.isolation import git
from overmind.isolation.model import Contract
from overmind.store.worktrees import WorktreeRecord

SAVED_REFS = "refs/overmind/saved"
# Commits overmind makes on the user's behalf (saves, merges into branches nobody has checked out).
IDENTITY = {"GIT_AUTHOR_NAME": "overmind", "GIT_AUTHOR_EMAIL": "overmind@localhost",
            "GIT_COMMITTER_NAME": "overmind", "GIT_COMMITTER_EMAIL": "overmind@localhost"}


@dataclass(frozen=True)
class WorkState:
    changes: list[str]  # uncommitted changes, as `git status --short` shows them
    ahead: int  # commits checked out in the worktree that its base does not have
    behind: int  # commits of the base since the worktree started
    base: str  # what ahead/behind compare with
    head: str
    branch_tip: str | None  # the worktree's branch (the agent may have checked out something else)

    @property
    def dirty(self) -> bool:
        return bool(self.changes)


def environment_excludes(contract: Contract | None) -> list[str]:
    return [f":(exclude,literal){path.rstrip('/')}" for path in (contract.environment_paths if contract else [])
            if not any(char in path for char in "*?[")] + \
        [f":(exclude,glob){path}" for path in (contract.copy if contract else []) if any(c in path for c in "*?[")]


def base_ref(record: WorktreeRecord) -> str:
    """The base as named while it still exists (a branch moves on), else the commit it was."""
    proc = git.git(["rev-parse", "--verify", "--quiet", f"refs/heads/{record.base}"], record.repo, check=False)
    return f"refs/heads/{record.base}" if proc.returncode == 0 else record.base_commit


def state(record: WorktreeRecord, contract: Contract | None) -> WorkState:
    path = record.path
    status = git.git(["status", "--porcelain=v1", "-z", "--untracked-files=normal", "--", ".",
                      *environment_excludes(contract)], path).stdout
    changes: list[str] = []
    entries = iter(status.split("\0"))
    for entry in entries:
        if not entry:
            continue
        changes.append(f"{entry[:2]} {entry[3:]}")
        if entry[0] in "RC":
            next(entries, None)  # the name it had before
    base = base_ref(record)
    head = git.output(["rev-parse", "HEAD"], path)
    counts = git.output(["rev-list", "--left-right", "--count", f"{base}...{head}"], path).split()
    tip = git.git(["rev-parse", "--verify", "--quiet", f"refs/heads/{record.branch}"], path, check=False)
    return WorkState(changes=changes, ahead=int(counts[1]), behind=int(counts[0]), base=base, head=head,
                     branch_tip=tip.stdout.strip() if tip.returncode == 0 else None)


def unmerged(record: WorktreeRecord, work: WorkState) -> int:
    """Commits of the worktree (checked out, or on its branch) that its base does not have."""
    if work.branch_tip is None or work.branch_tip == work.head:
        return work.ahead
    branch_only = git.output(["rev-list", "--count", f"{work.base}..{work.branch_tip}"], record.path)
    return work.ahead + int(branch_only)


def snapshot(record: WorktreeRecord, contract: Contract | None) -> str:
    """A tree of everything in the worktree, committed or not (untracked files too, ignored ones
    not), built in a scratch index: the worktree's own index is not touched."""
    with tempfile.TemporaryDirectory(prefix="overmind-snapshot-") as scratch:
        index = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
        git.git(["read-tree", "HEAD"], record.path, env=index)
        git.git(["add", "--all", "--", ".", *environment_excludes(contract)], record.path, env=index)
        return git.git(["write-tree"], record.path, env=index).stdout.strip()


def save(record: WorktreeRecord, contract: Contract | None, work: WorkState) -> str:
    """All of the worktree's work as a commit under refs/overmind/saved/<name>/<time>; returns the ref."""
    parents = ["-p", work.head]
    if work.branch_tip and work.branch_tip != work.head:
        parents += ["-p", work.branch_tip]
    message = f"overmind: work of worktree {record.name} ({record.branch}), saved before it was removed"
    commit = git.git(["commit-tree", snapshot(record, contract), *parents, "-m", message], record.path,
                     env=IDENTITY).stdout.strip()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 100):
        ref = f"{SAVED_REFS}/{record.name}/{stamp}" + (f"-{attempt}" if attempt > 1 else "")
        # the all-zero old value: only if no save has this name yet (an earlier save is never overwritten)
        if git.git(["update-ref", ref, commit, "0" * len(commit)], record.path, check=False).returncode == 0:
            return ref
    raise git.GitError(f"could not save the work of worktree {record.name} under {SAVED_REFS}")


def compared(record: WorktreeRecord, contract: Contract | None) -> tuple[str, str]:
    """(where the worktree forked from its base, a tree of everything in it now): what its diff compares."""
    return git.output(["merge-base", base_ref(record), "HEAD"], record.path), snapshot(record, contract)


def diff(record: WorktreeRecord, contract: Contract | None, stat: bool, color: bool) -> str:
    """Everything the worktree changed since it forked from its base, uncommitted and untracked files included."""
    fork, tree = compared(record, contract)
    options = ["--stat"] if stat else []
    return git.git(["diff", f"--color={'always' if color else 'never'}", *options, fork, tree], record.path).stdout
