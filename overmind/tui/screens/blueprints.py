"""`:blueprints`: every blueprint with its agents' DAG: each stage (agents whose dependencies are
in earlier stages) with its agents' states, live from the change feed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from overmind import format as fmt
from overmind.tui.cells import status_text
from overmind.tui.screens.base import View

if TYPE_CHECKING:
    from overmind.blueprint.progress import BlueprintView


class Blueprints(View):
    crumb = "blueprints"
    CSS = "#blueprints { height: 40%; } #dag { height: 1fr; border-top: solid $panel; }"
    BINDINGS = [Binding("enter,l", "logs", "logs"), Binding("d", "describe", "describe"),
                Binding("j", "cursor(1)", "down", show=False), Binding("k", "cursor(-1)", "up", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[BlueprintView] = []

    def body(self) -> ComposeResult:
        table: DataTable[str] = DataTable(cursor_type="row", id="blueprints")
        table.add_columns("ID", "NAME", "STATUS", "AGENTS", "UPTIME", "FILE")
        yield table
        with VerticalScroll(id="dag"):
            yield Static(id="graph")

    def on_mount(self) -> None:
        self.views_changed(None)

    def views_changed(self, ids: set[str] | None) -> None:
        from overmind.blueprint.progress import BlueprintView

        chosen = self._chosen()
        self.shown = sorted((v for v in self.nexus.views.values() if isinstance(v, BlueprintView)),
                            key=lambda v: v.created_at)
        table = self.query_one(DataTable)
        table.clear()
        for v in self.shown:
            table.add_row(v.id, v.name, status_text(v.status.state, v.status.label), v.activity or str(len(v.members)),
                          fmt.duration(v.uptime), v.blueprint.file or "-", key=v.id)
        ids_shown = [v.id for v in self.shown]
        if chosen is not None and chosen.id in ids_shown:
            table.move_cursor(row=ids_shown.index(chosen.id), animate=False)
        self.crumb = f"blueprints({len(self.shown)})"
        self.nexus.show_header(self)
        self._draw()

    def _chosen(self) -> BlueprintView | None:
        row = self.query_one(DataTable).cursor_row
        return self.shown[row] if 0 <= row < len(self.shown) else None

    def on_data_table_row_highlighted(self) -> None:
        self._draw()

    def _draw(self) -> None:
        from overmind.control.blueprints import graph

        chosen = self._chosen()
        target = self.query_one("#graph", Static)
        if chosen is None:
            target.update(Text("no blueprints (apply one with: overmind apply FILE)", style="dim"))
            return
        target.update(draw(graph(chosen)))

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(table.cursor_row + step, 0))

    def action_logs(self) -> None:
        if (chosen := self._chosen()) is not None:
            self.nexus.open_mission("logs", chosen.id)

    def action_describe(self) -> None:
        if (chosen := self._chosen()) is not None:
            self.nexus.open_mission("describe", chosen.id)

    def focus_body(self) -> None:
        self.query_one(DataTable).focus()


def stages(graph: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The DAG's nodes by stage: a node's stage is one past the latest of its dependencies'."""
    needs: dict[str, list[str]] = {node["id"]: [] for node in graph["nodes"]}
    for edge in graph["edges"]:
        needs.setdefault(edge["to"], []).append(edge["from"])
    stage: dict[str, int] = {}

    def depth(node_id: str, seen: frozenset[str] = frozenset()) -> int:
        if node_id not in stage:
            before = [depth(d, seen | {node_id}) for d in needs.get(node_id, []) if d not in seen]
            stage[node_id] = 1 + max(before, default=-1)
        return stage[node_id]

    found: list[list[dict[str, Any]]] = []
    for node in graph["nodes"]:
        level = depth(node["id"])
        while len(found) <= level:
            found.append([])
        found[level].append(node)
    return found


def draw(graph: dict[str, Any]) -> Group:
    by_id = {node["id"]: node for node in graph["nodes"]}
    needs: dict[str, list[str]] = {}
    for edge in graph["edges"]:
        needs.setdefault(edge["to"], []).append(by_id[edge["from"]]["agent"] if edge["from"] in by_id else "?")
    lines = [Text(f"{graph['name']}: {len(graph['nodes'])} agents", style="bold")]
    for number, nodes in enumerate(stages(graph), start=1):
        lines.append(Text(f"stage {number}", style="bold underline"))
        for node in nodes:
            line = Text("  ")
            line.append(f"{node['agent']:<24} ")
            line.append(status_text(node["state"], node["label"]))
            after = sorted(set(needs.get(node["id"], [])))
            if after:
                line.append(f"   after {', '.join(after)}", style="dim")
            lines.append(line)
    return Group(*lines)
