"""`:hosts`: every host `hosts ls` knows, with its facts, and the missions of all of them in one
table with a HOST column (`/h1` keeps one host's). Each host is asked at once
(overmind.control.fleet): one that does not answer is one line, and never holds the others'.
A host's text is hostile input: its control characters are shown as text."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from overmind.tui.filtering import NONE, Filter
from overmind.tui.screens.base import View


class Hosts(View):
    crumb = "hosts"
    BINDINGS = [Binding("r", "reread", "ask again"), Binding("slash", "filter", "filter", key_display="/")]

    def __init__(self) -> None:
        super().__init__()
        self.found: tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str]]] | None = None
        self.filter = NONE

    def body(self) -> ComposeResult:
        with VerticalScroll(id="hosts"):
            yield Static(Text("asking the hosts…", style="dim"), id="fleet")

    def on_mount(self) -> None:
        self.action_reread()

    def action_reread(self) -> None:
        self.run_worker(self._read(), exit_on_error=False, group="read", exclusive=True)

    def action_filter(self) -> None:
        from overmind.tui.widgets import CommandBar

        self.query_one(CommandBar).open("/", self.filter.text)

    def set_filter(self, text: str) -> None:
        self.filter = Filter.parse(text)
        self._show()

    async def _read(self) -> None:
        from overmind.control import fleet, hosts

        def read() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, str]]]:
            listed, found = hosts.listing(), fleet.missions("all")
            return [h.to_json() for h in listed], found.rows, found.unreachable

        self.found = await self.nexus.attempt(read)
        self._show()

    def _show(self) -> None:
        if self.found is not None:
            listed, rows, unreachable = self.found
            kept = [row for row in rows if self.filter.keeps(str(row.get("host")), str(row.get("name")),
                                                             str(row.get("status")))]
            self.query_one("#fleet", Static).update(render(listed, kept, unreachable, self.filter.text))


def _cell(value: Any) -> Text:
    from overmind.remote.text import printable_line

    return Text(printable_line("-" if value is None else str(value)))


def render(listed: list[dict[str, Any]], rows: list[dict[str, Any]], unreachable: list[tuple[str, str]],
           filtered: str = "") -> Group:
    from overmind import format as fmt

    machines = Table("HOST", "ADDRESS", "STATE", "OVERMIND", "SYSTEMD", "MISSIONS", "LOAD", "FREE", "RTT",
                     box=None, header_style="bold", pad_edge=False)
    for h in listed:
        state = Text(h["error"], style="bold red") if h["error"] else Text("reachable", style="green")
        missions = ", ".join(f"{n} {s}" for s, n in (h.get("missions") or {}).items()) or "-"
        load = " ".join(f"{value:.2f}" for value in h["load"]) if h.get("load") else "-"
        free = h.get("mem_available_bytes")
        machines.add_row(_cell(h["name"]), _cell(h["address"]), state, _cell(h.get("overmind_version")),
                         _cell(h.get("systemd_version")), _cell(missions), _cell(load),
                         fmt.size(free) if isinstance(free, int) else "-",
                         f"{h['rtt_ms']} ms" if h.get("rtt_ms") is not None else "-")
    table = Table("HOST", "NAME", "TYPE", "STATUS", "UPTIME", "COMMAND", box=None, header_style="bold",
                  pad_edge=False)
    for row in rows:
        uptime = row.get("uptime_s")
        table.add_row(_cell(row.get("host")), _cell(row.get("name")), _cell(row.get("type")),
                      _cell(row.get("status")), fmt.duration(uptime) if isinstance(uptime, (int, float)) else "-",
                      _cell(fmt.truncate(str(row.get("command") or ""), 60)))
    title = "missions on every host" + (f" (filter /{filtered})" if filtered else "")
    parts: list[Any] = [machines, Text(""), Text(title, style="bold underline"), table]
    parts += [Text(f"{host}: {why}", style="bold red") for host, why in unreachable]
    return Group(*parts)
