"""A service's readiness check, run by systemd as its unit's `ExecStartPost=`: the unit (and so
the mission bound to it) becomes active only once this exits 0.

    python -I -S .../ready.py --service db --timeout 60 --tcp 3101
    OVERMIND_READY_COMMAND='pg_isready -h 127.0.0.1' python -I -S .../ready.py --service db --timeout 60

`--tcp`: a connection to the port on 127.0.0.1 is accepted. Otherwise the shell command in
$OVERMIND_READY_COMMAND (in the unit's directory and environment; see unit_exec for why not on
the command line) exits 0. Either is retried until the timeout; what went wrong is the last line
the service writes to the journal. Stdlib only: it runs by path, without site.

The check gives up at once when the service's main process ($MAINPID, which systemd gives
ExecStartPost=) exits: systemd itself would wait for this check to end, and `run` with it, for
the whole timeout. The kernel says when through a pidfd; nothing is polled for it.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import subprocess
import sys
import time

INTERVAL = 0.05  # seconds between attempts: a container's port opens ~100 ms after it starts
COMMAND_INTERVAL = 0.5


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
        return True
    except OSError:
        return False


class MainExited(Exception):
    """The service's main process ended before it was ready."""


class MainProcess:
    """The unit's main process, watched through a pidfd (readable once it has exited)."""

    def __init__(self) -> None:
        self.fd: int | None = None
        self.gone = False
        pid = os.environ.get("MAINPID", "")
        if not pid.isdigit():
            return  # unknown: only the timeout ends the wait, as before
        try:
            self.fd = os.pidfd_open(int(pid))
        except ProcessLookupError:
            self.gone = True
            return
        except (AttributeError, OSError):  # no pidfd (Linux < 5.3): only the timeout ends the wait
            return

    def wait(self, seconds: float, also: int | None = None) -> int | None:
        """Sleep up to `seconds`, woken early by the main process's exit (raises MainExited) or
        by `also` (another pidfd, returned when it is ready)."""
        if self.gone:
            raise MainExited
        watched = [fd for fd in (self.fd, also) if fd is not None]
        if not watched:
            time.sleep(max(seconds, 0))
            return None
        ready, _, _ = select.select(watched, [], [], max(seconds, 0))
        if self.fd is not None and self.fd in ready:
            self.gone = True
            raise MainExited
        return also if also is not None and also in ready else None


def _command_succeeds(command: str, budget: float, main: MainProcess) -> bool:
    proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        try:
            child: int | None = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            child = None
        deadline = time.monotonic() + max(budget, 0.1)
        while proc.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # with a pidfd of the check, woken by its end; without one, a look every tenth of a second
            main.wait(remaining if child is not None else min(remaining, 0.1), child)
        return proc.returncode == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="overmind.isolation.ready")
    parser.add_argument("--service", required=True)
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--tcp", type=int, metavar="PORT")
    options = parser.parse_args(argv)
    options.command = os.environ.get("OVERMIND_READY_COMMAND", "")
    if options.tcp is None and not options.command:
        parser.error("give --tcp PORT or $OVERMIND_READY_COMMAND")
    deadline = time.monotonic() + options.timeout
    main = MainProcess()
    try:
        while True:
            if options.tcp is not None:
                if _accepts(options.tcp):
                    return 0
            elif _command_succeeds(options.command, deadline - time.monotonic(), main):
                return 0
            if time.monotonic() >= deadline:
                break
            main.wait(INTERVAL if options.tcp is not None else COMMAND_INTERVAL)
    except MainExited:
        print(f"{options.service} exited before it was ready", file=sys.stderr, flush=True)
        return 1
    what = (f"nothing accepted a connection on 127.0.0.1:{options.tcp}" if options.tcp is not None
            else f"its readiness command kept failing: {options.command}")
    print(f"{options.service} is not ready after {options.timeout:g}s: {what}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
