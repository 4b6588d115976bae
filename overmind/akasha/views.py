"""Memories as people and agents read them: tables for the CLI, a block for a system prompt,
plain text for the MCP tools. Works on the JSON records the service returns."""

from __future__ import annotations

import time
from typing import Any

from overmind import format as fmt

PROMPT_CAP = 2400  # characters of memories an agent's system prompt gets at most
PROMPT_HEADER = "# Overmind memory (Akasha)"


def age(at: float | None, now: float | None = None) -> str:
    if not at:
        return "-"
    return fmt.duration(max(0.0, (now or time.time()) - at)) + " ago"


def source(memory: dict[str, Any]) -> str:
    who = memory.get("agent") or "-"
    return who if not memory.get("mission") or who == memory["mission"] else f"{who} ({memory['mission']})"


def hits_table(hits: list[dict[str, Any]]) -> str:
    headers = ("SCORE", "ID", "KIND", "SEEN", "SOURCE", "WHEN", "TEXT")
    rows = [(f"{hit['score']:.2f}", hit["id"], hit["kind"], f"{hit['count']}×", hit.get("agent") or "-",
             age(hit["last_seen"]), _one_line(hit["text"])) for hit in hits]
    return fmt.table(headers, rows, shrinkable=(4,))


def memories_table(memories: list[dict[str, Any]]) -> str:
    headers = ("ID", "KIND", "SCOPE", "SEEN", "SOURCE", "WHEN", "TEXT")
    rows = [(m["id"], m["kind"], m["scope"], f"{m['count']}×", m.get("agent") or "-", age(m["last_seen"]),
             _one_line(m["text"])) for m in memories]
    return fmt.table(headers, rows, shrinkable=(2, 4))


def memory_fields(memory: dict[str, Any]) -> list[tuple[str, object]]:
    from datetime import datetime

    def stamp(value: float) -> str:
        return datetime.fromtimestamp(value).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")

    return [("id", memory["id"]), ("kind", memory["kind"]), ("scope", memory["scope"]),
            ("tags", ", ".join(memory["tags"]) or "-"), ("source", source(memory)),
            ("remembered", f"{memory['count']} time{'s' if memory['count'] != 1 else ''}"),
            ("first", stamp(memory["created_at"])), ("last", stamp(memory["last_seen"]))]


def prompt_block(hits: list[dict[str, Any]], cap: int = PROMPT_CAP) -> str:
    """What an agent is told before it starts: a short, clearly headed list, capped in size."""
    if not hits:
        return ""
    lines = [PROMPT_HEADER,
             "What earlier agent missions learned that looks relevant to this task (most relevant first; "
             "verify before relying on it). Use the akasha MCP tools to recall more or to remember what you learn."]
    used = sum(len(line) + 1 for line in lines)
    for hit in hits:
        line = f"- [{hit['kind']}, id {hit['id']}] {_one_line(hit['text'])}"
        room = cap - used
        if room < 80:
            break
        if len(line) > room:
            line = line[: room - 1] + "…"
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)


def as_text(hits: list[dict[str, Any]]) -> str:
    """recall's answer to an agent over MCP."""
    if not hits:
        return "No memory matches."
    return "\n".join(f"{i}. [{hit['kind']}, score {hit['score']:.2f}, id {hit['id']}, from {source(hit)}, "
                     f"{age(hit['last_seen'])}] {hit['text']}" for i, hit in enumerate(hits, 1))


def _one_line(text: str) -> str:
    return " ".join(text.split())
