"""A service's readiness check, run by systemd as its unit's `ExecStartPost=`: the unit (and so
the mission bound to it) becomes active only once this exits 0.

    python -I -S .../ready.py --service db --timeout 60 --tcp 3101
    OVERMIND_READY_COMMAND='pg_isready -h 127.0.0.1' python -I -S .../ready.py --service db --timeout 60

`--tcp`: a connection to the port on 127.0.0.1 is accepted. Otherwise the shell command in
$OVERMIND_READY_COMMAND (in the unit's directory and environment; see unit_exec for why not on
the command line) exits 0. Either is retried until the timeout; what went wrong is the last line
the service writes to the journal. Stdlib only: it runs by path, without site.
"""

from __future__ import annotations

import argparse
import os
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


def _command_succeeds(command: str, budget: float) -> bool:
    try:
        return subprocess.run(["/bin/sh", "-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=max(budget, 0.1)).returncode == 0
    except subprocess.TimeoutExpired:
        return False


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
    while True:
        if options.tcp is not None:
            if _accepts(options.tcp):
                return 0
        elif _command_succeeds(options.command, deadline - time.monotonic()):
            return 0
        if time.monotonic() >= deadline:
            break
        time.sleep(INTERVAL if options.tcp is not None else COMMAND_INTERVAL)
    what = (f"nothing accepted a connection on 127.0.0.1:{options.tcp}" if options.tcp is not None
            else f"its readiness command kept failing: {options.command}")
    print(f"{options.service} is not ready after {options.timeout:g}s: {what}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
