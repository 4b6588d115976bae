"""A change feed's readings that race the manager: its first look, and an end read after a restart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from overmind.control import feed_missions
from overmind.control.feed_missions import MissionBook
from overmind.control.feed_restarts import settle_restarts
from overmind.control.missions import views
from overmind.store import Exit, Mission, Store
from overmind.systemd.signals import Announcement


def test_a_run_that_ends_while_the_first_look_reads_its_view_is_still_to_be_told(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A mission created just before the feed listed the units, whose unit came after the listing
    # and whose run ended while the feed was still reading views (a busy machine): its view says
    # crashed, but the run began after the listing, so its start and end are news to come.
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    store = Store()
    listed_at = time.time()
    store.add(Mission("aaaaaaaa", "late", "om@late.service", "task", "raw", "exit 3", "/", None, {},
                      listed_at - 1, None, None))

    def views_while_the_run_ends(*args: Any, **kwargs: Any) -> Any:
        store.record_exit("aaaaaaaa", Exit(listed_at + 1, "exit-code", "exited", "3", False, listed_at + 0.5,
                                           1234, "a1"))
        return views(*args, **kwargs)

    monkeypatch.setattr(feed_missions, "views", views_while_the_run_ends)  # as the feed calls it
    book = MissionBook(None)
    book.start(store, {}, listed_at)
    machine = book.missions["aaaaaaaa"].machine
    assert (machine.state, machine.seq) == ("created", 0)


class _Signals:
    """A manager that, while a unit is read, says more of it (restarted, ran again, was collected):
    the read finds nothing loaded."""

    def __init__(self, said_meanwhile: dict[str, list[Announcement]]) -> None:
        self.said_meanwhile = said_meanwhile
        self.later: dict[str, list[Announcement]] = {}

    def waiting(self, unit: str) -> list[Announcement]:
        return list(self.later.get(unit, []))

    async def read_states(self, units: list[str], properties: tuple[str, ...]) -> dict[str, Any]:
        self.later = self.said_meanwhile
        return {}


def _said(serial: int, active: str, sub: str, invocation: str, result: str = "exit-code") -> Announcement:
    return Announcement(serial, float(serial), {"ActiveState": active, "SubState": sub, "InvocationID": invocation,
                                                "Result": result})


def test_an_end_that_systemd_restarted_is_no_end_when_the_unit_is_gone_by_the_time_it_is_read(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    store = Store()
    unit = "om@again.service"
    store.add(Mission("bbbbbbbb", "again", unit, "task", "raw", "exit 1", "/", None,
                      {"restart": {"policy": "on-failure"}}, time.time(), None, None))
    book = MissionBook(None)
    book.start(store, {}, time.time())
    announced = {unit: [_said(1, "deactivating", "stop-post", "a1"), _said(2, "failed", "failed", "a1")]}
    signals = _Signals({unit: [_said(3, "activating", "auto-restart", "a1"),
                               _said(4, "inactive", "dead", "b2", "success")]})
    asyncio.run(settle_restarts(announced, book, signals, True, {"unit_reads": 0}))  # type: ignore[arg-type]
    assert [a.props["SubState"] for a in announced[unit]] == ["stop-post"]


def test_a_mission_told_created_after_its_run_began_reads_as_starting_not_gone(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A busy feed learns of a new mission from the store only after its run hook recorded the
    # run's start, before it hears the unit: its creation is told as a start under way.
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path))
    store = Store()
    book = MissionBook(None)
    book.start(store, {}, time.time())
    store.add(Mission("cccccccc", "new", "om@new.service", "task", "raw", "sleep 300", "/", None, {}, time.time(),
                      None, None))
    store.run_started("cccccccc", "a1", time.time())
    told = book.advance(store, {}, True)
    [(_, transition, view)] = told.missions
    assert transition is not None and transition.state == "created"
    assert view.status.state == "running"
