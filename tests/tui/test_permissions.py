"""Permission requests of the real claude CLI answered from the TUI (Textual's pilot): `p` opens
what agents wait on, the whole input shows, `y` allows one (the tool runs), `N` denies another
with a message the agent reads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from overmind.tui.screens.permissions import DenyMessage, Permissions
from tests.sessions.conftest import Claude
from tests.sessions.test_claude_permissions import touching
from tests.tui.conftest import nexus, table_rows, until

pytestmark = [pytest.mark.systemd]


def test_requests_approved_and_denied_from_the_tui(claude: Claude, name: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, claude.om.env[key])
    built, shipped = tmp_path / "built", tmp_path / "shipped"
    command = touching(claude, "build it", built)
    touching(claude, "ship it", shipped)
    started = claude.run(name, "build it", "--on-permission", "ask", "--no-memory")
    refused = claude.run(f"{name}-no", "ship it", "--on-permission", "ask", "--no-memory")

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await until(pilot, lambda: any("needs you: permission for Bash(touch" in cell
                                           for cell in table_rows(app).get(started["id"], ())), 60,
                        "needs you in its row")
            await pilot.press("p")
            screen = await until(pilot, lambda: app.screen if isinstance(app.screen, Permissions) else None,
                                 what="the permissions view")
            table = screen.query_one(DataTable)

            def detail() -> str:
                return str(screen.query_one("#detail", Static).render())

            async def highlight(mission: dict[str, str]) -> None:
                """Move the cursor to the mission's request (other tests' may be listed too), and
                wait for its input to show below."""
                row = await until(pilot, lambda: next((i + 1 for i, r in enumerate(screen.shown)
                                                       if r.record.mission_id == mission["id"]), None), 60,
                                  "the request listed")
                table.move_cursor(row=row - 1, animate=False)
                await until(pilot, lambda: detail().startswith(f"{mission['name']}, request "),
                            what="the request highlighted")

            await highlight(started)
            assert command in detail()  # the whole input
            await pilot.press("y")
            await until(pilot, lambda: all(r.record.mission_id != started["id"] for r in screen.shown), 60,
                        "the request answered")

            await highlight(refused)
            await pilot.press("N")
            modal = await until(pilot, lambda: app.screen if isinstance(app.screen, DenyMessage) else None,
                                what="the message for the agent")
            modal.query_one(Input).value = "ship it on Monday"
            await pilot.press("enter")
            await until(pilot, lambda: all(r.record.mission_id != refused["id"] for r in screen.shown), 60,
                        "the denial")

    asyncio.run(asyncio.wait_for(scenario(), 240))
    claude.om("wait", name)
    assert built.exists()
    [answered] = claude.om.json("permissions", name, "--all")
    assert (answered["state"], answered["answered_by"]) == ("allowed", "tui")
    claude.om("wait", refused["name"])
    assert not shipped.exists()
    assert claude.om("result", refused["name"]).stdout == "tool said: ship it on Monday\n"
    [denied] = claude.om.json("permissions", refused["name"], "--all")
    assert (denied["state"], denied["answered_by"], denied["message"]) == ("denied", "tui", "ship it on Monday")
