"""Where worktrees live, and the checks that keep every name and path inside their folders.

Worktrees live in `<repository>/.overmind/worktrees/<name>`, on the branch `overmind/<name>`.
A name is one safe path segment and a valid branch name; the folder must not be a symlink
(it would send worktrees, and later deletions, elsewhere); paths from `.overmind.yml` are
relative, without `..`, and are resolved again before anything is written through them.
"""

from __future__ import annotations

import os

from overmind.errors import OvermindError
from overmind.names import validate_worktree_name

WORKTREES_DIR = os.path.join(".overmind", "worktrees")
BRANCH_PREFIX = "overmind/"


check_worktree_name = validate_worktree_name


def branch_of(name: str) -> str:
    return BRANCH_PREFIX + check_worktree_name(name)


def worktrees_dir(repo: str) -> str:
    """`<repo>/.overmind/worktrees`, created if needed, refused if any part of it is a symlink."""
    folder = repo
    for part in (".overmind", "worktrees"):
        folder = os.path.join(folder, part)
        if os.path.islink(folder):
            raise OvermindError(f"{folder} is a symlink; worktrees must stay inside the repository",
                                hint="remove the symlink")
        os.makedirs(folder, exist_ok=True)
    return folder


def worktree_path(repo: str, name: str) -> str:
    path = os.path.join(worktrees_dir(repo), check_worktree_name(name))
    if os.path.dirname(os.path.realpath(path)) != os.path.realpath(worktrees_dir(repo)):
        raise OvermindError(f"worktree {name!r} would not be inside {worktrees_dir(repo)}")
    return path


def is_inside(path: str, folder: str) -> bool:
    """True if `path` (symlinks resolved) is `folder` or below it."""
    real, base = os.path.realpath(path), os.path.realpath(folder)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def check_relative(path: str, globs: bool) -> str | None:
    """Why a path from `.overmind.yml` is refused, or None: it must stay inside the repository."""
    if not path or "\0" in path:
        return "an empty path"
    if os.path.isabs(path) or path.startswith("~"):
        return f"{path!r} must be relative to the repository"
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        return f"{path!r} must not contain '..'"
    if not parts:
        return f"{path!r} names the repository itself"
    if parts[0] in (".git", ".overmind"):
        return f"{path!r} is overmind's or git's own folder"
    if not globs and any(char in path for char in "*?["):
        return f"{path!r}: wildcards are only for copy"
    return None


def inside_destination(worktree: str, relative: str) -> str:
    """The absolute path of `relative` in the worktree, refused if a symlink in the worktree
    would take a write to it elsewhere."""
    destination = os.path.join(worktree, relative)
    if not is_inside(os.path.dirname(destination), worktree):
        raise OvermindError(f"{relative!r} leads outside the worktree {worktree} (through a symlink)")
    return destination
