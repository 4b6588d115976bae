"""`:rituals`: scheduled missions with their schedule, next and last run and its result; `r`
runs the selected one now. Updated when the feed says a ritual fired or changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from overmind import format as fmt
from overmind.tui.cells import status_text
from overmind.tui.filtering import NONE, Filter
from overmind.tui.screens.base import View

if TYPE_CHECKING:
    from overmind.rituals.views import RitualView

HEADERS = ("NAME", "SCHEDULE", "NEXT", "LAST RUN", "RESULT", "RUNS", "ENABLED", "COMMAND")


class Rituals(View):
    crumb = "rituals"
    BINDINGS = [Binding("r", "run_now", "run now"), Binding("e", "toggle_enabled", "enable/disable"),
                Binding("slash", "filter", "filter", key_display="/"),
                Binding("j", "cursor(1)", "down", show=False), Binding("k", "cursor(-1)", "up", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.filter = NONE
        self.shown: list[RitualView] = []

    def body(self) -> ComposeResult:
        table: DataTable[str] = DataTable(cursor_type="row", id="rituals")
        table.add_columns(*HEADERS)
        yield table

    def on_mount(self) -> None:
        self.rituals_changed()

    def rituals_changed(self) -> None:
        self.run_worker(self._read(), exit_on_error=False, group="read", exclusive=True)

    async def _read(self) -> None:
        from overmind.control.rituals import listing

        found = await self.nexus.attempt(listing)
        if found is None:
            return
        table = self.query_one(DataTable)
        table.clear()
        self.shown = [v for v in found if self.filter.keeps(v.ritual.name, v.ritual.command)]
        for v in self.shown:
            data = v.to_json()
            state = "running" if v.running else ("stopped" if data["last_result"] in ("ok", "-") else "crashed")
            table.add_row(data["name"], data["schedule"], fmt.relative(data["next_run_at"]),
                          fmt.relative(data["last_run_at"]), status_text(state, data["last_result"]), str(data["runs"]),
                          "yes" if data["enabled"] else "no", fmt.truncate(data["command"], 60), key=data["name"])
        self.crumb = f"rituals({len(self.shown)})" + (f" /{self.filter.text}" if self.filter.text else "")
        self.nexus.show_header(self)

    def _chosen(self) -> RitualView | None:
        row = self.query_one(DataTable).cursor_row
        return self.shown[row] if 0 <= row < len(self.shown) else None

    async def action_run_now(self) -> None:
        from overmind.control.rituals import run_now

        if (chosen := self._chosen()) is not None and await self.nexus.attempt(run_now, chosen.ritual.name) is not None:
            self.notify(f"ritual {chosen.ritual.name} started")

    async def action_toggle_enabled(self) -> None:
        from overmind.control.rituals import disable, enable

        if (chosen := self._chosen()) is not None:
            switch = disable if chosen.enabled else enable
            if await self.nexus.attempt(switch, chosen.ritual.name) is not None:
                self.rituals_changed()

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(table.cursor_row + step, 0))

    def action_filter(self) -> None:
        from overmind.tui.widgets import CommandBar

        self.query_one(CommandBar).open("/", self.filter.text)

    def set_filter(self, text: str) -> None:
        self.filter = Filter.parse(text)
        self.rituals_changed()

    def focus_body(self) -> None:
        self.query_one(DataTable).focus()
