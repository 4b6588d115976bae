"""A memory's scope: the repository a directory belongs to, the same on every clone of it.

A repository is named by its normalised `origin` URL (`github.com/org/repo` whether cloned over
ssh or https, with or without `.git` or credentials), or by its root directory when it has no
remote; a directory outside any repository is in the global scope only.
"""

from __future__ import annotations

import os
import re
import subprocess

from overmind.akasha.model import GLOBAL

_SCP_LIKE = re.compile(r"(?:[^@/]+@)?([^:/]+):(?!//)(.+)")  # git@host:org/repo.git


def normalise_remote(url: str) -> str:
    """'git@GitHub.com:Org/Repo.git', 'https://user:tok@github.com/Org/Repo/' -> 'github.com/Org/Repo'."""
    url = url.strip()
    match = re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/]*@)?([^/]+)(/.*)?", url)
    if match:
        host, path = match[1], match[2] or ""
    elif (scp := _SCP_LIKE.fullmatch(url)) and not url.startswith("/"):
        host, path = scp[1], "/" + scp[2]
    else:
        return os.path.normpath(url)  # a local path used as a remote
    host = host.lower().removesuffix(":22").removesuffix(":443")
    path = re.sub(r"/+", "/", path).rstrip("/").removesuffix(".git").rstrip("/")
    return host + path


def _git(cwd: str, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", cwd, *args], capture_output=True, text=True, timeout=10,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None


def scope_of(directory: str) -> str:
    """The scope of work done in `directory`: its repository, or global outside any."""
    directory = os.path.abspath(directory)
    if _git(directory, "rev-parse", "--show-toplevel") is None:
        return GLOBAL
    # A worktree (an isolated mission's) belongs to its main repository's scope.
    common = _git(directory, "rev-parse", "--path-format=absolute", "--git-common-dir") or ""
    root = os.path.dirname(common) if os.path.basename(common) == ".git" else \
        _git(directory, "rev-parse", "--show-toplevel") or directory
    remote = _git(root, "remote", "get-url", "origin") or _first_remote(root)
    return normalise_remote(remote) if remote else root


def _first_remote(root: str) -> str | None:
    names = _git(root, "remote")
    if not names:
        return None
    return _git(root, "remote", "get-url", names.splitlines()[0])


def resolve_scope(option: str | None, directory: str) -> str:
    """`--scope` as given: 'global', 'all' (None: every scope), a directory (its repository),
    or a scope name as `ls` shows it. Without the option: the directory's own scope."""
    if option is None or option == ".":
        return scope_of(directory)
    if option in (GLOBAL, "all"):
        return option
    candidate = os.path.expanduser(option)
    if os.path.isdir(candidate):
        return scope_of(candidate)
    if "\0" in option or not option.strip():
        from overmind.akasha import AkashaError

        raise AkashaError(f"invalid scope {option!r}")
    return normalise_remote(option) if "/" in option and not option.startswith("/") else option
