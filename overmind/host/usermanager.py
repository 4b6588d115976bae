"""The private user manager: `systemd --user` in its own cgroup, started by the supervisor.

It runs in `user.slice/user-UID.slice/user@UID.service`, created in the unified tree and the v1
`systemd`, `memory`, `pids`, `cpu` and `cpuacct` hierarchies (without them `MemoryMax=` and
`TasksMax=` are accepted but not enforced), with `XDG_RUNTIME_DIR=/run/user/UID`. A manager
started again after one died goes into the dead one's `init.scope`: the units' cgroups (and the
missions still running in them) stay where they are, for the new manager to take back.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from pathlib import Path

from overmind.errors import OvermindError
from overmind.host import cgroups, procs
from overmind.waiting import wait_until

SYSTEMD = Path("/lib/systemd/systemd")
BOOTED_MARKER = Path("/run/systemd/system")  # systemd --user refuses to start without it
BOOT_TIMEOUT = 20.0


CGROUP_VARIABLE = "OVERMIND_HOST_CGROUP"  # another place for it: a second host in a mount namespace


def cgroup(uid: int) -> str:
    return os.environ.get(CGROUP_VARIABLE) or f"user.slice/user-{uid}.slice/user@{uid}.service"


def runtime_dir(uid: int) -> Path:
    return Path(f"/run/user/{uid}")


def environment(uid: int) -> dict[str, str]:
    """What the manager starts with, and what its clients (systemctl) need to find it."""
    user = pwd.getpwuid(uid)
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": user.pw_dir,
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "SHELL": user.pw_shell or "/bin/sh",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "XDG_RUNTIME_DIR": str(runtime_dir(uid)),
        "SYSTEMD_LOG_TARGET": "journal-or-kmsg",
    }


def _client_env(uid: int) -> dict[str, str]:
    return environment(uid) | {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={runtime_dir(uid)}/bus", "SYSTEMD_PAGER": ""}


def systemctl(uid: int, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["systemctl", "--user", "--no-ask-password", *args], env=_client_env(uid),
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as expired:
        return subprocess.CompletedProcess(expired.cmd, 1, "", "timed out")


def start_units(uid: int, units: list[str], clients: int = 4) -> str:
    """`systemctl start --no-block` of many units by a few clients side by side (each start is a
    call the manager answers after loading the unit); returns what they said on stderr."""
    argvs = [["systemctl", "--user", "--no-ask-password", "start", "--no-block", "--", *units[i::clients]]
             for i in range(min(clients, len(units)))]
    procs = [subprocess.Popen(argv, env=_client_env(uid), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for argv in argvs]
    return "".join(proc.communicate(timeout=120)[1] for proc in procs)


def drop_sockets(uid: int) -> None:
    """A dead manager's sockets: clients must not connect to them, the next manager binds anew."""
    run_dir = runtime_dir(uid)
    for leftover in (run_dir / "systemd" / "private", run_dir / "systemd" / "notify", run_dir / "bus"):
        leftover.unlink(missing_ok=True)


def clear(uid: int) -> None:
    """Kill everything in the manager's cgroup and remove it (a host going down, or a first boot)."""
    relative = cgroup(uid)
    cgroups.kill_all(relative)
    wait_until(lambda: not cgroups.pids_in(relative), 5.0)
    cgroups.remove(relative)
    drop_sockets(uid)


def start(uid: int) -> int:
    """Fork and exec `systemd --user` (a child of the caller), and wait until it runs."""
    BOOTED_MARKER.mkdir(parents=True, exist_ok=True)
    user = pwd.getpwuid(uid)
    relative = cgroup(uid)
    joining = []
    for path in cgroups.create(relative, uid, user.pw_gid):
        # cgroup v2 allows no process beside child cgroups: a new manager joins the old one's scope.
        scope = path / "init.scope"
        joining.append((scope if scope.is_dir() else path) / "cgroup.procs")
    run_dir = runtime_dir(uid)
    run_dir.mkdir(parents=True, exist_ok=True)
    os.chown(run_dir, uid, user.pw_gid)
    run_dir.chmod(0o700)
    drop_sockets(uid)
    env = environment(uid)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            me = str(os.getpid())
            for procs_file in joining:  # before exec: journald attributes its units' lines by cgroup
                procs_file.write_text(me)
            if uid != 0:
                os.setgid(user.pw_gid)
                os.initgroups(user.pw_name, user.pw_gid)
                os.setuid(uid)
            null = os.open(os.devnull, os.O_RDWR)
            for std in (0, 1, 2):
                os.dup2(null, std)
            for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            os.execve(SYSTEMD, [str(SYSTEMD), "--user"], env)
        finally:
            os._exit(127)
    up = wait_until(lambda: (run_dir / "systemd" / "private").exists() or not procs.running(pid), BOOT_TIMEOUT)
    if not up or not procs.running(pid):
        raise OvermindError("the systemd user manager did not come up", hint=f"journalctl _PID={pid}")
    systemctl(uid, "is-system-running", "--wait", timeout=BOOT_TIMEOUT)
    return pid
