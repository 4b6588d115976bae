"""Pictures drawn on the server as SVG (no script, nothing loaded): a blueprint's DAG with each
agent's live state, and the bar charts of the costs page. Every text is escaped."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 176, 46, 64, 16, 12


def _css(state: str) -> str:
    return re.sub(r"[^a-z-]", "", state.lower()) or "unknown"


def _depths(nodes: Sequence[dict[str, Any]], edges: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Each node's column: the length of the longest chain of dependencies leading to it."""
    sources: dict[str, list[str]] = {n["id"]: [] for n in nodes}
    for edge in edges:
        if edge["to"] in sources and edge["from"] in sources:
            sources[edge["to"]].append(edge["from"])
    depth: dict[str, int] = {}

    def visit(ident: str, trail: frozenset[str]) -> int:
        if ident not in depth:
            before = [visit(s, trail | {ident}) for s in sources[ident] if s not in trail]
            depth[ident] = 1 + max(before) if before else 0
        return depth[ident]

    for node in nodes:
        visit(node["id"], frozenset())
    return depth


def dag(graph: dict[str, Any]) -> Markup:
    """`control.blueprints.graph` as a left-to-right drawing: dependencies on the left, each
    agent a box coloured by its state and linked to its mission's page."""
    nodes, edges = graph["nodes"], graph["edges"]
    if not nodes:
        return Markup('<p class="muted">no agents yet</p>')
    depth = _depths(nodes, edges)
    columns: dict[int, list[dict[str, Any]]] = {}
    for node in sorted(nodes, key=lambda n: n["agent"]):
        columns.setdefault(depth[node["id"]], []).append(node)
    place: dict[str, tuple[int, int]] = {}
    for column, members in columns.items():
        for row, node in enumerate(members):
            place[node["id"]] = (PAD + column * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    width = PAD * 2 + (max(columns) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(m) for m in columns.values()) * (NODE_H + GAP_Y) - GAP_Y
    parts = [f'<svg class="dag" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(graph["name"])}: agents and '
             'their dependencies">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead"/></marker></defs>']
    for edge in edges:
        if edge["from"] not in place or edge["to"] not in place:
            continue
        (x1, y1), (x2, y2) = place[edge["from"]], place[edge["to"]]
        x1, y1, y2 = x1 + NODE_W, y1 + NODE_H // 2, y2 + NODE_H // 2
        bend = GAP_X // 2
        parts.append(f'<path class="edge" d="M {x1} {y1} C {x1 + bend} {y1}, {x2 - bend} {y2}, {x2} {y2}" '
                     'marker-end="url(#arrow)"/>')
    for node in nodes:
        x, y = place[node["id"]]
        parts.append(
            f'<a href="/missions/{escape(node["id"])}" class="node state-{_css(node["state"])} '
            f'label-{_css(node["label"].split(" ")[0])}" '
            f'data-id="{escape(node["id"])}"><title>{escape(node["name"])}: {escape(node["label"])}</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="7"/>'
            f'<text x="{x + 10}" y="{y + 19}" class="agent">{escape(_fit(node["agent"], 22))}</text>'
            f'<text x="{x + 10}" y="{y + 36}" class="state">{escape(_fit(node["label"], 26))}</text></a>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def bars(items: Sequence[tuple[str, float, str | None]], show: Callable[[float], str], label_width: int = 190,
         bar_width: int = 380) -> Markup:
    """Horizontal bars, one per (label, value, link), longest first as given."""
    if not items:
        return Markup('<p class="muted">nothing spent yet</p>')
    top = max(value for _, value, _ in items) or 1.0
    row = 24
    height = row * len(items) + 4
    width = label_width + bar_width + 90
    parts = [f'<svg class="chart bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img">']
    for index, (label, value, link) in enumerate(items):
        y = index * row + 2
        length = max(1, round(value / top * bar_width))
        text = (f'<text x="{label_width - 8}" y="{y + 15}" class="label" text-anchor="end">'
                f'{escape(_fit(label, 28))}</text>')
        if link:
            text = f'<a href="{escape(link)}">{text}</a>'
        parts.append(f'{text}<rect x="{label_width}" y="{y + 3}" width="{length}" height="{row - 8}" rx="3" '
                     f'class="bar"><title>{escape(label)}: {escape(show(value))}</title></rect>'
                     f'<text x="{label_width + length + 6}" y="{y + 15}" class="value">{escape(show(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(items: Sequence[tuple[str, float]], show: Callable[[float], str], height: int = 180) -> Markup:
    """Vertical bars over time, one per (day, value), oldest on the left."""
    if not items:
        return Markup('<p class="muted">nothing spent yet</p>')
    top = max(value for _, value in items) or 1.0
    slot = max(14, min(48, 720 // len(items)))
    base = height - 22
    width = slot * len(items) + 8
    parts = [f'<svg class="chart columns" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img">',
             f'<line x1="4" y1="{base}" x2="{width - 4}" y2="{base}" class="axis"/>']
    for index, (day, value) in enumerate(items):
        x = 4 + index * slot
        tall = max(1, round(value / top * (base - 16)))
        parts.append(f'<rect x="{x + 2}" y="{base - tall}" width="{slot - 4}" height="{tall}" rx="2" class="bar">'
                     f'<title>{escape(day)}: {escape(show(value))}</title></rect>')
        if index % max(1, len(items) // 8) == 0 or index == len(items) - 1:
            parts.append(f'<text x="{x + slot / 2:.0f}" y="{height - 6}" class="label" '
                         f'text-anchor="middle">{escape(day[5:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
