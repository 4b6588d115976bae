"""`:missions` (and `:tree`): every mission and blueprint, live, with the actions on the selected one."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from overmind import format as fmt
from overmind.tui import cells
from overmind.tui.filtering import NONE, Filter
from overmind.tui.screens.base import View

if TYPE_CHECKING:
    from overmind.control.missions import Row

TICK_S = 1.0  # the uptime column counts up from the clock, without reading anything


class Missions(View):
    crumb = "missions"
    BINDINGS = [
        Binding("j", "cursor(1)", "down", show=False), Binding("k", "cursor(-1)", "up", show=False),
        Binding("g", "edge(False)", "top", show=False), Binding("G", "edge(True)", "bottom", show=False),
        Binding("slash", "filter", "filter", key_display="/"),
        Binding("enter,l", "logs", "logs"), Binding("d", "describe", "describe"),
        Binding("s", "send", "send"), Binding("a", "attach", "attach"), Binding("r", "restart", "restart"),
        Binding("ctrl+s", "end('stop', False)", "stop"), Binding("ctrl+k", "end('kill', False)", "kill"),
        Binding("K", "end('kill', True)", "kill tree"), Binding("S", "end('stop', True)", "stop tree", show=False),
        Binding("n", "new", "new"), Binding("p", "permissions", "permissions"),
        Binding("t", "toggle_tree", "tree", show=False),
        Binding("ctrl+a", "toggle_killed", "killed too", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.as_tree = False
        self.include_killed = False
        self.filter = NONE
        self.rows: list[Row] = []
        self.width_class = 0

    def body(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=False, id="missions")
        yield table

    def on_mount(self) -> None:
        self._columns()
        self.set_interval(TICK_S, self._tick)
        if self.nexus.loaded.is_set():
            self.views_changed(None)
        else:
            self.table.loading = True

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one(DataTable)

    def _columns(self) -> None:
        self.columns = cells.columns_for(self.app.size.width)
        self.table.clear(columns=True)
        for column in self.columns:
            self.table.add_column(column.title, key=column.key, width=column.width)

    def on_resize(self) -> None:
        if cells.columns_for(self.app.size.width) != self.columns:
            self._columns()
        self.views_changed(None, rebuild=True)

    # -- rows -------------------------------------------------------------------------------------
    def _arranged(self) -> list[Row]:
        from overmind.control.missions import arrange

        rows = arrange(list(self.nexus.views.values()), self.include_killed, self.as_tree)
        return [row for row in rows if self.filter.keeps(*cells.searchable(row))]

    def _cells(self, row: Row) -> list[str | Text]:
        return cells.cells(row, self.columns, self.nexus.usd.get(row.view.id), self.app.size.width)

    def views_changed(self, ids: set[str] | None, rebuild: bool = False) -> None:
        table = self.table
        table.loading = False
        if cells.columns_for(self.app.size.width) != self.columns:  # the terminal's size is known late
            self._columns()
            rebuild = True
        rows = self._arranged()
        order = [row.view.id for row in rows]
        if not rebuild and order == [row.view.id for row in self.rows]:
            for row in rows:
                if ids is None or row.view.id in ids:
                    for column, value in zip(self.columns, self._cells(row), strict=True):
                        table.update_cell(row.view.id, column.key, value)
            self.rows = rows
        else:
            selected = self.selected_id()
            self.rows = rows
            table.clear()
            for row in rows:
                table.add_row(*self._cells(row), key=row.view.id)
            if selected in order:
                table.move_cursor(row=order.index(selected), animate=False)
        self._title()

    def _title(self) -> None:
        mode = "tree" if self.as_tree else "missions"
        self.crumb = f"{mode}({len(self.rows)})" + (f" /{self.filter.text}" if self.filter.text else "")
        self.nexus.show_header(self)

    def _tick(self) -> None:
        """Uptime counts up: redraw the visible running rows' clock-derived cells."""
        table = self.table
        first = int(table.scroll_y)
        for row in self.rows[first:first + table.size.height]:
            if row.view.uptime is not None:
                table.update_cell(row.view.id, "uptime", fmt.duration(row.view.uptime))

    def selected_id(self) -> str | None:
        table = self.table
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row].view.id

    def selected(self) -> Row | None:
        chosen = self.selected_id()
        return next((row for row in self.rows if row.view.id == chosen), None)

    def focus_body(self) -> None:
        self.table.focus()

    # -- keys -------------------------------------------------------------------------------------
    def action_cursor(self, step: int) -> None:
        self.table.move_cursor(row=max(self.table.cursor_row + step, 0))

    def action_edge(self, bottom: bool) -> None:
        self.table.move_cursor(row=len(self.rows) - 1 if bottom else 0)

    def action_filter(self) -> None:
        from overmind.tui.widgets import CommandBar

        self.query_one(CommandBar).open("/", self.filter.text)

    def set_filter(self, text: str) -> None:
        self.filter = Filter.parse(text)
        self.views_changed(None)

    def action_back(self) -> None:
        if self.filter.text:  # esc first clears the filter, as in k9s
            self.filter = NONE
            self.views_changed(None)
        elif self.as_tree:
            self.show_tree(False)
        else:
            super().action_back()

    def show_tree(self, tree: bool) -> None:
        self.as_tree = tree
        self.views_changed(None)
        self.nexus.show_header(self)

    def action_toggle_tree(self) -> None:
        self.show_tree(not self.as_tree)

    def action_toggle_killed(self) -> None:
        self.include_killed = not self.include_killed
        self.views_changed(None)
        self.notify("killed missions shown" if self.include_killed else "killed missions hidden")

    def _chosen(self) -> Row | None:
        row = self.selected()
        if row is None:
            self.notify("no mission selected", severity="warning")
        return row

    def action_logs(self) -> None:
        if row := self._chosen():
            self.nexus.open_mission("logs", row.view.id)

    def action_describe(self) -> None:
        if row := self._chosen():
            self.nexus.open_mission("describe", row.view.id)

    def action_send(self) -> None:
        from overmind.tui.screens.send import Send

        if row := self._chosen():
            self.app.push_screen(Send(row.view.id, row.view.name))

    def action_permissions(self) -> None:
        self.nexus.action_open("permissions")

    def action_new(self) -> None:
        from overmind.tui.screens.new import NewMission

        self.app.push_screen(NewMission())

    async def action_restart(self) -> None:
        from overmind.control import lifecycle

        if row := self._chosen():
            mission = await self.nexus.attempt(lifecycle.restart, row.view.id)
            if mission is not None:
                self.notify(f"restarted {mission.name}")

    def action_end(self, verb: str, cascade: bool) -> None:
        from overmind.tui.widgets import Confirm

        row = self._chosen()
        if row is None:
            return
        view = row.view
        below = " and everything below it" if cascade and row.children else ""
        how = "SIGTERM, then SIGKILL after the grace period" if verb == "stop" else "SIGKILL"
        question = f"{verb.capitalize()} {view.type} '{view.name}' ({view.id}){below}?\n{how}"

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._end(verb, view.id, cascade), exit_on_error=False)

        self.app.push_screen(Confirm(question), answered)

    async def _end(self, verb: str, mission_id: str, cascade: bool) -> None:
        from overmind.control import lifecycle
        from overmind.control.missions import resolve

        def end() -> list[lifecycle.Ended]:
            chosen = [resolve(mission_id)]
            return (lifecycle.stop if verb == "stop" else lifecycle.kill)(chosen, cascade=cascade)

        ended = await self.nexus.attempt(end)
        if ended:
            self.notify(f"{'stopped' if verb == 'stop' else 'killed'} " + ", ".join(e.name for e in ended))

    def action_attach(self) -> None:
        """Hand the terminal to the real `overmind attach`, and take it back when it returns."""
        row = self._chosen()
        if row is None:
            return
        with self.app.suspend():
            code, said = _attach(row.view.id)
        # What attach said last (why it could not, or that the session goes on in the background).
        if said:
            last = said[-2:] if code and said[-1].startswith("(") else said[-1:]
            self.notify(" ".join(last), severity="error" if code else "information")


def _attach(mission_id: str) -> tuple[int, list[str]]:
    """Run the real `overmind attach` in this terminal: its messages (how to detach, why it
    cannot) reach the terminal as it says them, and are kept to show in the app afterwards."""
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "overmind", "attach", mission_id], stderr=subprocess.PIPE)
    assert proc.stderr is not None
    said: list[bytes] = []

    def relay() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            said.append(line)
            os.write(2, line)

    relaying = threading.Thread(target=relay, daemon=True)
    relaying.start()
    code = proc.wait()
    relaying.join(timeout=5)
    return code, [line.decode(errors="replace").strip().removeprefix("overmind: ") for line in said if line.strip()]
