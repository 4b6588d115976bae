"""Live state of many units at once, read from cgroupfs instead of one D-Bus call per unit.

`systemctl show` asks the manager for every property of every unit (~2 ms a unit), so `ps`
over hundreds of missions would take seconds. Here one `list-units` call gives the states, one
directory walk finds each unit's cgroup, and a few small files give memory, CPU, the oldest
process (the main one) and its age. Property names follow systemd's, so callers treat both
sources alike. Units whose cgroup cannot be found are left to `systemctl show`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

from overmind.systemd import manager

UNIFIED_ROOTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
MEMORY_V1_ROOT = "/sys/fs/cgroup/memory"


def list_units(*patterns: str) -> dict[str, dict[str, str]]:
    """Loaded units matching any of `patterns`, with LoadState/ActiveState/SubState (one call)."""
    proc = manager.systemctl("list-units", "--all", "--output=json", "--", *patterns, check=False)
    try:
        rows = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return {}
    return {row["unit"]: {"Id": row["unit"], "LoadState": row["load"], "ActiveState": row["active"],
                          "SubState": row["sub"]} for row in rows}


def _unified_root() -> str:
    return next((root for root in UNIFIED_ROOTS if os.path.exists(f"{root}/cgroup.procs")), UNIFIED_ROOTS[-1])


def find_cgroups(units: set[str]) -> dict[str, str]:
    """Each unit's cgroup path (as systemd writes ControlGroup=), from one walk of the user's tree."""
    root = _unified_root()
    uid = os.getuid()
    base = f"{root}/user.slice/user-{uid}.slice/user@{uid}.service"
    found: dict[str, str] = {}
    for dirpath, dirnames, _ in os.walk(base):
        for name in [d for d in dirnames if d in units]:
            found[name] = f"{dirpath}/{name}"[len(root):]
        # Only slices hold further units.
        dirnames[:] = [d for d in dirnames if d.endswith(".slice")]
    return found


def _read(path: str) -> str | None:
    """A small kernel file's text. Plain os.read: `ps` over hundreds of missions reads thousands of
    these, and a Python file object costs more than the read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def usage(cgroups: list[str]) -> dict[str, tuple[int | None, int | None]]:
    """(memory in bytes, CPU time in µs) that each cgroup's processes use now; None where the
    cgroup (or its controller) is gone. The hierarchy is worked out once for all of them."""
    root = _unified_root()
    memory_v2 = bool(cgroups) and os.path.exists(f"{root}{cgroups[0]}/memory.current")
    found: dict[str, tuple[int | None, int | None]] = {}
    for cgroup in cgroups:
        memory = _read(f"{root}{cgroup}/memory.current" if memory_v2
                       else f"{MEMORY_V1_ROOT}{cgroup}/memory.usage_in_bytes")
        usec = next((int(line.split()[1]) for line in (_read(f"{root}{cgroup}/cpu.stat") or "").splitlines()
                     if line.startswith("usage_usec ")), None)
        found[cgroup] = (int(memory) if memory and memory.strip().isdigit() else None, usec)
    return found


def cpu_usage_usec(cgroup: str) -> int | None:
    """CPU time used by a cgroup's processes. cgroup2 keeps usage_usec in every cgroup's cpu.stat,
    even where systemd's accounting cannot (hybrid hierarchies with cpu and cpuacct mounted apart
    report CPUUsageNSec unset)."""
    for root in UNIFIED_ROOTS:
        for line in (_read(f"{root}{cgroup}/cpu.stat") or "").splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1])
    return None


def _oldest_process(cgroup: str, root: str) -> tuple[int, float] | None:
    """(pid, start time in seconds since boot) of the cgroup's oldest process."""
    ticks = os.sysconf("SC_CLK_TCK")
    oldest: tuple[int, float] | None = None
    for pid in (_read(f"{root}{cgroup}/cgroup.procs") or "").split():
        stat = _read(f"/proc/{pid}/stat")
        if stat is None:
            continue
        started = int(stat.rpartition(") ")[2].split()[19]) / ticks
        if oldest is None or started < oldest[1]:
            oldest = (int(pid), started)
    return oldest


def live_properties(pattern: str, started: Mapping[str, tuple[int, float]] | None = None,
                    also: Sequence[str] = ()) -> dict[str, dict[str, str]]:
    """Per unit: states for all, and MainPID, start time, memory and CPU for active ones. `started`
    gives some units' main process and start (epoch) already: their processes are not looked at.
    Units matching the `also` patterns come in the same call, with their states only."""
    started = started or {}
    units = list_units(pattern, *also)
    active = {name for name, props in units.items() if props["ActiveState"] in manager.ACTIVE_STATES
              and not any(fnmatchcase(name, extra) for extra in also)}
    cgroups = find_cgroups(active) if active else {}
    root = _unified_root()
    boot_now = time.clock_gettime(time.CLOCK_BOOTTIME)
    mono_now, wall_now = time.monotonic(), time.time()
    measured = usage(list(cgroups.values()))
    for name, cgroup in cgroups.items():
        props = units[name]
        props["ControlGroup"] = cgroup
        memory, usec = measured[cgroup]
        props["MemoryCurrent"] = str(memory) if memory is not None else ""
        props["CPUUsageNSec"] = str(usec * 1000) if usec is not None else ""
        known = started.get(name)
        oldest = (known[0], boot_now - (wall_now - known[1])) if known else _oldest_process(cgroup, root)
        if oldest is not None:
            age = boot_now - oldest[1]
            props["MainPID"] = str(oldest[0])
            props["ExecMainStartTimestampMonotonic"] = str(int((mono_now - age) * 1e6))
            props["ExecMainStartTimestamp"] = f"@{wall_now - age:.0f}"
    for name in active - cgroups.keys():
        units[name]["Incomplete"] = "yes"
    return units
