"""Checks of what missions and rituals rely on, each with what it means and how to fix it."""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

LINGER_DIR = "/var/lib/systemd/linger"


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # ok | warn | fail
    detail: str
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def linger() -> Check:
    """Rituals need a user manager that runs without a login session and starts at boot."""
    from overmind.host import pid1_is_systemd

    user = _user()
    if not pid1_is_systemd():
        return Check("linger", "warn",
                     "systemd is not PID 1 here: rituals run in overmind's private systemd host, "
                     "which nothing starts at boot",
                     "overmind setup (as root: starts it at boot from root's crontab)")
    if os.path.exists(os.path.join(LINGER_DIR, user)) or _loginctl_linger(user):
        return Check("linger", "ok", f"enabled for {user}: your user manager starts at boot and outlives "
                     "your sessions, so rituals keep their schedule")
    return Check("linger", "warn",
                 f"off for {user}: your user manager, and every ritual with it, stops when your last "
                 "session ends and starts again only when you log in",
                 f"overmind setup (or: sudo loginctl enable-linger {user})")


def _loginctl_linger(user: str) -> bool:
    try:
        proc = subprocess.run(["loginctl", "show-user", user, "--property=Linger", "--value"],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "yes"


def user_manager() -> Check:
    from overmind.host import manager_socket_present, pids

    if manager_socket_present() and not pids.stale():
        from overmind.systemd import manager

        return Check("user manager", "ok", f"reachable (systemd {manager.version()})")
    return Check("user manager", "fail", "no systemd user manager answers",
                 "run 'overmind host up' (as root, where systemd is not PID 1), or log in with linger enabled")


def journald() -> Check:
    if os.path.exists("/run/systemd/journal/socket"):
        return Check("journald", "ok", "reachable: missions' and rituals' output is kept")
    return Check("journald", "fail", "journald's socket is missing: output would be lost",
                 "run 'overmind host up', or start systemd-journald")


def unit_directory(manager_ok: bool) -> Check:
    """Ritual files must go where the user manager looks for units."""
    from overmind.systemd.unitfiles import unit_dir

    directory = unit_dir()
    if manager_ok:
        from overmind.systemd import manager

        proc = manager.systemctl("show", "--property=UnitPath", "--value", check=False)
        if str(directory) not in proc.stdout.split():
            return Check("unit directory", "fail", f"{directory} is not in the user manager's unit search path",
                         "give overmind the XDG_CONFIG_HOME the user manager has (or none)")
    existing = next((p for p in (directory, *directory.parents) if p.exists()), directory)
    if not os.access(existing, os.W_OK):
        return Check("unit directory", "fail", f"{directory} is not writable")
    return Check("unit directory", "ok", f"rituals are written to {directory}")


def rituals(manager_ok: bool) -> Check:
    if not manager_ok:
        return Check("rituals", "warn", "not checked: no user manager")
    from overmind.rituals import all_rituals
    from overmind.rituals.views import views

    shown = views(all_rituals())
    disabled = [v.ritual.name for v in shown if not v.enabled]
    detail = f"{len(shown)} installed" + (f", disabled: {', '.join(disabled)}" if disabled else "")
    return Check("rituals", "ok", detail, "overmind ritual enable NAME" if disabled else None)


def run_all() -> list[Check]:
    manager = user_manager()
    manager_ok = manager.state == "ok"
    lingering = linger()
    return [manager, journald(), lingering, unit_directory(manager_ok), rituals(manager_ok),
            persisted(lingering.state == "ok" or _private_host_starts_at_boot()), limits(manager_ok), setup()]


def persisted(started_at_boot: bool) -> Check:
    """Persisted missions come back only if something starts the user manager at boot."""
    from overmind.control.persist import check

    return Check("persisted missions", *check(started_at_boot))


def _private_host_starts_at_boot() -> bool:
    """Where systemd is not PID 1, `overmind setup` has root's crontab boot the private host."""
    from overmind.host import pid1_is_systemd

    if pid1_is_systemd():
        return False
    from overmind.control.setup import boot_step

    return boot_step(change=False).state == "ok"


def limits(manager_ok: bool) -> Check:
    """--memory-max is only as good as the memory controller under the user manager."""
    if not manager_ok:
        return Check("limits", "warn", "not checked: no user manager")
    from overmind.host.limits import memory_unenforced_reason

    reason = memory_unenforced_reason()
    if reason is None:
        return Check("limits", "ok", "memory limits (--memory-max) are enforced")
    return Check("limits", "warn", f"--memory-max is accepted but not enforced: {reason}",
                 "boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line)")


def setup() -> Check:
    """What `overmind setup` would still do (or needs someone to do) for this user."""
    from overmind.control.setup import pending, run

    left = pending(run(change=False))
    if not left:
        return Check("setup", "ok", "nothing left for 'overmind setup' to do")
    return Check("setup", "warn", "not done: " + "; ".join(f"{step.name} ({step.detail})" for step in left),
                 "overmind setup")
