"""`:describe NAME`: everything `overmind info` shows, read again when the mission changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from overmind.tui.cells import status_text
from overmind.tui.screens.base import View

if TYPE_CHECKING:
    from overmind.control.missions import View as MissionView


class Describe(View):
    crumb = "describe"
    BINDINGS = [Binding("l", "logs", "logs"), Binding("j", "scroll(1)", "down", show=False),
                Binding("k", "scroll(-1)", "up", show=False)]

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref
        self.crumb = f"describe({ref})"
        self.mission_id: str | None = None

    def body(self) -> ComposeResult:
        with VerticalScroll(id="describe"):
            yield Static(id="fields")

    def on_mount(self) -> None:
        self.run_worker(self._read(), exit_on_error=False, group="read", exclusive=True)

    async def _read(self) -> None:
        from overmind.control.describe import agent_rows, fields
        from overmind.control.missions import get

        def read() -> tuple[MissionView, list[tuple[str, str]], list[tuple[str, ...]]]:
            view = get(self.mission_id or self.ref)
            return view, fields(view), agent_rows(view)

        found = await self.nexus.attempt(read)
        if found is None:
            if self.mission_id is not None:
                self.query_one("#fields", Static).update(Text("this mission is gone (collected or forgotten)",
                                                              style="bold red"))
            return
        view, labelled, agents = found
        self.mission_id = view.id
        self.crumb = f"describe({view.name})"
        self.query_one("#fields", Static).update(render(view, labelled, agents))
        self.nexus.show_header(self)

    def views_changed(self, ids: set[str] | None) -> None:
        if self.mission_id is not None and (ids is None or self.mission_id in ids):
            self.run_worker(self._read(), exit_on_error=False, group="read", exclusive=True)

    def action_logs(self) -> None:
        self.nexus.open_mission("logs", self.mission_id or self.ref)

    def action_scroll(self, step: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=step, animate=False)


def render(view: MissionView, labelled: list[tuple[str, str]], agents: list[tuple[str, ...]]) -> Table | Text:
    from overmind.control.describe import AGENT_HEADERS

    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column(overflow="fold")
    for label, value in labelled:
        table.add_row(label, status_text(view.status.state, value) if label == "status" else value)
    if agents:
        members = Table(*AGENT_HEADERS, box=None, header_style="bold", pad_edge=False)
        for values in agents:
            members.add_row(*values)
        table.add_row("", "")
        table.add_row("agents", members)
    return table
