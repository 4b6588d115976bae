"""`:permissions` (`p` from the missions): what agents wait on, the highlighted request's whole input
below; `y` allows it, `A` allows it and its kind of call for the rest of the mission, `N` denies
it with a message for the agent. Read again when the feed says a request was asked or answered."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from overmind import format as fmt
from overmind.tui.screens.base import View

if TYPE_CHECKING:
    from overmind.control.permissions import PermissionRequest

HEADERS = ("MISSION", "REQ", "TOOL USE", "ASKED", "DENIED IN")


class Permissions(View):
    crumb = "permissions"
    DEFAULT_CSS = """
    Permissions DataTable { height: 1fr; }
    Permissions #input { height: 12; border: solid $panel; }
    """
    BINDINGS = [Binding("y", "answer(True, False)", "approve"), Binding("A", "answer(True, True)", "approve always"),
                Binding("N", "deny", "deny"),
                Binding("j", "cursor(1)", "down", show=False), Binding("k", "cursor(-1)", "up", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[PermissionRequest] = []

    def body(self) -> ComposeResult:
        table: DataTable[str | Text] = DataTable(cursor_type="row", id="permissions")
        table.add_columns(*HEADERS)
        yield table
        with VerticalScroll(id="input"):
            yield Static("", id="detail")

    def on_mount(self) -> None:
        self.permissions_changed()

    def permissions_changed(self) -> None:
        self._read()

    # A worker made by @work starts the coroutine itself: a read cancelled by a newer one before it
    # began leaves nothing un-awaited behind.
    @work(exit_on_error=False, group="read", exclusive=True)
    async def _read(self) -> None:
        from overmind.control.permissions import pending

        found = await self.nexus.attempt(pending)
        if found is None:
            return
        table = self.query_one(DataTable)
        chosen = self._chosen()
        table.clear()
        self.shown = found
        now = time.time()
        for request in found:
            record = request.record
            table.add_row(request.name, str(record.number), Text(record.label, style="bold yellow"),
                          fmt.duration(now - record.asked_at) + " ago",
                          fmt.duration(max((request.expires_at or now) - now, 0)), key=_key(request))
        keys = [_key(r) for r in found]
        if chosen is not None and _key(chosen) in keys:
            table.move_cursor(row=keys.index(_key(chosen)), animate=False)
        self.crumb = f"permissions({len(found)})"
        self.nexus.show_header(self)
        self._show_detail()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        detail = self.query_one("#detail", Static)
        chosen = self._chosen()
        if chosen is None:
            detail.update(Text("no permission request is waiting", style="dim"))
            return
        record = chosen.record
        text = Text.assemble((f"{chosen.name}, request {record.number}: ", "bold"), (record.label, "bold yellow"),
                             "\n", json.dumps(record.input, indent=2, ensure_ascii=False), "\n")
        text.append(f"A allows from now on: {', '.join(record.rules)}", style="dim")
        detail.update(text)

    def _chosen(self) -> PermissionRequest | None:
        row = self.query_one(DataTable).cursor_row
        return self.shown[row] if 0 <= row < len(self.shown) else None

    # -- answering ----------------------------------------------------------------------------
    async def action_answer(self, allow: bool, always: bool, message: str | None = None) -> None:
        from overmind.control import permissions

        chosen = self._chosen()
        if chosen is None:
            self.notify("no permission request selected", severity="warning")
            return
        mission, number = chosen.record.mission_id, str(chosen.record.number)
        if allow:
            answered = await self.nexus.attempt(permissions.approve, mission, number, always, "tui")
        else:
            answered = await self.nexus.attempt(permissions.deny, mission, number, message, "tui")
        if answered is not None:
            verb = "allowed" if allow else "denied"
            self.notify(f"{verb} {answered.name} request {number}: {answered.record.label}")
            self.permissions_changed()

    def action_deny(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            self.notify("no permission request selected", severity="warning")
            return

        def answered(message: str | None) -> None:
            if message is not None:
                self.run_worker(self.action_answer(False, False, message or None), exit_on_error=False)

        self.app.push_screen(DenyMessage(f"deny {chosen.name} {chosen.record.label}"), answered)

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(table.cursor_row + step, 0))

    def focus_body(self) -> None:
        self.query_one(DataTable).focus()


def _key(request: PermissionRequest) -> str:
    return f"{request.record.mission_id}/{request.record.number}"


class DenyMessage(ModalScreen["str | None"]):
    """What the agent is told: Enter denies (empty: the default words), Esc keeps the request."""

    DEFAULT_CSS = """
    DenyMessage { align: center middle; }
    DenyMessage > Vertical { width: 80%; height: auto; border: thick $error; padding: 1 2; background: $surface; }
    """
    BINDINGS = [Binding("escape", "cancel", "keep it")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Input(placeholder="tell the agent why (optional); Enter denies, Esc keeps it", id="message")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
