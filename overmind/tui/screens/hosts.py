"""`:hosts`: every host `hosts ls` knows, with its facts, and the missions of all of them in one
table with a HOST column (`/h1` keeps one host's); stop, kill and restart act on the chosen one
wherever it runs. Each host is asked at once (overmind.control.fleet): one that does not answer
is one line, and never holds the others'. A host's text is hostile input: its control
characters are shown as text."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from overmind.tui.filtering import NONE, Filter
from overmind.tui.screens.base import View

Found = tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str]]]
COLUMNS = ("HOST", "NAME", "TYPE", "STATUS", "UPTIME", "COMMAND")


class Hosts(View):
    crumb = "hosts"
    BINDINGS = [Binding("slash", "filter", "filter", key_display="/"), Binding("r", "act('restart')", "restart"),
                Binding("ctrl+s", "act('stop')", "stop"), Binding("ctrl+k", "act('kill')", "kill"),
                Binding("ctrl+r", "reread", "ask again"),
                Binding("j", "cursor(1)", "down", show=False), Binding("k", "cursor(-1)", "up", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.found: Found | None = None
        self.filter = NONE

    def body(self) -> ComposeResult:
        yield Static(Text("asking the hosts…", style="dim"), id="machines")
        table: DataTable[Text] = DataTable(id="fleet", cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table

    def on_mount(self) -> None:
        self.action_reread()

    def focus_body(self) -> None:
        self.query_one(DataTable).focus()

    def action_reread(self) -> None:
        self.run_worker(self._read(), exit_on_error=False, group="read", exclusive=True)

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, table.cursor_row + step))

    def action_filter(self) -> None:
        from overmind.tui.widgets import CommandBar

        self.query_one(CommandBar).open("/", self.filter.text)

    def set_filter(self, text: str) -> None:
        self.filter = Filter.parse(text)
        self._show()

    def chosen(self) -> str | None:
        """The chosen row's reference: `NAME` here, `HOST:NAME` on another host."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_act(self, verb: str) -> None:
        from overmind.tui.widgets import Confirm

        ref = self.chosen()
        if ref is None:
            self.notify("no mission selected", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._act(verb, ref), exit_on_error=False)

        self.app.push_screen(Confirm(f"{verb.capitalize()} '{ref}'?"), answered)

    async def _act(self, verb: str, ref: str) -> None:
        from overmind.control.fleet import act_on

        said = await self.nexus.attempt(act_on, ref, verb)
        if said is not None:
            self.notify(said)
            await self._read()

    async def _read(self) -> None:
        from overmind.control import fleet, hosts

        def read() -> Found:
            listed, found = hosts.listing(), fleet.missions("all")
            return [h.to_json() for h in listed], found.rows, found.unreachable

        self.found = await self.nexus.attempt(read)
        self._show()

    def _show(self) -> None:
        if self.found is None:
            return
        listed, rows, unreachable = self.found
        self.query_one("#machines", Static).update(machines(listed, unreachable))
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            if self.filter.keeps(str(row.get("host")), str(row.get("name")), str(row.get("status"))):
                host, name = str(row.get("host")), str(row.get("name"))
                key = name if host == "local" else f"{host}:{name}"
                if key not in table.rows:
                    table.add_row(*cells(row), key=key)


def _cell(value: Any) -> Text:
    from overmind.remote.text import printable_line

    return Text(printable_line("-" if value is None else str(value)))


def cells(row: dict[str, Any]) -> list[Text]:
    from overmind import format as fmt

    uptime = row.get("uptime_s")
    return [_cell(row.get("host")), _cell(row.get("name")), _cell(row.get("type")), _cell(row.get("status")),
            Text(fmt.duration(uptime) if isinstance(uptime, (int, float)) else "-"),
            _cell(fmt.truncate(str(row.get("command") or ""), 60))]


def machines(listed: list[dict[str, Any]], unreachable: list[tuple[str, str]]) -> Group:
    from overmind import format as fmt

    table = Table("HOST", "ADDRESS", "STATE", "OVERMIND", "SYSTEMD", "MISSIONS", "LOAD", "FREE", "RTT",
                  box=None, header_style="bold", pad_edge=False)
    for h in listed:
        state = Text(h["error"], style="bold red") if h["error"] else Text("reachable", style="green")
        missions = ", ".join(f"{n} {s}" for s, n in (h.get("missions") or {}).items()) or "-"
        load = " ".join(f"{value:.2f}" for value in h["load"]) if h.get("load") else "-"
        free = h.get("mem_available_bytes")
        table.add_row(_cell(h["name"]), _cell(h["address"]), state, _cell(h.get("overmind_version")),
                      _cell(h.get("systemd_version")), _cell(missions), _cell(load),
                      fmt.size(free) if isinstance(free, int) else "-",
                      f"{h['rtt_ms']} ms" if h.get("rtt_ms") is not None else "-")
    lines = [Text(f"{host}: {why}", style="bold red") for host, why in unreachable]
    return Group(table, *lines, Text(""))
