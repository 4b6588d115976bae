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
    """Every process in the cgroup and below it, in any hierarchy (cgroups may go meanwhile)."""
    pids: set[int] = set()
    for root in hierarchy_roots():
        for dirpath, _dirs, files in os.walk(root / relative):
            if "cgroup.procs" not in files:
                continue
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as procs:
                    pids.update(int(p) for p in procs.read().split())
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


def units_below(relative: str) -> dict[str, tuple[str, set[int]]]:
    """The units (service and scope cgroups) below `relative` that still hold processes, by unit
    name: their cgroup path and every process in it. Read from the tree that carries processes."""
    roots = hierarchy_roots()
    if not roots:
        return {}
    root = roots[0]
    top = root / relative
    found: dict[str, tuple[str, set[int]]] = {}
    for dirpath, dirs, _files in os.walk(top):
        name = os.path.basename(dirpath)
        if dirpath == str(top) or not name.endswith((".service", ".scope")):
            continue
        dirs[:] = []  # a unit's own sub-cgroups are its own
        path = os.path.relpath(dirpath, root)
        held = pids_in(path)
        if held:
            found[name] = (path, held)
    return found
