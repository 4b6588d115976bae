"""The git command line, and finding the repository a directory belongs to.

The CLI rather than GitPython: GitPython takes ~50 ms to import and has no worktree API of its
own (it runs `git worktree` too), while each git call here costs 2-5 ms.
"""

from __future__ import annotations

import os
import subprocess
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from overmind.errors import OvermindError

# The user's pager, editor and prompts have no place in a command run for them. No optional locks:
# reading a worktree's state (`git status`) must not write its index, which would race the agent's
# own git commands ("index.lock exists") and wake whoever watches the worktree for changes.
_QUIET = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_EDITOR": "true", "LC_ALL": "C",
          "GIT_OPTIONAL_LOCKS": "0"}


class GitError(OvermindError):
    pass


def git(args: Sequence[str], cwd: str, check: bool = True, env: dict[str, str] | None = None,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, input=input_text,
                              env={**os.environ, **_QUIET, **(env or {})},
                              stdin=None if input_text is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError("git is not installed", hint="apt-get install git") from None
    if check and proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit code {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {detail.removeprefix('fatal: ')}")
    return proc


def output(args: Sequence[str], cwd: str) -> str:
    return git(args, cwd).stdout.strip()


def read(args: Sequence[str], cwd: str) -> str:
    """What a reading git command prints, decoded leniently: file names, contents and commit
    messages are anyone's bytes, and one that is not UTF-8 must not make the whole read fail."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, env={**os.environ, **_QUIET},
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError("git is not installed", hint="apt-get install git") from None
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace").strip()
        detail = stderr.splitlines()[-1] if stderr else f"exit code {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {detail.removeprefix('fatal: ')}")
    return proc.stdout.decode(errors="replace")


def inside_work_tree(directory: str) -> bool:
    """Cheap: is there a `.git` in the directory or above it? (no process started)"""
    current = os.path.abspath(directory)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return True
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent


class Checkout(NamedTuple):
    """Where a directory sits: its repository's main work tree and the work tree it is in."""

    repo: str  # the main work tree: worktrees of every mission live below it
    toplevel: str  # the work tree the directory is in (the repo, or one of its worktrees)
    common_dir: str
    head: str  # the commit checked out there
    branch: str | None  # refs/heads/... checked out there; None when detached


def work_trees(directory: str) -> list[str] | None:
    """Every work tree of the repository `directory` is in, its main work tree first (from any of
    them, wherever they are); None outside a repository."""
    if not inside_work_tree(directory):
        return None
    proc = git(["worktree", "list", "--porcelain"], directory, check=False)
    found = [line.removeprefix("worktree ") for line in proc.stdout.split("\n") if line.startswith("worktree ")]
    return found if proc.returncode == 0 and found else None


def checkout_of(directory: str) -> Checkout:
    # (--symbolic-full-name applies to the revisions after it: HEAD's commit comes first)
    proc = git(["rev-parse", "--path-format=absolute", "--show-toplevel", "--git-common-dir", "HEAD",
                "--symbolic-full-name", "HEAD"], directory, check=False)
    lines = proc.stdout.split("\n")
    if proc.returncode != 0 or len(lines) < 4:
        stderr = proc.stderr
        if "unknown revision" in stderr or "ambiguous argument 'HEAD'" in stderr:
            raise GitError(f"the repository at {directory} has no commit yet", hint="commit something first")
        raise GitError(f"{directory} is not inside a git work tree",
                       hint="run it inside a repository, or without --worktree")
    toplevel, common_dir, head, symbolic = lines[:4]
    if os.path.basename(common_dir) != ".git":
        raise GitError(f"{directory} belongs to a repository without a main work tree ({common_dir})")
    return Checkout(repo=os.path.dirname(common_dir), toplevel=toplevel, common_dir=common_dir, head=head,
                    branch=symbolic if symbolic.startswith("refs/heads/") else None)


def resolve_commit(ref: str, cwd: str) -> str:
    if ref.startswith("-") or "\0" in ref:
        raise GitError(f"invalid base {ref!r}")
    proc = git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], cwd, check=False)
    if proc.returncode != 0:
        raise GitError(f"unknown base {ref!r}: no such branch, tag or commit", hint="git branch --list")
    return proc.stdout.strip()


def branch_exists(branch: str, cwd: str) -> bool:
    return git(["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], cwd, check=False).returncode == 0


def exclude_locally(common_dir: str, pattern: str) -> None:
    """Make git ignore `pattern` in this clone only (`info/exclude`), never in the user's .gitignore."""
    info = os.path.join(common_dir, "info")
    exclude = os.path.join(info, "exclude")
    try:
        with open(exclude, encoding="utf-8") as f:
            if pattern in (line.strip() for line in f):
                return
    except FileNotFoundError:
        pass
    os.makedirs(info, exist_ok=True)
    with open(exclude, "a", encoding="utf-8") as f:
        f.write(f"\n# overmind's mission worktrees\n{pattern}\n")


@contextmanager
def worktree_lock(repo: str) -> Iterator[None]:
    """One worktree made or removed at a time per repository: run side by side, git reads
    another's half-written admin folder ("failed to read .git/worktrees/x/commondir"), and a run
    could take a worktree another is still making for one deleted by hand."""
    from overmind.locks import exclusive

    with exclusive(f"git-worktrees-{zlib.crc32(repo.encode()):08x}", timeout=120):
        yield
