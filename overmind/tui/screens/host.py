"""`:host`: the systemd host missions run on (version, private or system manager, journald) and
the doctor's checks, each with how to fix it."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from overmind.tui.screens.base import View

CHECK_STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red"}


class Host(View):
    crumb = "host"
    BINDINGS = [Binding("r", "reread", "check again")]

    def body(self) -> ComposeResult:
        with VerticalScroll(id="host"):
            yield Static(Text("reading the host…", style="dim"), id="facts")

    def on_mount(self) -> None:
        self.action_reread()

    def action_reread(self) -> None:
        self.run_worker(self._read(), exit_on_error=False, group="read", exclusive=True)

    async def _read(self) -> None:
        from overmind.control.doctor import Check, run_all
        from overmind.control.host import status

        def read() -> tuple[dict[str, Any], list[Check]]:
            return status(), run_all()

        found = await self.nexus.attempt(read)
        if found is not None:
            facts, checks = found
            self.query_one("#facts", Static).update(render(facts, [c.to_json() for c in checks]))


def render(facts: dict[str, Any], checks: list[dict[str, Any]]) -> Group:
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column(overflow="fold")
    manager = {"system": "the machine's own user manager (systemd is PID 1)",
               "private": "overmind's private user manager (systemd is not PID 1)", "none": "none"}
    table.add_row("systemd", str(facts.get("systemd_version") or "-"))
    table.add_row("manager", manager.get(facts["mode"], facts["mode"]))
    table.add_row("reachable", "yes" if facts["user_manager_reachable"] else Text("no", style="bold red"))
    table.add_row("journald", "reachable" if facts["journald_reachable"] else Text("missing", style="bold red"))
    table.add_row("runtime dir", str(facts["runtime_dir"]))
    for key, value in facts.items():
        if key.startswith("private_") and value not in (None, "", [], {}):
            table.add_row(key.removeprefix("private_").replace("_", " "), str(value))
    missions = ", ".join(f"{n} {state}" for state, n in facts.get("missions", {}).items()) or "none"
    table.add_row("missions", missions)
    doctor = Table("", "CHECK", "DETAIL", box=None, header_style="bold", pad_edge=False)
    for check in checks:
        detail = Text(check["detail"])
        if check["hint"]:
            detail.append(f"\nfix: {check['hint']}", style="cyan")
        doctor.add_row(Text(check["state"], style=CHECK_STYLES.get(check["state"], "")), check["name"], detail)
    return Group(table, Text(""), Text("doctor", style="bold underline"), doctor)
