"""Boot and tear down a private systemd user manager plus journald where systemd is not PID 1.

Containers, CI machines and WSL often carry the systemd binaries without running systemd as
PID 1. Everything here is idempotent over what a killed host leaves behind: stale sockets,
pid files and cgroup directories.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from overmind.errors import OvermindError
from overmind.host import cgroups, pids
from overmind.host.pids import in_use, journald_pid, manager_pid
from overmind.systemd.manager import user_env
from overmind.waiting import wait_until

STATE_DIR = Path(pids.STATE_DIR)
JOURNALD = Path("/lib/systemd/systemd-journald")
JOURNALD_DROP_IN = Path("/run/systemd/journald.conf.d/overmind-private-host.conf")
SYSTEMD = Path("/lib/systemd/systemd")
JOURNAL_SOCKET = Path("/run/systemd/journal/socket")
BOOTED_MARKER = Path("/run/systemd/system")
BOOT_TIMEOUT = 20.0


def _pidfile(what: str) -> Path:
    return Path(pids.pidfile(what))


def _manager_cgroup(uid: int) -> str:
    return f"user.slice/user-{uid}.slice/user@{uid}.service"


def _runtime_dir(uid: int) -> Path:
    return Path(f"/run/user/{uid}")


def up(uid: int | None = None) -> bool:
    """Boot journald and the user manager unless they already run. Returns True if it booted."""
    if os.geteuid() != 0:
        raise OvermindError("booting the private systemd host needs root", hint="sudo overmind host up")
    for binary in (JOURNALD, SYSTEMD):
        if not binary.exists():
            raise OvermindError(f"{binary} is missing", hint="apt-get install systemd")
    uid = os.getuid() if uid is None else uid
    STATE_DIR.mkdir(mode=0o755, exist_ok=True)
    BOOTED_MARKER.mkdir(parents=True, exist_ok=True)  # systemd --user refuses to start without it
    booted = False
    if journald_pid() is None and not _journal_socket_answers():
        _start_journald()
        booted = True
    if manager_pid() is None or not (_runtime_dir(uid) / "systemd" / "private").exists():
        _start_manager(uid)
        booted = True
    return booted


def _journal_socket_answers() -> bool:
    """A journald we did not start (or whose pid file is gone) may already be listening."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(str(JOURNAL_SOCKET))
            return True
        except OSError:
            return False


def _spawn(argv: list[str], env: dict[str, str] | None = None, preexec: Callable[[], None] | None = None) -> int:
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, env=env, preexec_fn=preexec, close_fds=True,
    )
    return proc.pid


def _start_journald() -> None:
    journal_dir = Path("/var/log/journal")
    journal_dir.mkdir(parents=True, exist_ok=True)
    try:
        os.chown(journal_dir, 0, grp.getgrnam("systemd-journal").gr_gid)
    except KeyError:
        pass
    journal_dir.chmod(0o2755)
    # /run is not a tmpfs here and journald will not delete a runtime journal on a disk file
    # system; a fresh, already-"flushed" state makes it write persistent per-user files.
    shutil.rmtree("/run/log/journal", ignore_errors=True)
    JOURNAL_SOCKET.parent.mkdir(parents=True, exist_ok=True)
    JOURNAL_SOCKET.unlink(missing_ok=True)
    (JOURNAL_SOCKET.parent / "flushed").touch()
    # This journald keeps missions' output only: it must never drop lines because many missions
    # (or one chatty one) wrote a lot at once. Its rate limit counts the whole user manager.
    JOURNALD_DROP_IN.parent.mkdir(parents=True, exist_ok=True)
    JOURNALD_DROP_IN.write_text("[Journal]\nRateLimitIntervalSec=0\n")
    pid = _spawn([str(JOURNALD)])
    _pidfile("journald").write_text(str(pid))
    if not wait_until(JOURNAL_SOCKET.exists, BOOT_TIMEOUT):
        raise OvermindError("journald did not come up", hint="see 'overmind host status'")


def _clear_leftovers(uid: int) -> None:
    """Kill what a dead manager left in its cgroup and drop its stale sockets."""
    stale_pid = manager_pid()
    if stale_pid:
        _kill(stale_pid, signal.SIGKILL)
    relative = _manager_cgroup(uid)
    cgroups.kill_all(relative)
    wait_until(lambda: not cgroups.pids_in(relative), 5.0)
    cgroups.remove(relative)
    run_dir = _runtime_dir(uid)
    for leftover in (run_dir / "systemd" / "private", run_dir / "systemd" / "notify", run_dir / "bus"):
        leftover.unlink(missing_ok=True)


def _start_manager(uid: int) -> None:
    _clear_leftovers(uid)
    user = pwd.getpwuid(uid)
    relative = _manager_cgroup(uid)
    procs_files = [path / "cgroup.procs" for path in cgroups.create(relative, uid, user.pw_gid)]
    run_dir = _runtime_dir(uid)
    run_dir.mkdir(parents=True, exist_ok=True)
    os.chown(run_dir, uid, user.pw_gid)
    run_dir.chmod(0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": user.pw_dir,
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "SHELL": user.pw_shell or "/bin/sh",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "XDG_RUNTIME_DIR": str(run_dir),
        "SYSTEMD_LOG_TARGET": "journal-or-kmsg",
    }

    def enter_cgroups_and_drop_privileges() -> None:
        # Runs in the child between fork and exec: the manager must start inside its own
        # cgroup so journald attributes its units' lines to them.
        me = str(os.getpid())
        for procs in procs_files:
            procs.write_text(me)
        if uid != 0:
            os.setgid(user.pw_gid)
            os.initgroups(user.pw_name, user.pw_gid)
            os.setuid(uid)

    pid = _spawn([str(SYSTEMD), "--user"], env=env, preexec=enter_cgroups_and_drop_privileges)
    _pidfile("manager").write_text(str(pid))
    if not wait_until(lambda: (run_dir / "systemd" / "private").exists(), BOOT_TIMEOUT):
        raise OvermindError("the systemd user manager did not come up", hint=f"journalctl -b _PID={pid}")
    env = user_env() | {"XDG_RUNTIME_DIR": str(run_dir)}
    subprocess.run(
        ["systemctl", "--user", "is-system-running", "--wait"], env=env,
        capture_output=True, timeout=BOOT_TIMEOUT, check=False,
    )


def down(uid: int | None = None) -> None:
    """Stop the user manager (and every mission in it), then journald."""
    uid = os.getuid() if uid is None else uid
    pid = manager_pid()
    if pid:
        env = user_env() | {"XDG_RUNTIME_DIR": str(_runtime_dir(uid))}
        subprocess.run(["systemctl", "--user", "exit"], env=env, capture_output=True, timeout=30, check=False)
        if not wait_until(lambda: manager_pid() is None, 10.0):
            _kill(pid, signal.SIGKILL)
    _clear_leftovers(uid)
    _pidfile("manager").unlink(missing_ok=True)
    jpid = journald_pid()
    if jpid:
        _kill(jpid, signal.SIGTERM)
        if not wait_until(lambda: journald_pid() is None, 5.0):
            _kill(jpid, signal.SIGKILL)
    _pidfile("journald").unlink(missing_ok=True)


def _kill(pid: int, signum: int) -> None:
    """Signal a process that may end on its own meanwhile (a manager slow to exit, then gone)."""
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def status() -> dict[str, object]:
    return {
        "in_use": in_use(),
        "manager_pid": manager_pid(),
        "journald_pid": journald_pid(),
        "journal_socket": JOURNAL_SOCKET.exists(),
    }
