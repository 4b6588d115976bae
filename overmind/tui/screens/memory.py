"""`:memory` (`mem`): the shared memory, newest first; `/` searches it by meaning (results ranked
by the memory service, `esc` goes back to the newest), `enter` shows one whole, `ctrl+d` forgets
it, `n` remembers something. Live: read again when the memory's files are written. Without
Akasha the view says so in one line, with the install command."""

from __future__ import annotations

import os
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from overmind import format as fmt
from overmind.tui.screens.base import View

NEWEST = 200
FOUND = 30
KIND_STYLES = {"pitfall": "red", "decision": "magenta", "howto": "green", "summary": "cyan", "fact": ""}


def one_line(text: str) -> str:
    return " ".join(fmt.caret(text).split())


def source(memory: dict[str, Any]) -> str:
    who = memory.get("agent") or "-"
    mission = memory.get("mission")
    return fmt.caret(who if not mission or who == mission else f"{who} ({mission})")


def cells(memory: dict[str, Any], searched: bool) -> list[Text]:
    found = [Text(memory["id"], style="dim"), Text(memory["kind"], style=KIND_STYLES.get(memory["kind"], "")),
             Text(fmt.caret(memory["scope"])), Text(f"{memory['count']}×"), Text(source(memory)),
             Text(fmt.relative(memory["last_seen"])), Text(fmt.truncate(one_line(memory["text"]), 200))]
    return [Text(f"{memory['score']:.2f}"), *found] if searched else found


class Memory(View):
    crumb = "memory"
    BINDINGS = [
        Binding("slash", "search", "search", key_display="/"), Binding("enter", "show", "show"),
        Binding("ctrl+d", "forget", "forget"), Binding("n", "remember", "remember"),
        Binding("j", "cursor(1)", "down", show=False), Binding("k", "cursor(-1)", "up", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""
        self.shown: list[dict[str, Any]] = []
        self.total = 0

    def body(self) -> ComposeResult:
        yield Static(id="problem")
        yield DataTable(cursor_type="row", id="memories")

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#memories", DataTable)

    def on_mount(self) -> None:
        self.table.loading = True
        self.run_worker(self._follow(), exit_on_error=False, group="follow")

    async def _follow(self) -> None:
        from overmind.tui.towers import read_and_follow

        await self._read()
        await read_and_follow(self._read, await self.nexus.towers.memory())

    async def _read(self) -> None:
        import asyncio

        from overmind.control import memory

        query = self.query_text

        def read() -> tuple[list[dict[str, Any]], int, str | None]:
            missing = memory.unavailable()
            if missing:
                return [], 0, missing
            try:
                if query:
                    hits = memory.search(query, n=FOUND)
                    return hits, len(hits), None
                found = memory.newest(limit=NEWEST)
                return found.memories, found.total, None
            except memory.AkashaError as error:
                return [], 0, memory.one_line(error)

        memories, total, problem = await asyncio.to_thread(read)
        if query != self.query_text:
            return  # a newer search is on its way
        self.shown, self.total = memories, total
        self._draw(problem)

    def _draw(self, problem: str | None) -> None:
        table = self.table
        table.loading = False
        chosen = self.current()
        searched = bool(self.query_text)
        table.clear(columns=True)
        headers = ["ID", "KIND", "SCOPE", "SEEN", "SOURCE", "WHEN", "TEXT"]
        headers = ["SCORE", *headers] if searched else headers
        rows = [cells(memory, searched) for memory in self.shown]
        # Widths given, not left to the table: it would show the new rows for a frame at their
        # headers' widths before measuring them.
        for index, header in enumerate(headers):
            table.add_column(header, width=max([len(header), *(row[index].cell_len for row in rows)]))
        for memory, row in zip(self.shown, rows, strict=True):
            table.add_row(*row, key=memory["id"])
        ids = [memory["id"] for memory in self.shown]
        if chosen is not None and chosen["id"] in ids:
            table.move_cursor(row=ids.index(chosen["id"]), animate=False)
        said = self.query_one("#problem", Static)
        if problem:
            said.update(Text(problem, style="bold red"))
        elif not self.shown:
            said.update(Text("no memory matches" if searched else
                             "no memories yet: agents feed it as their missions end; n teaches one", style="dim"))
        else:
            said.update("")
        if searched:
            self.crumb = f"memory /{self.query_text} ({len(self.shown)} best)"
        else:
            self.crumb = f"memory({len(self.shown)}" + (f" of {self.total})" if self.total > len(self.shown) else ")")
        self.nexus.show_header(self)

    def current(self) -> dict[str, Any] | None:
        row = self.table.cursor_row
        return self.shown[row] if self.shown and 0 <= row < len(self.shown) else None

    def _chosen(self) -> dict[str, Any] | None:
        memory = self.current()
        if memory is None:
            self.notify("no memory selected", severity="warning")
        return memory

    def action_search(self) -> None:
        from overmind.tui.widgets import CommandBar

        self.query_one(CommandBar).open("/", self.query_text)

    def set_filter(self, text: str) -> None:
        """`/`: a search by meaning, ranked by the memory service (empty: the newest again)."""
        if "\0" in text:
            from overmind.errors import OvermindError

            raise OvermindError("the search contains a NUL byte")
        self.query_text = text.strip()
        self.table.loading = True
        self.run_worker(self._read(), exit_on_error=False, group="read", exclusive=True)

    def action_back(self) -> None:
        if self.query_text:
            self.set_filter("")
        else:
            super().action_back()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show()

    def action_show(self) -> None:
        memory = self._chosen()
        if memory is not None:
            self.app.push_screen(MemoryShown(memory))

    def action_forget(self) -> None:
        memory = self._chosen()
        if memory is not None:
            forget(self, memory)

    def action_remember(self) -> None:
        self.app.push_screen(Remember())

    def action_cursor(self, step: int) -> None:
        self.table.move_cursor(row=max(self.table.cursor_row + step, 0))

    def focus_body(self) -> None:
        self.table.focus()


def forget(view: View, memory: dict[str, Any], then: Any = None) -> None:
    """Ask, then forget the memory (the views follow the store's change)."""
    from overmind.tui.widgets import Confirm

    async def go() -> None:
        from overmind.control.memory import forget as forget_memories

        done = await view.nexus.attempt(forget_memories, [memory["id"]])
        if done is None:
            return
        if done.missing:
            view.notify(f"no memory {memory['id']} (forgotten already)", severity="warning")
        else:
            view.notify(f"forgot {memory['id']}")
        if then is not None:
            then()

    question = f"Forget this memory for good?\n{fmt.truncate(one_line(memory['text']), 120)}"

    def answered(yes: bool | None) -> None:
        if yes:
            view.run_worker(go(), exit_on_error=False)

    view.app.push_screen(Confirm(question), answered)


class MemoryShown(View):
    """One memory, whole, with where it came from."""

    BINDINGS = [Binding("ctrl+d", "forget", "forget"), Binding("j", "scroll(1)", "down", show=False),
                Binding("k", "scroll(-1)", "up", show=False)]

    def __init__(self, memory: dict[str, Any]) -> None:
        super().__init__()
        self.memory = memory
        self.crumb = f"memory({memory['id']})"

    def body(self) -> ComposeResult:
        with VerticalScroll(id="memory"):
            yield Static(self._fields(), id="fields")

    def on_mount(self) -> None:
        self.call_after_refresh(self.nexus.show_header, self)  # once the header knows its width

    def _fields(self) -> Table:
        memory = self.memory
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", style="bold")
        table.add_column(overflow="fold")
        rows = [("id", memory["id"]), ("kind", memory["kind"]), ("scope", memory["scope"]),
                ("tags", ", ".join(memory["tags"]) or "-"), ("source", source(memory)),
                ("remembered", f"{memory['count']} time{'s' if memory['count'] != 1 else ''}"),
                ("first", fmt.relative(memory["created_at"])), ("last seen", fmt.relative(memory["last_seen"]))]
        for label, value in rows:
            table.add_row(label, Text(fmt.caret(value)))
        table.add_row("", "")
        table.add_row("text", Text(fmt.caret(memory["text"])))
        return table

    def action_forget(self) -> None:
        forget(self, self.memory, then=self.action_back)

    def action_scroll(self, step: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=step, animate=False)


class Remember(ModalScreen[None]):
    """`n`: remember a text (kind, scope: default this directory's repository, tags)."""

    DEFAULT_CSS = """
    Remember { align: center middle; }
    Remember > VerticalScroll { width: 90%; max-width: 100; height: auto; max-height: 100%;
                                border: thick $accent; padding: 0 1; background: $surface; }
    Remember Horizontal { height: auto; margin-top: 1; }
    Remember Select { width: 24; margin-right: 1; }
    Remember #error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "dismiss", "cancel"), Binding("ctrl+r", "remember", "remember")]

    def compose(self) -> ComposeResult:
        from overmind.control.memory import KINDS

        with VerticalScroll():
            yield Label(Text("remember: one or two sentences the next agent should know (Enter saves, Esc cancels)"))
            yield Input(placeholder="e.g. the parser tests need PARSER_FAST=1 on CI", id="text", compact=True)
            with Horizontal():
                yield Select([(kind, kind) for kind in KINDS], value="fact", allow_blank=False, id="kind",
                             compact=True)
                yield Input(placeholder="scope: this repository (or global, or a repository)", id="scope",
                            compact=True)
            yield Input(placeholder="tags, space separated", id="tags", compact=True)
            yield Static(id="error")
            with Horizontal():
                yield Button("remember", variant="primary", id="save", compact=True)
                yield Button("cancel", id="cancel", compact=True)

    def on_input_submitted(self) -> None:
        self.run_worker(self.action_remember(), exit_on_error=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.run_worker(self.action_remember(), exit_on_error=False)
        else:
            self.dismiss()

    async def action_remember(self) -> None:
        import asyncio

        from overmind.control.memory import remember
        from overmind.tui.failures import one_line as said

        text = self.query_one("#text", Input).value
        kind = str(self.query_one("#kind", Select).value)
        scope = self.query_one("#scope", Input).value.strip() or None
        tags = self.query_one("#tags", Input).value.replace(",", " ").split()
        error = self.query_one("#error", Static)
        error.update(Text("remembering…"))
        try:
            result = await asyncio.to_thread(lambda: remember(text, kind=kind, tags=tags, scope=scope, cwd=os.getcwd(),
                                                              agent="tui"))
        except Exception as failure:
            error.update(Text(said(failure)))
            return
        stored = result["memory"]
        self.notify(("remembered" if result["created"] else f"already known, seen {stored['count']} times")
                    + f": {stored['id']}", markup=False)
        self.dismiss()
