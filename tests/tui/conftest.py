"""The TUI driven by Textual's pilot, in this process, against the real systemd host and the test
run's missions; and the real `overmind tui` in tmux."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Static

from overmind.tui.app import Nexus
from overmind.tui.widgets import CommandBar
from tests.helpers import Overmind
from tests.sessions.conftest import claude, claude_bin, fake_api  # noqa: F401 (fixtures)

__all__ = ["claude", "claude_bin", "fake_api"]


@pytest.fixture
def in_process(om: Overmind, monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls made here reach the test run's missions and store."""
    for key in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, om.env[key])


@asynccontextmanager
async def nexus(size: tuple[int, int] = (120, 30)) -> AsyncIterator[tuple[Nexus, Pilot[None]]]:
    app = Nexus()
    async with app.run_test(size=size) as pilot:
        await until(pilot, app.loaded.is_set, what="the first listing")
        yield app, pilot


async def until(pilot: Pilot[Any], condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Let the app run until `condition()` holds (a deadline, never a bare sleep)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        await pilot.pause(0.05)


def table_rows(app: Nexus) -> dict[str, list[str]]:
    """The missions table as shown: row key (mission id) -> its cells as text."""
    table = app.screen.query_one(DataTable)
    return {str(key.value): [str(cell) for cell in table.get_row(key)] for key in table.rows}


def cells_of(app: Nexus, table: str) -> dict[str, list[str]]:
    """The table `table` (a selector) of the current view as shown: row key -> its cells as text."""
    found = app.screen.query_one(table, DataTable)
    return {str(key.value): [str(cell) for cell in found.get_row(key)] for key in found.rows}


def notices(app: Nexus) -> str:
    """What the app has notified, one notice a line."""
    return "\n".join(str(notification.message) for notification in app._notifications)


def command_input(app: Nexus) -> Input:
    return app.screen.query_one(CommandBar).query_one(Input)


def command_error(app: Nexus) -> str:
    return str(app.screen.query_one(CommandBar).query_one("#error", Static).render())


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*[{" ": "space", "/": "slash", ":": "colon", "!": "exclamation_mark"}.get(c, c) for c in text])
