"""`python -m overmind.wrapper -- COMMAND...`: the agent's parent process inside the unit.
(`python -m overmind.wrapper --mission` runs agent CLIs and sessions: see `run_mission` below.)

It runs the command with its output on pipes, relays that output to the journal unchanged,
pings the watchdog on activity, and ends exactly as the command did (same exit code, or the
same signal), so systemd's Result= and the exit hook see the agent's own ending.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from overmind.wrapper.notify import Notifier
from overmind.wrapper.relay import relay
from overmind.wrapper.watchdog import ActivityWatchdog

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)


def run(argv: list[str]) -> int:
    notifier = Notifier()
    watchdog = ActivityWatchdog(notifier)
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    notifier.watchdog()
    relay({os.dup(child.stdout.fileno()): sys.stdout.fileno(), os.dup(child.stderr.fileno()): sys.stderr.fileno()},
          watchdog.activity)
    child.stdout.close()
    child.stderr.close()
    return child.wait()


def end_like(returncode: int) -> None:
    """Exit with the child's code, or die of the child's signal."""
    if returncode >= 0:
        sys.exit(returncode)
    signum = -returncode
    if signum not in (signal.SIGKILL, signal.SIGSTOP):  # those two cannot (and need not) be reset
        signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    sys.exit(128 + signum)


def run_mission() -> int:
    """Run the agent CLI or session of the mission named by $OVERMIND_MISSION_ID."""
    import asyncio

    from overmind.store import Store
    from overmind.wrapper.mission import MissionWrapper

    store = Store()
    mission = store.get(os.environ.get("OVERMIND_MISSION_ID", ""))
    if mission is None:
        print("overmind wrapper: no such mission (OVERMIND_MISSION_ID)", flush=True)
        return 1
    wrapper: type[MissionWrapper]
    if mission.provider == "raw":
        from overmind.wrapper.terminal import TerminalSession as wrapper
    else:
        from overmind.wrapper.session import AgentSession as wrapper
    return asyncio.run(wrapper(mission, store).run())


def main() -> None:
    argv = sys.argv[1:]
    if argv == ["--mission"]:  # agent CLIs and sessions: the mission's spec comes from the store
        # SIGUSR2 asks a wrapper to say READY=1 again (hooks/run.sh, after its manager died):
        # one that arrives before the wrapper listens for it must not end it.
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        end_like(run_mission())
        return
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m overmind.wrapper -- COMMAND [ARG...]", file=sys.stderr)
        sys.exit(2)
    end_like(run(argv))


if __name__ == "__main__":
    main()
