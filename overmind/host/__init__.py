"""Where missions run: the machine's own systemd user manager, or a private one we boot."""

from __future__ import annotations

import os
import sys

from overmind.errors import OvermindError
from overmind.host import pids
from overmind.systemd.manager import runtime_dir

SUPERVISED_RESTART = 10.0  # seconds a command waits for the supervisor to bring a dead manager back


def _restart_supervisor() -> None:
    """The host runs without its supervisor (it was killed): as root, start one; it takes the
    running journald and manager over. Anyone else just goes on."""
    if os.geteuid() != 0 or pid1_is_systemd():
        return
    from overmind.host import private

    private.start_supervisor(os.getuid())
    print("overmind: restarted the private host's supervisor", file=sys.stderr)


def pid1_is_systemd() -> bool:
    try:
        with open("/proc/1/comm") as comm:
            return comm.read().strip() == "systemd"
    except OSError:
        return False


def manager_socket_present() -> bool:
    return os.path.exists(os.path.join(runtime_dir(), "systemd", "private"))


def ensure_user_manager(auto_boot: bool = False) -> None:
    """Make sure a user manager answers, booting the private host when allowed.

    The fast path is a stat() and two small reads: this runs before every command. Where the
    private host's supervisor is restarting a dead manager, this waits for it.
    """
    if manager_socket_present() and not pids.stale():
        if pids.in_use() and pids.supervisor_pid() is None:
            _restart_supervisor()
        return
    if pids.supervisor_pid() is not None:
        from overmind.host import private

        if private.await_manager(SUPERVISED_RESTART):
            return
    if pid1_is_systemd():
        raise OvermindError(
            "no systemd user manager is reachable for this user",
            hint="run 'overmind setup': it says what is missing (lingering, or a login session)",
        )
    if os.geteuid() != 0:
        raise OvermindError(
            "systemd is not PID 1 here and no private systemd host is running",
            hint="as root, run 'overmind host up'",
        )
    if not auto_boot:
        raise OvermindError("the private systemd host is not running", hint="run 'overmind host up'")
    from overmind.host import private

    private.up()
    print("overmind: started a private systemd host (see 'overmind host status')", file=sys.stderr)
