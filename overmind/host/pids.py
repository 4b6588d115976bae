"""The private host's pid files (stdlib `os` only: read on every command's fast path)."""

from __future__ import annotations

STATE_DIR = "/run/overmind-host"
# The supervisor writes how a process it adopted from a dead manager ended, as `exited N` or
# `killed SIGNAL`, to EXITS_DIR/<pid> before it reaps it (hooks/run.sh reads it back).
EXITS_DIR = f"{STATE_DIR}/exits"
SUPERVISOR_NAME = "overmind-hostd"  # its process name (comm), set with prctl


def pidfile(what: str) -> str:
    return f"{STATE_DIR}/{what}.pid"


def alive(what: str, comm: str) -> int | None:
    """The pid recorded for `what` if that process still runs `comm` (and is not a zombie)."""
    try:
        with open(pidfile(what)) as f:
            pid = int(f.read())
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except (OSError, ValueError):
        return None
    name, _, rest = stat.partition(" (")[2].rpartition(") ")
    return pid if name == comm and not rest.startswith(("Z", "X")) else None


def manager_pid() -> int | None:
    return alive("manager", "systemd")


def journald_pid() -> int | None:
    return alive("journald", "systemd-journal")


def supervisor_pid() -> int | None:
    return alive("supervisor", SUPERVISOR_NAME)


def in_use() -> bool:
    try:
        open(pidfile("manager")).close()
        return True
    except OSError:
        return False


def stale() -> bool:
    """True when a private host was booted here and its manager has since died."""
    return in_use() and manager_pid() is None
