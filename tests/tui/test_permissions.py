"""A permission request of the real claude CLI approved from the TUI (Textual's pilot): `p` opens
what agents wait on, the whole input shows, `y` allows it and the tool runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from overmind.tui.screens.permissions import Permissions
from tests.sessions.conftest import Claude
from tests.sessions.test_claude_permissions import touching
from tests.tui.conftest import nexus, table_rows, until

pytestmark = [pytest.mark.systemd]


def test_a_request_approved_from_the_tui_runs_the_tool(claude: Claude, name: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, claude.om.env[key])
    target = tmp_path / "built"
    command = touching(claude, "build it", target)
    started = claude.run(name, "build it", "--on-permission", "ask", "--no-memory")

    async def scenario() -> None:
        async with nexus() as (app, pilot):
            row = await until(pilot, lambda: table_rows(app).get(started["id"]), 60, "the mission's row")
            await until(pilot, lambda: any("needs you: permission for Bash(touch" in cell
                                           for cell in table_rows(app)[started["id"]]), 60, "needs you in its row")
            assert row
            await pilot.press("p")
            screen = await until(pilot, lambda: app.screen if isinstance(app.screen, Permissions) else None,
                                 what="the permissions view")
            table = screen.query_one(DataTable)
            await until(pilot, lambda: table.row_count == 1, 60, "the request listed")
            detail = str(screen.query_one("#detail", Static).render())
            assert command in detail and name in detail
            await pilot.press("y")
            await until(pilot, lambda: table.row_count == 0, 60, "the request answered")

    asyncio.run(asyncio.wait_for(scenario(), 180))
    claude.om("wait", name)
    assert target.exists()
    [answered] = claude.om.json("permissions", name, "--all")
    assert (answered["state"], answered["answered_by"]) == ("allowed", "tui")
