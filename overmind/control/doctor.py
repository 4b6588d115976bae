"""Checks of what missions and rituals rely on, each with what it means and how to fix it.

The host's own parts are checked by doing the thing: journald by a line written and read back,
the user manager by a real call, the store by SQLite's quick_check."""

from __future__ import annotations

import os
import pwd
import subprocess
import time
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
    watching = supervisor()
    lingering = linger()
    return [manager, journald(), *([watching] if watching else []), *store(), lingering,
            unit_directory(manager_ok), rituals(manager_ok),
            persisted(lingering.state == "ok" or _private_host_starts_at_boot()), limits(manager_ok), setup()]


def persisted(started_at_boot: bool) -> Check:
    """Persisted missions come back only if something starts the user manager at boot."""
    import sqlite3

    from overmind.control.persist_files import check
    from overmind.errors import OvermindError

    try:
        return Check("persisted missions", *check(started_at_boot))
    except (sqlite3.DatabaseError, OvermindError) as error:  # the store's own check says what is wrong
        return Check("persisted missions", "warn", f"not checked: the store cannot be read ({error})")


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


# -- what missions rely on, checked by doing it ------------------------------------------
PROBE_TIMEOUT = 5.0


def journald() -> Check:
    """A line written to journald and read back."""
    from overmind.journal_native import JOURNAL_SOCKET, send

    token = os.urandom(8).hex()
    began = time.monotonic()
    if not send({"MESSAGE": f"overmind doctor: journald probe {token}", "PRIORITY": "7",
                 "SYSLOG_IDENTIFIER": "overmind-doctor", "OVERMIND_PROBE": token}):
        return Check("journald", "fail", f"{JOURNAL_SOCKET} does not take lines: missions' output is lost",
                     "overmind host up (where systemd is not PID 1), else: systemctl start systemd-journald")
    while time.monotonic() - began < PROBE_TIMEOUT:
        try:
            found = subprocess.run(["journalctl", "--no-pager", "-o", "cat", f"OVERMIND_PROBE={token}"],
                                   capture_output=True, text=True, timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            break
        if token in found.stdout:
            took = (time.monotonic() - began) * 1000
            return Check("journald", "ok", f"wrote a line and read it back in {took:.0f} ms: output is kept")
        time.sleep(0.1)
    return Check("journald", "fail",
                 f"took a line but did not give it back within {PROBE_TIMEOUT:g}s: output may be lost or unreadable",
                 "overmind host up (where systemd is not PID 1); as a user, join the systemd-journal group")


def user_manager() -> Check:
    """A real call to the user manager, not just its socket."""
    from overmind.host import manager_socket_present, pids

    if not manager_socket_present() or pids.stale():
        return Check("user manager", "fail", "no systemd user manager answers",
                     "run 'overmind host up' (as root, where systemd is not PID 1), or log in with linger enabled")
    from overmind.systemd import manager

    shown = manager.systemctl("show", "--property=Version,SystemState", check=False)
    props = dict(line.partition("=")[::2] for line in shown.stdout.splitlines())
    if shown.returncode != 0 or not props.get("Version"):
        detail = shown.stderr.strip().splitlines()[-1] if shown.stderr.strip() else f"exit {shown.returncode}"
        return Check("user manager", "fail", f"its socket is there but a call failed: {detail}",
                     "overmind host up (where systemd is not PID 1), else: systemctl --user daemon-reexec")
    return Check("user manager", "ok", f"answers a call (systemd {props['Version']}, {props.get('SystemState')})")


def supervisor() -> Check | None:
    """Only where overmind runs the private host: what restarts journald and the manager."""
    from overmind.host import pid1_is_systemd, pids

    if pid1_is_systemd() or not pids.in_use():
        return None
    pid = pids.supervisor_pid()
    if pid is None:
        return Check("host supervisor", "fail", "not running: nothing restarts journald or the user manager "
                     "if one dies", "overmind host up (as root)")
    return Check("host supervisor", "ok", f"runs (pid {pid}): journald and the user manager come back if they die")


def store() -> list[Check]:
    """SQLite's quick_check of the state store, its file system's free space, its last rebuild."""
    from overmind.store import health, space, state_dir
    from overmind.store.rebuild import was_used

    path = state_dir() / "state.db"
    checks = []
    problem = health.quick_check(path)
    if problem is None:
        checks.append(Check("store", "ok", f"{path} passes SQLite's quick_check"))
    elif problem == "it does not exist" and not was_used(path):
        checks.append(Check("store", "ok", f"no state store yet ({path} is made by the first mission)"))
    else:
        checks.append(Check("store", "fail", f"{path}: {problem}",
                            "overmind repair (rebuilds it from systemd and the journal; the old file is kept)"))
    full = space.full(path.parent) if path.parent.exists() else None
    if full:
        checks.append(Check("free space", "fail", f"the state store's file system is full ({full}): nothing new "
                            "can be recorded", f"free space on {full.split(' (')[0]}"))
    report = health.last_rebuild(path)
    if report:
        checks.append(rebuilt(report))
    return checks


def rebuilt(report: dict[str, object]) -> Check:
    """What the last rebuild recovered and what it could not (a warning for a day)."""
    from overmind.control.repair import summary

    at = report.get("at")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(at)) if isinstance(at, (int, float)) else "?"
    gone = report.get("not_recovered") or []
    assert isinstance(gone, list)
    recent = isinstance(at, (int, float)) and time.time() - at < 86400
    return Check("store rebuild", "warn" if recent else "ok",
                 f"rebuilt {when}: recovered {summary(report)}; not recovered: {', '.join(map(str, gone))}",
                 "the old store is kept beside it as state.db.broken-*")
