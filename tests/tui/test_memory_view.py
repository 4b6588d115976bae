"""`:memory` with Textual's pilot and the real memory service: a memory a finished agent mission
fed appears live, `/` finds it by a paraphrase, `enter` shows it, `ctrl+d` forgets it, `n`
remembers one; memories' text (Rich markup among it) is shown as it is."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest
from textual.widgets import DataTable, Input

from overmind.tui.app import Nexus
from overmind.tui.screens.memory import Memory, MemoryShown, Remember
from overmind.tui.widgets import Confirm
from tests.sessions.conftest import Claude
from tests.tui.conftest import cells_of, command_input, nexus, notices, until

pytestmark = [pytest.mark.systemd, pytest.mark.usefixtures("in_process")]


def _run(coroutine: object) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 420))  # type: ignore[arg-type]


def rows(app: Nexus) -> dict[str, list[str]]:
    return cells_of(app, "#memories")


def test_a_fed_memory_appears_live_is_found_by_meaning_shown_and_forgotten(claude: Claude, name: str) -> None:
    ticket = secrets.token_hex(3)
    task = f"Stop the nightly backup job from filling the disk with old snapshots (ticket {ticket})"

    async def scenario() -> None:
        async with nexus(size=(160, 40)) as (app, pilot):
            await pilot.press("7")
            assert isinstance(app.screen, Memory)
            await until(pilot, lambda: not app.screen.query_one("#memories", DataTable).loading, timeout=120,
                        what="the list (the memory service may start cold)")
            started = await asyncio.to_thread(claude.run, name, task)
            await asyncio.to_thread(claude.om, "wait", name, timeout=180)
            fed = await until(pilot, lambda: next((i for i, cells in rows(app).items() if ticket in cells[-1]), None),
                              timeout=90, what="the fed memory, live (embedded by the service, maybe cold)")
            assert rows(app)[fed][1] == "summary" and started["id"] in rows(app)[fed][4]

            await pilot.press("slash")
            command_input(app).value = "why does the disk run out of space every night"
            await pilot.press("enter")
            await until(pilot, lambda: "/why does the disk" in app.screen.crumb and rows(app), what="the search")
            first = next(iter(rows(app)))
            assert first == fed and float(rows(app)[first][0]) > 0.3  # ranked first, with its score

            await pilot.press("enter")
            assert isinstance(app.screen, MemoryShown)
            assert task in app.screen.memory["text"]
            await pilot.press("ctrl+d")
            assert isinstance(app.screen, Confirm)
            await pilot.press("y")
            await until(pilot, lambda: f"forgot {fed}" in notices(app), what="the forget")
            await until(pilot, lambda: isinstance(app.screen, Memory), what="back to the list")
            await until(pilot, lambda: fed not in rows(app), what="the memory gone from the list")

    _run(scenario())
    listed = json.loads(claude.om("akasha", "ls", "--all", "--scope", "all", "--json").stdout)
    assert ticket not in json.dumps(listed)


def test_n_remembers_and_markup_in_a_memory_is_shown_as_it_is(claude: Claude) -> None:
    text = f"[bold red]Never[/bold red] deploy on Fridays [link=http://x]{secrets.token_hex(3)}[/link]"

    async def scenario() -> None:
        async with nexus(size=(160, 40)) as (app, pilot):
            await pilot.press("7")
            await until(pilot, lambda: not app.screen.query_one("#memories", DataTable).loading, timeout=120,
                        what="the list (the memory service may start cold)")
            await pilot.press("n")
            assert isinstance(app.screen, Remember)
            app.screen.query_one("#text", Input).value = text
            app.screen.query_one("#scope", Input).value = "global"
            app.screen.query_one("#text", Input).focus()
            await pilot.press("enter")
            await until(pilot, lambda: "remembered: " in notices(app), timeout=60, what="the remember")
            found = await until(pilot, lambda: next((cells for cells in rows(app).values() if text in cells[-1]), None),
                                timeout=15, what="the memory, live, its text as written")
            assert found[1] == "fact"

    _run(scenario())


def test_without_akasha_the_view_says_so_in_one_line_with_the_install_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Static

    from overmind.akasha import client

    monkeypatch.setattr(client, "installed", lambda: False)  # chromadb and the model not importable

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await pilot.press("7")
            problem = app.screen.query_one("#problem", Static)
            said = await until(pilot, lambda: str(problem.render()), what="the one line")
            assert "Akasha is not installed" in said and "install-akasha.sh" in said
            assert not rows(app)
            await pilot.press("6")  # nothing else breaks
            assert app.screen.crumb.startswith("worktrees")

    _run(scenario())


def test_a_memory_server_that_cannot_be_reached_is_one_line_in_the_view(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Static

    monkeypatch.setenv("OVERMIND_AKASHA_URL", "http://127.0.0.1:9")  # a shared server that is down

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await pilot.press("7")
            problem = app.screen.query_one("#problem", Static)
            said = await until(pilot, lambda: str(problem.render()), timeout=90, what="the one line")
            assert "cannot be reached" in said and "\n" not in said.strip()
            assert not rows(app)
            await pilot.press("6")  # nothing else breaks
            assert app.screen.crumb.startswith("worktrees")

    _run(scenario())
