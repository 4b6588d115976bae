"""`:worktrees` (`wt`): every worktree, grouped by repository, with its missions and their status,
its work against its base, ports, services and age, live. `enter` shows its diff; `m` merges it
into its base, `ctrl+d` removes it (refused with unsaved work, as `worktree rm` is), `D` removes
it saving its work as a ref, `l` shows its mission's logs."""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from overmind import format as fmt
from overmind.tui.cells import STATUS_STYLES
from overmind.tui.filtering import NONE, Filter
from overmind.tui.screens.worktree_actions import WorktreeActions, work

HEADERS = ("NAME", "REPO", "BRANCH", "MISSIONS", "WORK", "PORTS", "SERVICES", "AGE")
SERVICE_STATES = {"active": "running", "failed": "crashed", "activating": "restarting", "deactivating": "stopping"}


def missions(row: dict[str, Any], states: dict[str, tuple[str, str]]) -> Text:
    text = Text()
    for index, name in enumerate(row["missions"]):
        if index:
            text.append(", ")
        text.append(fmt.caret(name))
        if name in states:
            state, label = states[name]
            text.append(f" {label}", style=STATUS_STYLES.get(state, ""))
    return text or Text("-", style="dim")


def services(row: dict[str, Any]) -> Text:
    text = Text()
    for index, service in enumerate(row["services"]):
        state = SERVICE_STATES.get(service["state"], "stopped")
        text.append((" " if index else "") + fmt.caret(service["name"]) + ":")
        text.append(service["state"], style=STATUS_STYLES.get(state, ""))
    return text or Text("-", style="dim")


def cells(row: dict[str, Any], states: dict[str, tuple[str, str]]) -> list[Text]:
    ports = " ".join(f"{variable}={port}" for variable, port in row["ports"].items()) or "-"
    return [Text(fmt.caret(row["name"]), style="bold"), Text(fmt.caret(os.path.basename(row["repo"])), style="dim"),
            Text(fmt.caret(row["branch"])), missions(row, states), work(row), Text(ports), services(row),
            Text(fmt.relative(row["created_at"]))]


class Worktrees(WorktreeActions):
    crumb = "worktrees"
    BINDINGS = [
        Binding("enter", "diff", "diff"), Binding("m", "merge", "merge"),
        Binding("ctrl+d", "remove(False)", "remove"), Binding("D", "remove(True)", "remove, saving work"),
        Binding("l", "logs", "logs"), Binding("slash", "filter", "filter", key_display="/"),
        Binding("j", "cursor(1)", "down", show=False), Binding("k", "cursor(-1)", "up", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = NONE
        self.rows: list[dict[str, Any]] = []
        self.shown: list[dict[str, Any]] = []

    def body(self) -> ComposeResult:
        table: DataTable[Text] = DataTable(cursor_type="row", id="worktrees")
        table.add_columns(*HEADERS)
        yield table
        yield Static(id="empty")

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#worktrees", DataTable)

    def on_mount(self) -> None:
        self.table.loading = True
        self.run_worker(self._follow(), exit_on_error=False, group="follow")

    async def _follow(self) -> None:
        from overmind.tui.towers import read_and_follow

        await self._read()
        await read_and_follow(self._read, await self.nexus.towers.worktrees())

    async def _read(self) -> None:
        found = await self.nexus.attempt(self.nexus.towers.board.rows)
        self.table.loading = False
        if found is not None:
            self.rows = sorted(found, key=lambda row: (row["repo"], -row["created_at"]))
            self._draw()

    def views_changed(self, ids: set[str] | None) -> None:
        if self.rows:
            self._draw()  # missions' statuses, from the app's live views

    def _states(self) -> dict[str, tuple[str, str]]:
        return {view.name: (view.status.state, view.status.label) for view in self.nexus.views.values()}

    def _draw(self) -> None:
        table = self.table
        selected = self.current()
        states = self._states()
        self.shown = [row for row in self.rows
                      if self.filter.keeps(row["name"], row["branch"], row["repo"], *row["missions"])]
        table.clear()
        for row in self.shown:
            table.add_row(*cells(row, states), key=row["name"])
        names = [row["name"] for row in self.shown]
        if selected is not None and selected["name"] in names:
            table.move_cursor(row=names.index(selected["name"]), animate=False)
        empty = self.query_one("#empty", Static)
        empty.update(Text("no worktrees: an agent started in a git repository gets one "
                          "(overmind run --provider claude ...), or overmind worktree add NAME", style="dim")
                     if not self.rows else "")
        self.crumb = f"worktrees({len(self.shown)})" + (f" /{self.filter.text}" if self.filter.text else "")
        self.nexus.show_header(self)

    def current(self) -> dict[str, Any] | None:
        row = self.table.cursor_row
        return self.shown[row] if self.shown and 0 <= row < len(self.shown) else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_diff()

    def action_diff(self) -> None:
        from overmind.tui.screens.diff import WorktreeDiff

        row = self._chosen()
        if row is not None:
            self.app.push_screen(WorktreeDiff(row["name"]))

    def action_cursor(self, step: int) -> None:
        self.table.move_cursor(row=max(self.table.cursor_row + step, 0))

    def action_filter(self) -> None:
        from overmind.tui.widgets import CommandBar

        self.query_one(CommandBar).open("/", self.filter.text)

    def set_filter(self, text: str) -> None:
        self.filter = Filter.parse(text)
        self._draw()

    def action_back(self) -> None:
        if self.filter.text:
            self.set_filter("")
        else:
            super().action_back()

    def focus_body(self) -> None:
        self.table.focus()
