"""Acting from the TUI: a message to a real claude session (against the fake Messages API) with its
reply streamed in, and a new mission from the form, with bad input refused inline."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input, Label, RichLog, Static

from overmind.tui.screens.new import NewMission
from overmind.tui.screens.send import Send
from tests.helpers import Overmind
from tests.sessions.conftest import Claude
from tests.tui.conftest import command_input, nexus, table_rows, type_text, until

pytestmark = [pytest.mark.systemd]


@pytest.fixture
def claude_in_process(claude: Claude, monkeypatch: pytest.MonkeyPatch) -> Claude:
    for key in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, claude.om.env[key])
    return claude


def test_send_shows_the_sessions_reply_as_it_streams(claude_in_process: Claude, name: str) -> None:
    started = claude_in_process.run(name, session=True)

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await until(pilot, lambda: started["id"] in table_rows(app), what="the session's row")
            await pilot.press("slash")
            command_input(app).value = name
            await pilot.press("enter", "s")
            dialog = await until(pilot, lambda: app.screen if isinstance(app.screen, Send) else None, what="dialog")
            await pilot.press("enter")  # an empty message is refused inline
            await until(pilot, lambda: "empty message" in str(dialog.query_one("#error", Label).render()),
                        what="the refusal")
            await type_text(pilot, "hello there")
            await pilot.press("enter")
            reply = dialog.query_one(RichLog)
            shown = await until(pilot, lambda: "ok ·" in (text := "\n".join(s.text for s in reply.lines)) and text,
                                timeout=60, what="the reply and its result")
            assert "echo: hello there" in shown
            assert shown.index("> hello there") < shown.index("echo: hello there") < shown.index("ok ·")
            await pilot.press("escape")

    asyncio.run(asyncio.wait_for(scenario(), 120))


@pytest.mark.usefixtures("in_process")
def test_the_new_mission_form_refuses_bad_input_inline_then_starts_it(om: Overmind, name: str) -> None:
    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await pilot.press("n")
            form = await until(pilot, lambda: app.screen if isinstance(app.screen, NewMission) else None, what="form")
            error = form.query_one("#error", Static)
            await pilot.press("ctrl+r")  # no command
            await until(pilot, lambda: "empty command" in str(error.render()), what="the empty command refused")
            form.query_one("#command", Input).value = "sleep 300"
            form.query_one("#name", Input).value = "bad\0name"
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "invalid mission name" in str(error.render()), what="the NUL refused")
            form.query_one("#name", Input).value = name
            await pilot.press("ctrl+r")
            await until(pilot, lambda: not isinstance(app.screen, NewMission), what="the form to close")
            await until(pilot, lambda: any(name[:12] in cells[1] for cells in table_rows(app).values()),
                        what="the new row")
        assert om.status(name) == "running"

    asyncio.run(asyncio.wait_for(scenario(), 120))
