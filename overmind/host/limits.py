"""Whether the user manager can enforce a memory limit (MemoryMax=) on the units it starts.

On a pure cgroup-v2 host the memory controller is delegated to user@UID.service. Where systemd
runs the hybrid or legacy (v1) layout, a user manager gets no v1 memory hierarchy of its own, so
it accepts MemoryMax= and enforces nothing; overmind's private host places its manager in one.
"""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def manager_cgroup() -> str | None:
    """The user manager's own cgroup, e.g. /user.slice/user-1000.slice/user@1000.service."""
    from overmind.systemd import manager

    proc = manager.systemctl("show", "--property=ControlGroup", "--value", check=False)
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value.startswith("/") else None


def memory_unenforced_reason(cgroup: str | None = None, root: Path = CGROUP_ROOT) -> str | None:
    """Why MemoryMax= on a user unit would not be enforced here, or None if it would be."""
    cgroup = manager_cgroup() if cgroup is None else cgroup
    if cgroup is None:
        return "the user manager's cgroup is unknown"
    relative = cgroup.lstrip("/")
    if (root / "cgroup.controllers").exists():
        controllers = root / relative / "cgroup.controllers"
        try:
            if "memory" in controllers.read_text().split():
                return None
        except OSError:
            pass
        return "the memory controller is not delegated to the user manager (cgroup v2)"
    memory = root / "memory" / relative
    if memory.is_dir() and os.access(memory, os.W_OK):
        return None
    return "the user manager has no memory controller on this cgroup v1 (hybrid) host"
