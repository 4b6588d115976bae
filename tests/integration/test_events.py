"""`overmind events`: the change feed, checked against systemd's own signals on the user bus."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from overmind.control.states import ENDS
from overmind.systemd.objects import unit_of_path
from tests.helpers import Overmind, die_with_parent, must, wait_until


class Lines:
    """A child process's stdout lines, each with the time it arrived."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.seen: list[tuple[float, dict[str, Any]]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.seen.append((time.time(), json.loads(line)))

    def about(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        return [(at, change) for at, change in list(self.seen) if change["name"] == name]


class Said(NamedTuple):
    """One announcement systemd made of a unit, as received on the bus."""

    at: float
    active: str
    sub: str
    invocation: str
    result: str


class Announced:
    """What systemd itself announces about the units whose names start with `prefix`, in order:
    an independent listener of the test's own on the user bus."""

    def __init__(self, env: dict[str, str], prefix: str) -> None:
        self.said: dict[str, list[Said]] = {}
        self.prefix = prefix
        self.address = f"unix:path={env['XDG_RUNTIME_DIR']}/bus"
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_until_complete, args=(self._listen(),), daemon=True).start()
        assert self.ready.wait(10), "could not listen on the user bus"

    async def _listen(self) -> None:
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        bus = await MessageBus(bus_address=self.address, bus_type=BusType.SESSION).connect()
        results: dict[str, str] = {}

        def on_message(message: Message) -> None:
            if message.message_type != MessageType.SIGNAL or message.member != "PropertiesChanged":
                return
            unit = unit_of_path(message.path or "")
            if unit is None or not unit.startswith(self.prefix):
                return
            interface, changed = message.body[0], message.body[1]
            if "Result" in changed:  # the Service interface comes first, then the Unit's state
                results[unit] = changed["Result"].value
            if interface.endswith(".Unit") and "ActiveState" in changed:
                self.said.setdefault(unit, []).append(Said(
                    time.time(), changed["ActiveState"].value, changed["SubState"].value,
                    bytes(changed["InvocationID"].value).hex(), results.get(unit, "success")))

        bus.add_message_handler(on_message)
        await bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                               interface="org.freedesktop.DBus", member="AddMatch", signature="s",
                               body=["type='signal',sender='org.freedesktop.systemd1'"]))
        await bus.call(Message(destination="org.freedesktop.systemd1", path="/org/freedesktop/systemd1",
                               interface="org.freedesktop.systemd1.Manager", member="Subscribe"))
        self.ready.set()
        await asyncio.Event().wait()

    def of(self, unit: str) -> list[Said]:
        return list(self.said.get(unit, []))


def told_by_systemd(said: list[Said], end: Callable[[Said], str]) -> list[str]:
    """The states a mission went through, as its unit announced them: `created`, then each
    announcement mapped, repeats left out. An `inactive` before a start is no state, nor is
    systemd 252's `failed` before an automatic restart (the restart follows in the same breath)."""
    states, began = ["created"], set()
    for n, one in enumerate(said):
        if one.active in ("inactive", "failed"):
            if one.invocation not in began:
                continue  # a start's first word, before it begins
            after = next((s for s in said[n + 1:] if s.active not in ("inactive", "failed")), None)
            if after is not None and after.sub == "auto-restart" and after.invocation == one.invocation:
                continue
            state = end(one)
        elif one.sub == "auto-restart":
            state = "restarting"
        elif one.active == "activating":
            state = "restarting" if len(states) > 1 and states[-1] in (*ENDS, "stopping", "restarting") else "starting"
        elif one.active in ("active", "reloading"):
            state = "running"
        else:
            state = "stopping"
        began.add(one.invocation)
        if state != states[-1]:
            states.append(state)
    return states


@pytest.fixture
def events(om: Overmind, name: str) -> Iterator[Lines]:
    proc = subprocess.Popen([sys.executable, "-m", "overmind", "events", "--json"], env=om.env,
                            stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            preexec_fn=die_with_parent)
    lines = Lines(proc)
    # The feed is listening once it tells anything of a probe mission (one started before the feed
    # took its first look is no news until it ends): start probes until one shows up.
    probes: list[str] = []

    def listening() -> bool:
        return any(change["name"] in probes for _, change in list(lines.seen))

    try:
        deadline = time.monotonic() + 180
        while not listening() and time.monotonic() < deadline and proc.poll() is None:
            probes.append(om.run("sleep 1", "--name", f"{name}-probe{len(probes)}")["name"])
            wait_until(listening, 5)
        assert listening(), f"the feed never told a probe mission (exit status {proc.poll()})"
        yield lines
    finally:
        proc.terminate()
        proc.wait(10)


def test_events_stream_a_missions_start_running_and_exit_in_order_as_systemd_announced_them(
        om: Overmind, name: str, events: Lines) -> None:
    # Order and exactly-once only: how soon the feed tells a change is measured by benchmarks/feed.py.
    unit = f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}.service"
    bus = Announced(om.env, unit)
    om("run", "--name", name, "sleep 1; exit 3")
    must(lambda: any(c["event"] == "finished" for _, c in events.about(name)), timeout=60,
         what="the mission's end in the feed")
    seen = [c for _, c in events.about(name)]
    kinds = [c["event"] for c in seen]
    assert kinds[0] == "started" and kinds[-1] == "finished" and kinds.count("finished") == 1
    assert all(c["type"] == "mission" and c["version"] == 1 for c in seen)
    assert [c["at"] for c in seen] == sorted(c["at"] for c in seen)
    assert [c["seq"] for c in seen] == sorted(set(c["seq"] for c in seen))
    # the feed's states are those systemd went through (its own announcements, heard on the bus)
    must(lambda: any(s.active == "failed" for s in bus.of(unit)), timeout=60, what="systemd's own word of the end")
    assert [c["state"] for c in seen] == told_by_systemd(bus.of(unit), lambda _: "crashed")
    assert any(c["mission"]["status"] == "running" and c["mission"]["os_pid"] for c in seen if c["state"] == "running")
    assert seen[-1]["mission"]["status"] == "crashed" and seen[-1]["mission"]["exit_code"] == 3


def test_events_report_a_killed_mission_and_a_collected_one(om: Overmind, name: str, events: Lines) -> None:
    om("run", "--name", name, "sleep 60")
    must(lambda: any(c["mission"]["os_pid"] for _, c in events.about(name)), what="the mission running")
    om("kill", name)
    must(lambda: any(c["event"] == "finished" and c["mission"]["status"] == "killed" for _, c in events.about(name)),
         what="the kill in the feed")
    om("gc")
    must(lambda: any(c["event"] == "removed" and c["mission"] is None for _, c in events.about(name)),
         what="the mission's removal in the feed")


def test_events_human_lines_say_what_changed(om: Overmind, name: str) -> None:
    om("run", "--name", name, "sleep 2")
    proc = subprocess.Popen([sys.executable, "-m", "overmind", "events", name], env=om.env,
                            stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            preexec_fn=die_with_parent)
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        while "finished" not in line:
            line = proc.stdout.readline()
        assert f"mission    finished  {name}  stopped" in line
    finally:
        proc.terminate()
        proc.wait(10)


def test_events_refuse_an_unknown_mission(om: Overmind) -> None:
    refused = om("events", "no-such-mission", check=False)
    assert refused.returncode == 1 and refused.stderr.startswith("overmind: no mission named 'no-such-mission'")
    assert os.environ.get("OVERMIND_DEBUG") is None


# -- every transition exactly once, in order, under churn ----------------------------------------------
# The whole churn, again and again: a race that shows once in a while fails one of the rounds.
# CI runs 3 (about 25 s each on its 2 cores); OVERMIND_TEST_FEED_ROUNDS=20 runs the full 20.
ROUNDS = int(os.environ.get("OVERMIND_TEST_FEED_ROUNDS", "3"))
PER_KIND = 40
SHELLS = 8
KINDS = ("crash", "done", "restart", "stop", "kill")


# Starts missions as the CLI does, many in one process: `overmind run` N times without N interpreters.
STARTER = """
import json, sys
from overmind.cli import cli
for line in sys.stdin:
    cli.main(json.loads(line), prog_name="overmind", standalone_mode=False)
"""


def start_all(om: Overmind, command_lines: list[list[str]]) -> None:
    """Run these command lines from SHELLS processes at once; every one must succeed."""
    starters = [subprocess.Popen([sys.executable, "-c", STARTER], env=om.env, stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 preexec_fn=die_with_parent) for _ in range(SHELLS)]
    for n, starter in enumerate(starters):
        assert starter.stdin is not None
        starter.stdin.write("".join(json.dumps(line) + "\n" for line in command_lines[n::SHELLS]))
        starter.stdin.close()
    for starter in starters:
        assert starter.wait(300) == 0, starter.stderr.read() if starter.stderr else ""


def _commands(marks: str) -> dict[str, tuple[str, ...]]:
    """What each kind of mission runs: crash (exit 3), done (exit 0), restart (fails its first run,
    restarted on failure, then exits 0), stop and kill (run until told)."""
    once = f"m={marks}/$OVERMIND_MISSION_ID; sleep 0.2; test -e $m && exit 0; touch $m; exit 1"
    return {"crash": ("sleep 0.2; exit 3",), "done": ("sleep 0.2",),
            "restart": ("--restart", "on-failure", once), "stop": ("sleep 300",), "kill": ("sleep 300",)}


FINAL = {"crash": "crashed", "done": "finished", "restart": "finished", "stop": "finished", "kill": "killed"}


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_each_missions_transitions_are_told_once_in_order_as_systemd_went_through_them(
        om: Overmind, name: str, events: Lines, tmp_path: Any, round_: int) -> None:
    prefix = f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}-"
    bus = Announced(om.env, prefix)
    commands = _commands(str(tmp_path))
    missions = {f"{name}-{kind}{n}": kind for n in range(PER_KIND) for kind in KINDS}
    names = list(missions)
    late: Lines | None = None

    runs = [["run", "--name", mission, *commands[kind]] for mission, kind in missions.items()]
    try:
        start_all(om, runs[:len(runs) // 2])
        # A second feed, started while missions come and go, numbers what it tells as the first does.
        started_late = time.time()
        late = Lines(subprocess.Popen([sys.executable, "-m", "overmind", "events", "--json"], env=om.env,
                                      stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                                      preexec_fn=die_with_parent))
        start_all(om, runs[len(runs) // 2:])
        ending = [m for m, kind in missions.items() if kind in ("stop", "kill")]
        must(lambda: all(any(c["state"] == "running" for _, c in events.about(m)) for m in ending), timeout=120,
             what="the missions to stop and kill running")
        om("stop", *[m for m in ending if missions[m] == "stop"])
        om("kill", *[m for m in ending if missions[m] == "kill"])
        # Every mission's last end told (or, if the feed never tells it, a timeout and the comparison below).
        wait_until(lambda: all((c := [c for _, c in events.about(m)]) and c[-1]["state"] == FINAL[kind]
                               for m, kind in missions.items()), 180)
        # Anything still to come about them comes before a later mission's end: wait for one.
        sentinel = om.run("true", "--name", f"{name}-last")["name"]
        for feed in (events, late):
            must(lambda f=feed: any(c["event"] == "finished" for _, c in f.about(sentinel)), timeout=120,
                 what="the last mission's end")
        told = {m: [c for _, c in events.about(m)] for m in names}
        late_told = {m: [c for _, c in late.about(m)] for m in names}
    finally:
        if late is not None:
            late.proc.terminate()
            late.proc.wait(10)

    problems = []
    for mission, kind in missions.items():
        said = bus.of(f"{prefix}{mission.removeprefix(name + '-')}.service")

        def end(one: Said, kind: str = kind) -> str:
            return "killed" if kind == "kill" else "finished" if one.result == "success" else "crashed"

        expected = told_by_systemd(said, end)
        changes = told[mission]
        states = [c["state"] for c in changes]
        if states != expected:
            problems.append(f"{mission}: told {states}, systemd said {expected}"
                            f" ({[(round(s.at, 3), *s[1:5]) for s in said]}; told at {[c['at'] for c in changes]})")
            continue
        seqs = [c["seq"] for c in changes]
        previous = [c["previous"] for c in changes]
        if seqs != sorted(set(seqs)) or previous != [None, *states[:-1]]:
            problems.append(f"{mission}: seq {seqs}, previous {previous}")
        events_ = [c["event"] for c in changes]
        wanted = ["started" if p is None or p in ENDS else "finished" if s in ENDS else "changed"
                  for p, s in zip(previous, states, strict=True)]
        if events_ != wanted:
            problems.append(f"{mission}: events {events_}, not {wanted}")
        numbered = {(c["state"], c["seq"]) for c in changes}
        if not {(c["state"], c["seq"]) for c in late_told[mission]} <= numbered:
            problems.append(f"{mission}: the second feed (started at {started_late:.3f}) told"
                            f" {[(c['previous'], c['state'], c['seq'], c['at']) for c in late_told[mission]]}"
                            f" where the first told {sorted(numbered, key=lambda p: p[1])}; systemd said"
                            f" {[(round(s.at, 3), *s[1:5]) for s in said]}")
    assert not problems, f"{len(problems)} of {len(missions)} missions:\n" + "\n".join(problems[:20])
    om("gc")
