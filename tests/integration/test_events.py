"""`overmind events`: the change feed, checked against systemd's own signals on the user bus."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from overmind.systemd.objects import unit_object_path
from tests.helpers import Overmind, die_with_parent, must, wait_until

LATENCY_S = 0.2


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


class ActiveStates:
    """What systemd itself announces about a unit: (time received, ActiveState) per change."""

    def __init__(self, env: dict[str, str], unit: str) -> None:
        self.changes: list[tuple[float, str]] = []
        self.address = f"unix:path={env['XDG_RUNTIME_DIR']}/bus"
        self.path = unit_object_path(unit)
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_until_complete, args=(self._listen(),), daemon=True).start()
        assert self.ready.wait(10), "could not listen on the user bus"

    async def _listen(self) -> None:
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        bus = await MessageBus(bus_address=self.address, bus_type=BusType.SESSION).connect()

        def on_message(message: Message) -> None:
            if message.message_type == MessageType.SIGNAL and message.member == "PropertiesChanged":
                state = message.body[1].get("ActiveState")
                if state is not None:
                    self.changes.append((time.time(), state.value))

        bus.add_message_handler(on_message)
        rule = f"type='signal',sender='org.freedesktop.systemd1',path='{self.path}'"
        await bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                               interface="org.freedesktop.DBus", member="AddMatch", signature="s", body=[rule]))
        await bus.call(Message(destination="org.freedesktop.systemd1", path="/org/freedesktop/systemd1",
                               interface="org.freedesktop.systemd1.Manager", member="Subscribe"))
        self.ready.set()
        await asyncio.Event().wait()

    def first(self, *states: str, after: float = 0.0) -> float:
        return next(at for at, state in self.changes if state in states and at >= after)


@pytest.fixture
def events(om: Overmind, name: str) -> Iterator[Lines]:
    proc = subprocess.Popen([sys.executable, "-m", "overmind", "events", "--json"], env=om.env,
                            stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            preexec_fn=die_with_parent)
    lines = Lines(proc)
    # The feed is listening once a mission started after it shows up in it (one started before
    # the feed took its first look is no news): probe until one does.
    def probe(n: int) -> bool:
        started = om.run("sleep 1", "--name", f"{name}-probe{n}")["name"]
        return bool(wait_until(lambda: lines.about(started), 3))

    assert any(probe(n) for n in range(20)), "the feed never reported a probe mission"
    try:
        yield lines
    finally:
        proc.terminate()
        proc.wait(10)


def test_events_stream_a_missions_start_running_and_exit_in_order_within_200ms_of_systemd(
        om: Overmind, name: str, events: Lines) -> None:
    unit = f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}.service"
    states = ActiveStates(om.env, unit)
    om("run", "--name", name, "sleep 1; exit 3")
    must(lambda: any(c["event"] == "finished" for _, c in events.about(name)), timeout=20,
         what="the mission's end in the feed")
    seen = events.about(name)
    kinds = [c["event"] for _, c in seen]
    assert kinds[0] == "started" and kinds[-1] == "finished" and kinds.count("finished") == 1
    assert all(c["type"] == "mission" and c["version"] == 1 for _, c in seen)
    stamps = [c["at"] for _, c in seen]
    assert stamps == sorted(stamps)
    running = next((at, c) for at, c in seen if c["mission"]["status"] == "running" and c["mission"]["os_pid"])
    end = seen[-1]
    assert end[1]["mission"]["status"] == "crashed" and end[1]["mission"]["exit_code"] == 3
    active = states.first("active")  # (each start announces "inactive" first)
    assert running[0] - active <= LATENCY_S
    assert end[0] - states.first("failed", "inactive", after=active) <= LATENCY_S


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
