"""ExecStopPost= hook of the units made by overmind 0.1 (missions now record their runs with
hooks/run.sh): record how a run of the mission ended.

systemd runs this after every run (including each one before a restart) with $SERVICE_RESULT,
$EXIT_CODE and $EXIT_STATUS set, still inside the unit's cgroup. What it prints lands in the
mission's journal stream, so `overmind logs` and `journalctl` both show why a run ended.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overmind.store import Exit


def memory_limit_hit() -> bool:
    """Whether the kernel's OOM killer fired in this cgroup (cgroup v2 and v1 both say so)."""
    try:
        with open("/proc/self/cgroup") as f:
            entries = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return False
    for _, controllers, path in entries:
        if controllers == "":
            candidates = [f"/sys/fs/cgroup{path}/memory.events", f"/sys/fs/cgroup/unified{path}/memory.events"]
        elif "memory" in controllers.split(","):
            candidates = [f"/sys/fs/cgroup/memory{path}/memory.oom_control"]
        else:
            continue
        for candidate in candidates:
            try:
                with open(candidate) as f:
                    for line in f:
                        key, _, value = line.partition(" ")
                        if key == "oom_kill" and int(value) > 0:
                            return True
            except (OSError, ValueError):
                continue
    return False




def finish_run() -> Exit:
    """Say in the journal how this run ended, have journald write it, and return the exit record.

    The run's last lines may still sit in journald's stream buffers: the sync writes them before
    the exit is recorded, so `overmind wait x && overmind logs x` never misses the end.
    """
    from overmind.store import Exit

    result = os.environ.get("SERVICE_RESULT", "")
    code = os.environ.get("EXIT_CODE", "")
    status = os.environ.get("EXIT_STATUS", "")
    oom = result == "oom-kill" or (result != "success" and memory_limit_hit())
    end = Exit(time.time(), result, code, status, oom)
    print(f"--- {end.describe(os.environ.get('OVERMIND_ACTIVITY_TIMEOUT', '?'))} ---", flush=True)
    subprocess.run(["journalctl", "--sync"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=5, check=False)
    return Exit(time.time(), result, code, status, oom)


def main() -> None:
    mission_id = os.environ.get("OVERMIND_MISSION_ID")
    if not mission_id:
        return
    from overmind.store import Store

    Store().record_exit(mission_id, finish_run())


if __name__ == "__main__":
    main()
