"""What needs a person, told once: the watcher over a real outbox (SQLite in tmp_path), fed the
change feed's changes as `overmind events --json` prints them for real missions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from overmind.control.feed import Change
from overmind.control.notify_outbox import Notice, Outbox
from overmind.control.notify_watch import SETTLE_S, Watcher


class Facts:
    """The store's answers, as a test sets them (pure logic: the store is tested elsewhere)."""

    def __init__(self) -> None:
        self.crashes: dict[str, str | None] = {}
        self.turns: dict[str, int] = {}

    def crash(self, mission_id: str) -> str | None:
        return self.crashes.get(mission_id, "exit 1")

    def window(self, mission_id: str) -> float:
        return 60.0

    def turn(self, mission_id: str) -> int:
        return self.turns.get(mission_id, 0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.db")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def watcher(outbox: Outbox, clock: Clock) -> Watcher:
    return Watcher(outbox, Facts(), clock)


def mission(name: str = "build", status: str = "running", reason: str | None = None, **more: Any) -> dict[str, Any]:
    return {"id": f"id-{name}", "name": name, "type": "task", "status": status, "reason": reason,
            "exit_code": None, "status_text": None, "finished_at": None, **more}


def change(data: dict[str, Any], previous: str | None, state: str, seq: int, at: float = 1000.0,
           event: str = "changed") -> Change:
    return Change("mission", event, data["id"], data["name"], at, data, seq, previous, state)


def due(outbox: Outbox, clock: Clock) -> list[Notice]:
    """What goes out now (released as the service does, to no channel)."""
    found = outbox.due(clock.now)
    for notice in found:
        outbox.release(notice, [], clock.now)
    return found


def test_a_crash_is_one_notice_however_often_its_transition_is_told(watcher: Watcher, outbox: Outbox,
                                                                     clock: Clock) -> None:
    crashed = change(mission(status="crashed", reason="exit 3"), "stopping", "crashed", 5, event="finished")
    watcher.change(crashed)
    watcher.change(crashed)  # a feed that reconnects tells it again under the same seq
    notices = due(outbox, clock)
    assert [(n.event, n.title, n.message) for n in notices] == [("crashed", "build crashed", "exit 3")]
    watcher.change(crashed)
    assert due(outbox, clock) == []


def test_a_second_watcher_on_the_same_outbox_claims_nothing_twice(tmp_path: Path, clock: Clock) -> None:
    crashed = change(mission(status="crashed", reason="exit 3"), "stopping", "crashed", 5)
    first = Outbox(tmp_path / "outbox.db")
    Watcher(first, Facts(), clock).change(crashed)
    first.close()
    again = Outbox(tmp_path / "outbox.db")  # the service restarted
    Watcher(again, Facts(), clock).change(crashed)
    assert len(due(again, clock)) == 1


def test_a_crash_loop_folds_into_one_breaker_notice(watcher: Watcher, outbox: Outbox, clock: Clock) -> None:
    data = mission(name="loop")
    for n, at in enumerate((1000.0, 1012.0, 1025.0)):  # three crashes that systemd restarted
        watcher.change(change(data, "stopping", "restarting", 6 * n + 4, at))
        watcher.change(change(data, "restarting", "running", 6 * n + 8, at + 1))
        clock.now = at + 2
        assert due(outbox, clock) == []  # held while the loop goes on
    tripped = mission(name="loop", status="crashed", reason="gave up after 2 restarts: exit 1")
    clock.now = 1040.0
    watcher.change(change(tripped, "restarting", "crashed", 17, 1040.0, "finished"))
    [notice] = due(outbox, clock)
    assert notice.event == "breaker"
    assert notice.message == "crashed 3 times in 40 s, breaker tripped (gave up after 2 restarts: exit 1)"
    assert notice.data["crashes"] == 3


def test_a_crash_that_systemd_restarted_is_told_once_the_mission_stays_up(watcher: Watcher, outbox: Outbox,
                                                                          clock: Clock) -> None:
    data = mission(name="flaky")
    watcher.change(change(data, "stopping", "restarting", 4, 1000.0))
    watcher.change(change(data, "restarting", "running", 8, 1001.0))
    clock.now = 1059.0
    assert due(outbox, clock) == []
    clock.now = 1060.0  # a whole restart window without a crash
    [notice] = due(outbox, clock)
    assert (notice.event, notice.message) == ("crashed", "crashed (exit 1); systemd restarted it")


def test_a_clean_exit_that_restart_always_restarts_is_no_crash(outbox: Outbox, clock: Clock) -> None:
    facts = Facts()
    facts.crashes["id-web"] = None
    watcher = Watcher(outbox, facts, clock)
    watcher.change(change(mission(name="web"), "stopping", "restarting", 4))
    clock.now += 3600
    assert due(outbox, clock) == []


def test_a_crash_loop_a_person_stopped_is_told_as_it_was(watcher: Watcher, outbox: Outbox, clock: Clock) -> None:
    data = mission(name="loop")
    watcher.change(change(data, "stopping", "restarting", 4, 1000.0))
    watcher.change(change(data, "restarting", "running", 8, 1001.0))
    watcher.change(change(mission(name="loop", status="stopped"), "stopping", "finished", 11, 1005.0))
    assert [(n.event, n.message) for n in due(outbox, clock)] == [
        ("crashed", "crashed (exit 1); systemd restarted it; then it was stopped"),
        ("finished", "finished")]


def test_a_session_is_told_waiting_once_it_has_waited_a_moment(watcher: Watcher, outbox: Outbox,
                                                               clock: Clock) -> None:
    waiting = mission(name="chat", type="session", status_text="waiting for input")
    watcher.change(change(waiting, "running", "running", 2))
    assert due(outbox, clock) == []
    clock.now += SETTLE_S
    [notice] = due(outbox, clock)
    assert (notice.event, notice.title) == ("waiting", "chat waits for your message")
    watcher.change(change(waiting, "running", "running", 2))  # news within the same wait
    clock.now += SETTLE_S
    assert due(outbox, clock) == []


def test_a_session_that_got_its_prompt_at_once_is_not_told_waiting(watcher: Watcher, outbox: Outbox,
                                                                   clock: Clock) -> None:
    waiting = mission(name="chat", type="session", status_text="waiting for input")
    watcher.change(change(waiting, "running", "running", 2))
    watcher.change(change({**waiting, "status_text": "working: Bash(pytest)"}, "running", "running", 2))
    clock.now += 10
    assert due(outbox, clock) == []


def test_each_turn_of_a_session_waits_anew(outbox: Outbox, clock: Clock) -> None:
    facts = Facts()
    watcher = Watcher(outbox, facts, clock)
    waiting = mission(name="chat", type="session", status_text="waiting for input")
    working = {**waiting, "status_text": "working"}
    for turn in (3, 9):
        facts.turns["id-chat"] = turn
        watcher.change(change(waiting, "running", "running", 2))
        clock.now += SETTLE_S
        assert [n.event for n in due(outbox, clock)] == ["waiting"]
        watcher.change(change(working, "running", "running", 2))


def test_a_permission_request_is_one_notice_from_its_event_and_its_mission(watcher: Watcher, outbox: Outbox,
                                                                          clock: Clock) -> None:
    request = {"request": 1, "label": "Bash(npm publish)", "tool": "Bash", "state": "pending"}
    watcher.change(Change("permission", "asked", "id-ship", "ship", 1000.0, {**request, "name": "ship"}))
    watcher.change(change(mission(name="ship", permissions=[request]), "running", "running", 2))
    [notice] = due(outbox, clock)
    assert (notice.event, notice.title) == ("permission", "ship asks permission")
    assert notice.message.startswith("Bash(npm publish): overmind approve ship 1")


def test_a_failed_blueprint_and_a_failed_ritual_run_are_told_once_each(watcher: Watcher, outbox: Outbox,
                                                                       clock: Clock) -> None:
    blueprint = {"id": "bp1", "name": "pipeline", "status": "failed", "reason": "build", "applied_at": 5.0}
    ritual = {"name": "nightly", "running": False, "last_result": "exit 2", "runs": 4, "last_run_at": 990.0}
    for _ in range(2):
        watcher.change(Change("blueprint", "finished", "bp1", "pipeline", 1000.0, blueprint))
        watcher.change(Change("ritual", "fired", "nightly", "nightly", 1000.0, ritual))
    assert [(n.event, n.title) for n in due(outbox, clock)] == [
        ("blueprint-failed", "blueprint pipeline failed"), ("ritual-failed", "ritual nightly failed")]
    watcher.change(Change("ritual", "fired", "nightly", "nightly", 1000.0, {**ritual, "last_result": "ok", "runs": 5}))
    assert due(outbox, clock) == []


class FakeView:
    def __init__(self, data: dict[str, Any], kind: str = "mission") -> None:
        self.data, self.kind, self.id, self.name = data, kind, data["id"], data["name"]

    def to_json(self) -> dict[str, Any]:
        return self.data


def test_the_first_start_takes_note_of_old_crashes_and_tells_none(watcher: Watcher, outbox: Outbox,
                                                                   clock: Clock) -> None:
    old = mission(name="old", status="crashed", reason="exit 1", finished_at=10.0)
    watcher.catch_up([FakeView(old)], {"id-old": ("crashed", 5)}, [])  # type: ignore[list-item]
    assert due(outbox, clock) == []
    watcher.change(change(old, "stopping", "crashed", 5))  # the feed tells it after all
    assert due(outbox, clock) == []


def test_a_restart_tells_what_ended_while_the_service_was_down_and_nothing_it_told(outbox: Outbox,
                                                                                   clock: Clock) -> None:
    told = mission(name="told", status="crashed", reason="exit 1", finished_at=1000.0)
    Watcher(outbox, Facts(), clock).catch_up([], {}, [])  # the first start
    first = Watcher(outbox, Facts(), clock)
    first.change(change(told, "stopping", "crashed", 5))
    first.alive(1000.0)
    assert len(due(outbox, clock)) == 1
    clock.now = 1100.0  # down from 1000 to 1100; one more crashed meanwhile
    missed = mission(name="missed", status="crashed", reason="exit 2", finished_at=1050.0)
    views = [FakeView(told), FakeView(missed)]
    Watcher(outbox, Facts(), clock).catch_up(views, {"id-told": ("crashed", 5), "id-missed": ("crashed", 5)},
                                             [])  # type: ignore[arg-type]
    assert [(n.name, n.message) for n in due(outbox, clock)] == [("missed", "exit 2")]


def test_a_crash_loop_held_when_the_service_stopped_goes_on_after_it(tmp_path: Path, clock: Clock) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    data = mission(name="loop")
    Watcher(outbox, Facts(), clock).change(change(data, "stopping", "restarting", 4, 1000.0))
    outbox.close()
    again = Outbox(tmp_path / "outbox.db")
    watcher = Watcher(again, Facts(), clock)
    watcher.change(change(data, "stopping", "restarting", 10, 1010.0))
    tripped = mission(name="loop", status="crashed", reason="gave up after 1 restart: exit 1")
    watcher.change(change(tripped, "restarting", "crashed", 11, 1011.0))
    [notice] = due(again, clock)
    assert notice.message.startswith("crashed 2 times in 11 s, breaker tripped")


def test_a_change_taken_in_halfway_claims_nothing_so_telling_it_again_makes_its_notice(
        outbox: Outbox, clock: Clock) -> None:
    class Failing(Facts):
        def window(self, mission_id: str) -> float:
            raise OSError("the store could not be read")

    data = mission(name="flaky")
    with pytest.raises(OSError):  # the key was claimed, then the notice could not be made: killed there
        Watcher(outbox, Failing(), clock).change(change(data, "stopping", "restarting", 4, 1000.0))
    watcher = Watcher(outbox, Facts(), clock)
    watcher.change(change(data, "stopping", "restarting", 4, 1000.0))
    clock.now = 1060.0
    assert [n.event for n in due(outbox, clock)] == ["crashed"]
