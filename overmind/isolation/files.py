"""`copy` and `link`: untracked files of the repository (`.env`, local config, dependencies)
brought into a new worktree. Nothing already in the worktree is overwritten, nothing outside
the repository is read, and nothing is written outside the worktree."""

from __future__ import annotations

import glob
import os
import shutil

from overmind.errors import OvermindError
from overmind.isolation.model import Contract
from overmind.isolation.paths import inside_destination, is_inside

_SKIPPED_ROOTS = (".git", ".overmind")


def populate(repo: str, worktree: str, contract: Contract) -> list[str]:
    """Copy and link what the contract names; returns notes on what was left out, and why."""
    notes: list[str] = []
    for pattern in contract.copy:
        matches = sorted(glob.glob(pattern, root_dir=repo, recursive=True, include_hidden=True))
        if not matches:
            notes.append(f"copy: nothing matches {pattern!r}")
        for relative in matches:
            notes += _copy(repo, worktree, os.path.normpath(relative))
    for relative in contract.link:
        notes += _link(repo, worktree, os.path.normpath(relative))
    return notes


def _source(repo: str, relative: str, what: str) -> tuple[str | None, list[str]]:
    if relative.split(os.sep, 1)[0] in _SKIPPED_ROOTS:
        return None, []
    source = os.path.join(repo, relative)
    if not os.path.lexists(source):
        return None, [f"{what}: {relative} does not exist in {repo}"]
    if not is_inside(source, repo):
        return None, [f"{what}: {relative} leads outside the repository; left out"]
    return source, []


def _destination(worktree: str, relative: str, what: str) -> tuple[str | None, list[str]]:
    try:
        destination = inside_destination(worktree, relative)
    except OvermindError as error:
        return None, [f"{what}: {error.message}; left out"]
    if os.path.lexists(destination):
        return None, [f"{what}: {relative} is already in the worktree; kept as it is"]
    return destination, []


def _places(repo: str, worktree: str, relative: str, what: str) -> tuple[str, str] | list[str]:
    """Where to take `relative` from and put it to, or the notes on why it is left out."""
    source, notes = _source(repo, relative, what)
    if source is None:
        return notes
    destination, notes = _destination(worktree, relative, what)
    if destination is None:
        return notes
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    return source, destination


def _copy(repo: str, worktree: str, relative: str) -> list[str]:
    places = _places(repo, worktree, relative, "copy")
    if isinstance(places, list):
        return places
    source, destination = places
    if os.path.isdir(source) and not os.path.islink(source):
        shutil.copytree(source, destination, symlinks=True)
    else:
        shutil.copy2(source, destination, follow_symlinks=False)
    return []


def _link(repo: str, worktree: str, relative: str) -> list[str]:
    places = _places(repo, worktree, relative, "link")
    if isinstance(places, list):
        return places
    source, destination = places
    os.symlink(os.path.abspath(source), destination)
    return []
