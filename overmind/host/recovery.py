"""What a dead user manager left running, taken back by the next one or ended cleanly.

When `systemd --user` dies its units' processes run on in their cgroups, supervised by nobody.
Their transient unit files (`$XDG_RUNTIME_DIR/systemd/transient/`, which a starting manager
empties where it is a tmpfs) are read first and put back once the next manager runs, which then
loads each unit from its file as it was. A mission unit starts its command through the run hook
(`sh hooks/run.sh run -- COMMAND`): told by a marker file `<state>/runs/<id>.adopt` that its
process still runs, that run waits for it instead of starting the command again, and ends as it
ends (the supervisor, the orphan's new parent, writes down how: `pids.EXITS_DIR`). So the unit is
back with its limits on the same cgroup, its restart policy, its hooks and run records.

What cannot be taken back (a unit without that hook, a mission whose main process is gone,
anything that is not a mission) is stopped the way systemd stops a unit: SIGTERM to every
process, SIGKILL after its stop timeout. A mission stopped so is recorded `lost` in its run log
and started again if its restart policy says so.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import NamedTuple

from overmind.host import cgroups, procs, usermanager

LOST = "lost"  # the service result of a run whose manager died (overmind.mission.status)
_HOOK_RUN = '/hooks/run.sh" "run"'  # how a transient unit file spells a launch through the run hook
_HOOK_VERBS = ("start", "pid", "end")
DEFAULT_STOP_TIMEOUT = 10.0
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


class Unit(NamedTuple):
    """A unit of the dead manager that still has processes."""

    name: str
    cgroup: str
    pids: set[int]
    file: str | None  # its transient unit file, as the dead manager wrote it
    env: dict[str, str]  # a process's environment: the unit's, for a mission OVERMIND_MISSION_ID and more

    @property
    def settings(self) -> dict[str, str]:
        """The plain `Key=value` lines of its unit file (the last of each key wins, as for
        systemd; an empty assignment resets a list, which a later line then fills)."""
        found: dict[str, str] = {}
        for line in (self.file or "").splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.startswith(("#", ";", "[")):
                found[key.strip()] = value.strip()
        return found

    @property
    def mission(self) -> str | None:
        return self.env.get("OVERMIND_MISSION_ID") or None

    @property
    def runs(self) -> Path | None:
        state = self.env.get("OVERMIND_STATE_DIR")
        return Path(state) / "runs" if state else None

    @property
    def restarts(self) -> bool:
        return self.settings.get("Restart", "no") not in ("no", "")

    @property
    def stop_timeout(self) -> float:
        return _seconds(self.settings.get("TimeoutStopSec", ""), DEFAULT_STOP_TIMEOUT)


class Ending(NamedTuple):
    unit: Unit
    deadline: float  # SIGKILL then
    lost: bool  # a mission: recorded lost, started again per its policy once its processes are gone


def leftovers(uid: int) -> list[Unit]:
    """Every unit of the dead manager with processes, read before a new manager starts."""
    found = []
    transient = usermanager.runtime_dir(uid) / "systemd" / "transient"
    for name, (path, held) in cgroups.units_below(usermanager.cgroup(uid)).items():
        if name == "init.scope":
            continue
        env = next((e for pid in sorted(held) if (e := procs.environment(pid))), {})
        try:
            file: str | None = (transient / name).read_text()
        except OSError:
            file = None
        found.append(Unit(name, path, held, file, env))
    return found


def restore_files(uid: int, units: list[Unit]) -> dict[Path, str]:
    """Put the units' files back where the new manager looks for transient units; it reads that
    directory only when it starts or reloads, so it reloads if any file had to be put back.
    Returns what it wrote: a unit loaded from such a file does not remove it when it goes, as a
    transient unit does (see `forget_files`)."""
    restored: dict[Path, str] = {}
    for unit in units:
        path = usermanager.runtime_dir(uid) / "systemd" / "transient" / unit.name
        if unit.file is None or path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{unit.name}.new")
        temporary.write_text(unit.file)
        os.chown(temporary, uid, -1)  # the manager removes a transient unit's file when the unit goes
        temporary.replace(path)
        restored[path] = unit.file
    if restored:
        began = time.monotonic()
        usermanager.systemctl(uid, "daemon-reload")
        print(f"reloaded the manager for {len(restored)} unit file(s) in {time.monotonic() - began:.2f}s",
              file=sys.stderr, flush=True)
    return restored


def forget_files(uid: int, restored: dict[Path, str]) -> None:
    """Remove the files put back for units that have since been unloaded (left as they were
    written: a new transient unit of the same name has its own)."""
    from overmind.systemd.manager import parse_show

    shown = usermanager.systemctl(uid, "show", "--property=Id,LoadState", "--", *(p.name for p in restored))
    loaded = {props.get("Id") for props in parse_show(shown.stdout) if props.get("LoadState") == "loaded"}
    for path, text in list(restored.items()):
        if path.name in loaded:
            continue
        try:
            if path.read_text() == text:
                path.unlink()
        except OSError:
            pass
        del restored[path]


def clear_scope(uid: int) -> None:
    """The dead manager's own scope: nothing in it may outlive it."""
    relative = f"{usermanager.cgroup(uid)}/init.scope"
    cgroups.kill_all(relative)


def main_process(unit: Unit) -> int | None:
    """The run's main process: the oldest process whose parent is outside the cgroup (the manager
    started it), not one of the run hooks. Gone (only its children left) means none."""
    tops = []
    for pid in unit.pids:
        parent = procs.parent(pid)
        words = procs.command_line(pid)
        hook = len(words) >= 3 and words[1].endswith("/hooks/run.sh") and words[2] in _HOOK_VERBS
        if parent is not None and parent not in unit.pids and not hook and procs.running(pid):
            tops.append((int(procs.start_time(pid) or 0), pid))
    return min(tops)[1] if tops else None


def adoptable(unit: Unit) -> bool:
    return unit.mission is not None and unit.runs is not None and _HOOK_RUN in unit.settings.get("ExecStart", "")


def mark_adopted(unit: Unit, pid: int, known_end: bool) -> None:
    """Tell the unit's next run to take over `pid` (read by hooks/run.sh): its start time names
    it for good, `notify` says the unit waits for READY=1 (the wrapper says it again on SIGUSR2),
    `known_end` whether the supervisor will learn how it ends."""
    assert unit.runs is not None and unit.mission is not None
    notify = int(unit.settings.get("Type") == "notify")
    unit.runs.mkdir(parents=True, exist_ok=True)
    marker = unit.runs / f"{unit.mission}.adopt"
    temporary = marker.with_suffix(".adopt.new")
    temporary.write_text(f"{pid} {procs.start_time(pid)} {notify} {int(known_end)}\n")
    temporary.replace(marker)


def begin_ending(unit: Unit, lost: bool) -> Ending:
    """SIGTERM to every process of the unit (as a stop job would); the caller kills what is left
    at the deadline."""
    if lost:
        record_lost(unit)
    _signal_all(unit, signal.SIGTERM)
    return Ending(unit, time.monotonic() + unit.stop_timeout, lost)


def ended(ending: Ending) -> bool:
    return not cgroups.pids_in(ending.unit.cgroup)


def force(ending: Ending) -> None:
    _signal_all(ending.unit, signal.SIGKILL)


def record_lost(unit: Unit) -> None:
    """The run's end in the mission's run log, as hooks/run.sh writes it: result `lost`."""
    if unit.runs is None or unit.mission is None:
        return
    with open("/proc/uptime") as f:
        uptime = f.read().split()[0]
    with open("/proc/sys/kernel/random/boot_id") as f:
        boot = f.read().strip()
    invocation = unit.env.get("INVOCATION_ID") or "-"
    try:
        unit.runs.mkdir(parents=True, exist_ok=True)
        ended_file = unit.runs / f"{unit.mission}.ended"
        count = int(ended_file.read_text().strip() or 0) if ended_file.exists() else 0
        ended_file.write_text(f"{count + 1}\n")
        with open(unit.runs / "log", "a") as log:
            log.write(f"exit {unit.mission} {uptime} {boot} {invocation} {LOST} - - 0\n")
    except (OSError, ValueError):
        pass  # a full or vanished state directory: the mission shows as unknown instead


def _signal_all(unit: Unit, signum: int) -> None:
    for pid in cgroups.pids_in(unit.cgroup):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _seconds(text: str, default: float) -> float:
    """A systemd time span ("10s", "1min 30s", "500ms") in seconds."""
    scale = {"ms": 0.001, "": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    total = sum(float(number) * scale.get(unit, 1) for number, unit in _SPAN.findall(text))
    return total if total > 0 else default
