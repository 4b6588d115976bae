"""Boot and tear down the private systemd host (journald plus a user manager) where systemd is
not PID 1, through its supervisor (overmind.host.supervisor), which starts, watches and restarts
both. Everything here is idempotent over what a killed host leaves behind: a supervisor finds
and takes over a journald or manager that still runs, and takes back missions a dead manager
left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from overmind.errors import OvermindError
from overmind.host import pids, usermanager
from overmind.host.journald import JOURNALD, NATIVE
from overmind.host.pids import in_use, journald_pid, manager_pid, supervisor_pid
from overmind.host.supervisor import LOG, READY
from overmind.waiting import wait_until

BOOT_TIMEOUT = 30.0
STOP_TIMEOUT = 60.0


def up(uid: int | None = None) -> bool:
    """Make sure the supervisor runs and the host is up. Returns True if anything was booted."""
    if os.geteuid() != 0:
        raise OvermindError("booting the private systemd host needs root", hint="sudo overmind host up")
    for binary in (JOURNALD, usermanager.SYSTEMD):
        if not binary.exists():
            raise OvermindError(f"{binary} is missing", hint="apt-get install systemd")
    uid = os.getuid() if uid is None else uid
    if supervisor_pid() is not None:
        _await_up(uid)
        return False
    was_up = journald_pid() is not None and manager_pid() is not None
    start_supervisor(uid)
    _await_up(uid)
    return not was_up


def start_supervisor(uid: int) -> None:
    """Start the supervisor, detached: it outlives this command and whatever cgroup ran it."""
    Path(pids.STATE_DIR).mkdir(mode=0o755, exist_ok=True)
    READY.unlink(missing_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": os.environ.get("LANG", "C.UTF-8")}
    if usermanager.CGROUP_VARIABLE in os.environ:
        env[usermanager.CGROUP_VARIABLE] = os.environ[usermanager.CGROUP_VARIABLE]
    with open(LOG, "a") as log:
        subprocess.Popen([sys.executable, "-m", "overmind.host.supervisor", str(uid)], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, start_new_session=True, close_fds=True, env=env)


def _await_up(uid: int) -> None:
    def ready() -> bool:
        if supervisor_pid() is None:
            raise OvermindError(f"the private host's supervisor failed: {_last_log_line()}",
                                hint=f"see {LOG}")
        return READY.exists() and manager_pid() is not None and \
            (usermanager.runtime_dir(uid) / "systemd" / "private").exists()

    # A supervisor that has just been started may not have written its pid yet.
    wait_until(lambda: supervisor_pid() is not None or READY.exists(), 5.0)
    if not wait_until(ready, BOOT_TIMEOUT):
        raise OvermindError("the private systemd host did not come up", hint=f"see {LOG}")


def _last_log_line() -> str:
    try:
        lines = LOG.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no log"


def await_manager(timeout: float) -> bool:
    """While a supervisor starts a dead manager again: wait for it."""
    return bool(wait_until(lambda: manager_pid() is not None and READY.exists(), timeout))


def down(uid: int | None = None) -> None:
    """Stop the user manager (and every mission in it), then journald."""
    uid = os.getuid() if uid is None else uid
    supervisor = supervisor_pid()
    if supervisor is not None:
        os.kill(supervisor, signal.SIGTERM)
        if not wait_until(lambda: supervisor_pid() is None, STOP_TIMEOUT):
            raise OvermindError("the private host's supervisor did not stop", hint=f"see {LOG}")
        return
    # A host without a supervisor (booted by an earlier overmind, or its supervisor killed).
    pid = manager_pid()
    if pid:
        usermanager.systemctl(uid, "exit", timeout=30)
        if not wait_until(lambda: manager_pid() is None, 10.0):
            os.kill(pid, signal.SIGKILL)
    usermanager.clear(uid)
    jpid = journald_pid()
    if jpid:
        os.kill(jpid, signal.SIGTERM)
        if not wait_until(lambda: journald_pid() is None, 5.0):
            os.kill(jpid, signal.SIGKILL)
    for what in ("manager", "journald"):
        Path(pids.pidfile(what)).unlink(missing_ok=True)


def status() -> dict[str, object]:
    return {
        "in_use": in_use(),
        "supervisor_pid": supervisor_pid(),
        "manager_pid": manager_pid(),
        "journald_pid": journald_pid(),
        "journal_socket": NATIVE.exists(),
    }
