"""Is the state directory's file system full, and which one is it: for one clear line instead
of SQLite's "database or disk is full"."""

from __future__ import annotations

import os
from pathlib import Path

LOW = 64 * 1024  # bytes: less than this free, and SQLite cannot even map its shared memory


def filesystem(path: Path) -> str:
    """`tmpfs at /mnt/state (1.0 MiB)`: the mount holding `path`, as /proc/self/mountinfo says."""
    target = os.path.realpath(path)
    best, kind = "/", "?"
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                mount_point = fields[4].replace("\\040", " ")
                separator = fields.index("-")
                inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
                if inside and len(mount_point) >= len(best):
                    best, kind = mount_point, fields[separator + 1]
    except (OSError, ValueError, IndexError):
        pass
    try:
        stat = os.statvfs(target)
        size = f" ({_size(stat.f_blocks * stat.f_frsize)}, {_size(stat.f_bavail * stat.f_frsize)} free)"
    except OSError:
        size = ""
    return f"{kind} at {best}{size}"


def full(path: Path) -> str | None:
    """The file system holding `path` if it has (almost) no room left, else None."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return filesystem(path) if stat.f_bavail * stat.f_frsize < LOW else None


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"
