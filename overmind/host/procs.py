"""What /proc and pidfds tell about other processes: for the supervisor, which watches, adopts
and takes file descriptors from processes it did not start."""

from __future__ import annotations

import ctypes
import os

_PIDFD_GETFD = 438  # the same number on every architecture (the syscall table is unified since 5.1)


def stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name: state is [0], ppid [1], start time [19]."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(") ")[2].split()
    except OSError:
        return None


def running(pid: int) -> bool:
    fields = stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def parent(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[1]) if fields else None


def start_time(pid: int) -> str | None:
    """The process's start in clock ticks since boot: with the pid, it names one process for good."""
    fields = stat_fields(pid)
    return fields[19] if fields else None


def command_line(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [word.decode(errors="replace") for word in f.read().split(b"\0") if word]
    except OSError:
        return []


def environment(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            data = f.read()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in data.split(b"\0") if item)
    return {key: value for key, _, value in pairs}


def socket_fds(pid: int) -> list[int]:
    """The numbers of `pid`'s descriptors that are sockets."""
    try:
        entries = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            if os.readlink(f"/proc/{pid}/fd/{entry}").startswith("socket:"):
                found.append(int(entry))
        except OSError:
            continue
    return sorted(found)


def take_fd(pidfd: int, target: int) -> int:
    """A copy of another process's descriptor (pidfd_getfd(2), root or ptrace rights needed)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = int(libc.syscall(_PIDFD_GETFD, pidfd, target, 0))
    if fd < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return fd


def set_name(name: str) -> None:
    """This process's name as ps and /proc/PID/comm show it (at most 15 bytes)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME


def become_subreaper() -> None:
    """Orphans below this process (a dead manager's missions) become its children, not PID 1's."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
