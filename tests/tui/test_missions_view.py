"""The missions view with Textual's pilot: filtering, live rows, kill with confirmation, commands."""

from __future__ import annotations

import asyncio

import pytest

from overmind.tui.screens.logs import Logs
from overmind.tui.screens.missions import Missions
from overmind.tui.widgets import Confirm
from tests.helpers import Overmind
from tests.tui.conftest import command_error, command_input, nexus, table_rows, type_text, until

pytestmark = [pytest.mark.systemd, pytest.mark.usefixtures("in_process")]


def _run(coroutine: object) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 120))  # type: ignore[arg-type]


def test_the_filter_keeps_matching_rows_and_an_exclamation_mark_inverts_it(om: Overmind, name: str) -> None:
    alpha = om.run("sleep 300", "--name", f"{name}-alpha")["id"]
    beta = om.run("sleep 300", "--name", f"{name}-beta")["id"]

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await until(pilot, lambda: {alpha, beta} <= set(table_rows(app)), what="both rows")
            await pilot.press("slash")
            command_input(app).value = name
            await type_text(pilot, "-alp")
            await pilot.press("enter")
            assert list(table_rows(app)) == [alpha]
            await pilot.press("slash")
            command_input(app).value = f"!{name}-alp"
            await pilot.press("enter")
            assert beta in table_rows(app) and alpha not in table_rows(app)
            await pilot.press("slash")
            command_input(app).value = "("
            await pilot.press("enter")
            assert "not a regular expression" in command_error(app)
            await pilot.press("escape")  # closes the bar
            await pilot.press("escape")  # clears the filter
            assert {alpha, beta} <= set(table_rows(app))

    _run(scenario())


def test_kill_asks_first_and_the_row_turns_killed(om: Overmind, name: str) -> None:
    started = om.run("sleep 300", "--name", name)

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            screen = app.screen
            assert isinstance(screen, Missions)
            await pilot.press("ctrl+a")  # show killed missions too, to see the row change
            await until(pilot, lambda: started["id"] in table_rows(app), what="the row")
            await pilot.press("slash")
            command_input(app).value = name
            await pilot.press("enter")
            await pilot.press("ctrl+k")
            assert isinstance(app.screen, Confirm)
            await pilot.press("n")
            assert om.status(name) == "running"
            await pilot.press("ctrl+k")
            await pilot.press("y")
            await until(pilot, lambda: "killed" in table_rows(app)[started["id"]][2], what="the row to say killed")
            assert om.status(name) == "killed"

    _run(scenario())


def test_a_mission_started_elsewhere_appears_and_one_collected_disappears(om: Overmind, name: str) -> None:
    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await until(pilot, lambda: app.feed is not None and app.feed.signals.bus is not None, what="the feed")
            started = await asyncio.to_thread(om.run, "exit 4", "--name", name)
            await until(pilot, lambda: "crashed" in table_rows(app).get(started["id"], ["", "", ""])[2],
                        what="the new row, crashed")
            app.screen.query_one("DataTable").move_cursor(  # type: ignore[attr-defined]
                row=list(table_rows(app)).index(started["id"]))
            await asyncio.to_thread(om, "gc")
            await until(pilot, lambda: started["id"] not in table_rows(app), what="the row to go")
            await pilot.press("d")  # the selection moved on: nothing crashes
            await pilot.pause(0.2)

    _run(scenario())


def test_an_unknown_command_names_the_nearest_alias_and_logs_follow_new_lines(om: Overmind, name: str,
                                                                              tmp_path: object) -> None:
    go = f"{tmp_path}/go"
    om.run(f"echo first line; while [ ! -e {go} ]; do sleep 0.1; done; echo second line; sleep 300", "--name", name)

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await pilot.press("colon")
            await type_text(pilot, "misions")
            await pilot.press("enter")
            error = command_error(app)
            assert "unknown command ':misions'" in error and "did you mean :missions" in error
            await pilot.press("colon")  # the bar closed on the error: open it again
            command_input(app).value = f"logs {name}"
            await pilot.press("enter")
            logs = await until(pilot, lambda: app.screen if isinstance(app.screen, Logs) else None, what="logs")
            await until(pilot, lambda: any("first line" in e.message for e in logs.entries), what="the history")
            await asyncio.to_thread(open(go, "w").close)
            await until(pilot, lambda: any("second line" in e.message for e in logs.entries), what="a new line")
            await until(pilot, lambda: "second line" in "\n".join(line.text for line in logs.log_view.lines),
                        what="the new line on screen")
            await pilot.press("escape")
            assert isinstance(app.screen, Missions)

    _run(scenario())


def test_a_usage_reading_that_returns_after_the_mission_ended_does_not_put_its_old_status_back(
        om: Overmind, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from overmind.control import usage
    from overmind.tui import app as tui_app

    monkeypatch.setattr(tui_app, "RESOURCES_S", 3600)  # only the reading below, none of the app's own
    started = om.run("sleep 300", "--name", name)
    release, reading = threading.Event(), threading.Event()
    real_refresh = usage.refresh

    def slow_refresh(shown: list[object]) -> list[object]:  # cgroupfs read while the mission ends
        fresh = real_refresh(shown)  # type: ignore[arg-type]
        reading.set()
        release.wait(30)
        return fresh  # type: ignore[return-value]

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await until(pilot, lambda: app.live.is_set() and table_rows(app).get(started["id"]), what="the row, live")
            monkeypatch.setattr(usage, "refresh", slow_refresh)
            app._reread_running()
            await until(pilot, reading.is_set, what="the reading under way")
            await asyncio.to_thread(om, "stop", name)
            await until(pilot, lambda: app.views[started["id"]].status.state == "stopped", what="the feed's stop")
            release.set()
            await until(pilot, lambda: not any(w.group == "reread" and w.is_running for w in app.workers),
                        what="the reading taken in")
            await until(pilot, lambda: not app._flush_pending, what="the rows redrawn")
            assert app.views[started["id"]].status.state == "stopped"
            assert "stopped" in table_rows(app)[started["id"]]

    _run(scenario())
