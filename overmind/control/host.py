"""The systemd host missions run on: ready or not, at a glance, and the doctor's checks."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from overmind.control.doctor import Check
    from overmind.mission.spec import MissionSpec


def ready(auto_boot: bool = False) -> None:
    """Make sure a user manager answers; with `auto_boot` (as `run` does, as root where systemd is
    not PID 1) boot the private host. Two stat() calls when it is up."""
    from overmind.host import ensure_user_manager

    ensure_user_manager(auto_boot=auto_boot)


def up() -> str:
    """Boot journald and a private user manager where systemd is not PID 1 (idempotent); says
    what happened."""
    from overmind.host import pid1_is_systemd, private

    if pid1_is_systemd():
        return "systemd is PID 1 here: missions use your own user manager; no private host needed"
    return "private systemd host started" if private.up() else "private systemd host already running"


def down() -> str:
    """Stop the private host and every mission running in it; says what happened."""
    from overmind.host import pids, private

    if not pids.in_use() and pids.journald_pid() is None:
        return "private systemd host is not running"
    private.down()
    return "private systemd host stopped"


def shell_environment() -> dict[str, str]:
    """What a shell needs for `systemctl --user` to reach the manager missions run in: root's
    shells have no XDG_RUNTIME_DIR, and without it systemctl cannot find the private host."""
    from overmind.systemd.manager import runtime_dir

    return {"XDG_RUNTIME_DIR": runtime_dir()}


_USER_SYSTEMCTL = re.compile(r"(?<![\w=/.-])systemctl --user\b")


def runnable(text: str) -> str:
    """A message or hint whose `systemctl --user ...` runs as given in the user's shell: where
    that shell has no XDG_RUNTIME_DIR (root on the private host), the command says it."""
    if os.environ.get("XDG_RUNTIME_DIR") or "systemctl --user" not in text:
        return text
    prefix = " ".join(f"{key}={value}" for key, value in shell_environment().items())
    return _USER_SYSTEMCTL.sub(lambda match: f"{prefix} {match[0]}", text)


def unenforced_limits(spec: MissionSpec) -> list[str]:
    """The limits a mission asks for that this host accepts but cannot enforce (checked only when
    asked for: a hybrid-cgroup host gives a user manager no memory controller)."""
    if spec.limits.memory_max is None:
        return []
    from overmind.host.limits import memory_unenforced_reason

    reason = memory_unenforced_reason()
    return [f"--memory-max will not be enforced: {reason}"] if reason else []


def facts() -> dict[str, Any]:
    """Which manager missions use (system: the machine's own per-user manager; private: the one
    overmind boots where systemd is not PID 1; none), and whether it answers."""
    from overmind.host import manager_socket_present, pid1_is_systemd, pids, private
    from overmind.systemd.manager import runtime_dir

    return {
        "mode": "system" if pid1_is_systemd() else ("private" if pids.in_use() else "none"),
        "user_manager_reachable": manager_socket_present() and not pids.stale(),
        "runtime_dir": runtime_dir(),
        **{f"private_{key}": value for key, value in private.status().items()},
    }


def context() -> str:
    """One line naming where missions run, for a front end's header: `myhost · private systemd 252`."""
    import socket

    from overmind.systemd import manager

    found = facts()
    if not found["user_manager_reachable"]:
        return f"{socket.gethostname()} · no user manager"
    return f"{socket.gethostname()} · {found['mode']} systemd {manager.version()}"


def status() -> dict[str, Any]:
    """`overmind status`: the host's facts, the systemd version, journald, missions by status."""
    from overmind.control.missions import counts
    from overmind.systemd import manager

    found = facts()
    found["systemd_version"] = manager.version()
    found["journald_reachable"] = os.path.exists("/run/systemd/journal/socket")
    found["missions"] = counts() if found["user_manager_reachable"] else {}
    return found


def doctor() -> list[Check]:
    """What missions and rituals rely on, each with what it means and how to fix it."""
    from overmind.control.doctor import run_all

    return run_all()
