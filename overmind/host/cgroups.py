"""cgroup bookkeeping for the private host on hybrid (v1 + v2) and pure v2 machines."""

from __future__ import annotations

import os
import signal
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
# The unified tree carries the process tree; the v1 controllers must exist at boot or the
# manager accepts MemoryMax=/CPUQuota=/TasksMax= without enforcing them.
V1_HIERARCHIES = ("systemd", "memory", "pids", "cpu", "cpuacct")


def hierarchy_roots() -> list[Path]:
    """Every mounted hierarchy a user manager should be placed in."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():  # pure cgroup v2
        return [CGROUP_ROOT]
    roots = [CGROUP_ROOT / "unified"] if (CGROUP_ROOT / "unified").is_dir() else []
    roots += [CGROUP_ROOT / h for h in V1_HIERARCHIES if (CGROUP_ROOT / h / "cgroup.procs").exists()]
    return roots


def create(relative: str, uid: int, gid: int) -> list[Path]:
    paths = []
    for root in hierarchy_roots():
        path = root / relative
        path.mkdir(parents=True, exist_ok=True)
        for entry in [path, *(path / f for f in ("cgroup.procs", "tasks", "cgroup.subtree_control"))]:
            if entry.exists():
                os.chown(entry, uid, gid)
        paths.append(path)
    return paths


def pids_in(relative: str) -> set[int]:
    pids: set[int] = set()
    for root in hierarchy_roots():
        for procs in (root / relative).rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except OSError:
                continue
    return pids


def kill_all(relative: str) -> None:
    for pid in pids_in(relative):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def remove(relative: str) -> None:
    """Remove the cgroup trees, deepest first; busy ones (a process still exiting) are left."""
    for root in hierarchy_roots():
        top = root / relative
        if not top.is_dir():
            continue
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
