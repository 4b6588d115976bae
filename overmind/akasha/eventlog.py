"""The mission event log: which files each agent touched, which commands it ran, which errors it
met, taken from its stream-json tool events and kept per mission after the mission is collected.

It lives in its own SQLite file beside the store (`akasha/log.db` in the state directory), is
written when a run ends (see feeding.py) and read by `overmind akasha files PATH`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from overmind.akasha.redact import redact
from overmind.store import state_dir

_SCHEMA = """
CREATE TABLE IF NOT EXISTS touches (
    mission_id TEXT NOT NULL,
    mission_name TEXT NOT NULL,
    at REAL NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS touches_by_subject ON touches (subject);
CREATE INDEX IF NOT EXISTS touches_by_mission ON touches (mission_id, at);
CREATE TABLE IF NOT EXISTS read_up_to (
    mission_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
"""
_FILE_ACTIONS = {"Read": "read", "Write": "write", "Edit": "edit", "MultiEdit": "edit", "NotebookEdit": "edit"}
_PATH_KEYS = ("file_path", "notebook_path")
_CODEX_CHANGES = {"add": "write", "delete": "delete", "update": "edit"}


MEMORY_ACTIONS = ("consulted", "fed")  # a memory the mission was told at its start, or one it taught


@dataclass(frozen=True)
class Touch:
    at: float
    action: str  # read | write | edit | delete | command | error | consulted | fed (a memory's id)
    subject: str  # an absolute path, a command line, an error's first line
    detail: str = ""  # for an error: the call that met it


def _first_line(text: str, width: int = 300) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line[:width]


def _clean(text: str) -> str:
    return redact(text)[0]


def _absolute(path: str, cwd: str) -> str:
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))


def _result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def extract(events: Iterable[tuple[float, dict[str, Any]]], cwd: str) -> list[Touch]:
    """Touches in an agent's events (claude's stream-json, codex's JSONL or app-server messages,
    gemini's ACP messages, opencode's JSON lines), in order."""
    touches: list[Touch] = []
    calls: dict[str, str] = {}  # tool_use id -> what it was, to name the call an error came from
    for at, data in events:
        kind = data.get("type")
        if kind == "assistant":
            for block in (data.get("message") or {}).get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    touches += _claude_call(at, block, cwd, calls)
        elif kind == "user" and not data.get("isReplay"):
            content = (data.get("message") or {}).get("content")
            for block in content if isinstance(content, list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error"):
                    error = _first_line(_clean(_result_text(block.get("content")))) or "(no output)"
                    touches.append(Touch(at, "error", error, calls.get(str(block.get("tool_use_id")), "")))
        elif kind == "item.completed":
            touches += _codex_item(at, data.get("item") or {}, cwd)
        elif data.get("method") == "item/completed":  # codex's app-server
            touches += _codex_item(at, _snake_case((data.get("params") or {}).get("item") or {}), cwd)
        elif data.get("method") == "session/update":  # gemini's ACP
            touches += _acp_update(at, (data.get("params") or {}).get("update") or {}, cwd)
        elif kind == "tool_use" and isinstance(data.get("part"), dict):  # opencode
            touches += _opencode_tool(at, data["part"], cwd)
    return touches


_ACP_FILE_KINDS = {"read": "read", "edit": "edit", "delete": "delete"}
_OPENCODE_FILE_TOOLS = {"read": "read", "write": "write", "edit": "edit", "patch": "edit"}


def _snake_case(item: dict[str, Any]) -> dict[str, Any]:
    """An app-server item in the shape `codex exec --json` prints (commandExecution, exitCode,
    aggregatedOutput → command_execution, exit_code, aggregated_output)."""
    def snake(name: str) -> str:
        return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)

    found = {snake(key): value for key, value in item.items()}
    found["type"] = snake(str(item.get("type", "")))
    return found


def _acp_update(at: float, update: dict[str, Any], cwd: str) -> list[Touch]:
    if update.get("sessionUpdate") != "tool_call":
        return []
    kind, title = str(update.get("kind", "")), _first_line(_clean(str(update.get("title", ""))), 500)
    if kind == "execute" and title:
        return [Touch(at, "command", title)]
    paths = [str(where["path"]) for where in update.get("locations") or [] if isinstance(where, dict)
             and isinstance(where.get("path"), str)]
    action = _ACP_FILE_KINDS.get(kind)
    return [Touch(at, action, _absolute(path, cwd)) for path in paths] if action else []


def _opencode_tool(at: float, part: dict[str, Any], cwd: str) -> list[Touch]:
    state: dict[str, Any] = part["state"] if isinstance(part.get("state"), dict) else {}
    tool_input: dict[str, Any] = state["input"] if isinstance(state.get("input"), dict) else {}
    tool = str(part.get("tool", ""))
    if tool == "bash" and isinstance(tool_input.get("command"), str):
        command = _first_line(_clean(tool_input["command"]), 500)
        failed = state.get("status") == "error"
        return [Touch(at, "command", command),
                *([Touch(at, "error", _first_line(_clean(str(state.get("error", "")))) or "(no output)",
                         f"bash: {command}")] if failed else [])]
    path = tool_input.get("filePath")
    if tool in _OPENCODE_FILE_TOOLS and isinstance(path, str):
        return [Touch(at, _OPENCODE_FILE_TOOLS[tool], _absolute(path, cwd))]
    return []


def _claude_call(at: float, block: dict[str, Any], cwd: str, calls: dict[str, str]) -> list[Touch]:
    name, tool_input = str(block.get("name", "")), block.get("input") or {}
    if not isinstance(tool_input, dict):
        return []
    if name == "Bash" and isinstance(tool_input.get("command"), str):
        command = _first_line(_clean(tool_input["command"]), 500)
        calls[str(block.get("id"))] = f"Bash: {command}"
        return [Touch(at, "command", command)]
    path = next((tool_input[key] for key in _PATH_KEYS if isinstance(tool_input.get(key), str)), None)
    if name in _FILE_ACTIONS and path:
        absolute = _absolute(path, cwd)
        calls[str(block.get("id"))] = f"{name}: {absolute}"
        return [Touch(at, _FILE_ACTIONS[name], absolute)]
    calls[str(block.get("id"))] = name
    return []


def _codex_item(at: float, item: dict[str, Any], cwd: str) -> list[Touch]:
    if item.get("type") == "command_execution" and isinstance(item.get("command"), str):
        command = _first_line(_clean(item["command"]), 500)
        touches = [Touch(at, "command", command)]
        code = item.get("exit_code")
        if isinstance(code, int) and code != 0:
            output = str(item.get("aggregated_output") or "").strip().splitlines()
            last = _clean(output[-1])[:300] if output else f"exit code {code}"
            touches.append(Touch(at, "error", last, f"shell: {command} (exit code {code})"))
        return touches
    if item.get("type") == "file_change":
        return [Touch(at, _CODEX_CHANGES.get(str(change.get("kind")), "edit"), _absolute(change["path"], cwd))
                for change in item.get("changes") or [] if isinstance(change, dict)
                and isinstance(change.get("path"), str)]
    if item.get("type") == "error" and isinstance(item.get("message"), str):
        return [Touch(at, "error", _first_line(_clean(item["message"])))]
    return []


class EventLog:
    def __init__(self) -> None:
        directory = state_dir() / "akasha"
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = sqlite3.connect(directory / "log.db", timeout=30, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout = 30000")
        self.db.executescript(_SCHEMA)

    def read_up_to(self, mission_id: str) -> int:
        row = self.db.execute("SELECT seq FROM read_up_to WHERE mission_id = ?", (mission_id,)).fetchone()
        return int(row[0]) if row else 0

    def record(self, mission_id: str, mission_name: str, touches: list[Touch], seq: int) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT INTO touches (mission_id, mission_name, at, action, subject, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [(mission_id, mission_name, t.at, t.action, t.subject, t.detail) for t in touches])
            self.db.execute("INSERT INTO read_up_to (mission_id, seq) VALUES (?, ?) ON CONFLICT (mission_id)"
                            " DO UPDATE SET seq = excluded.seq", (mission_id, seq))

    def touching(self, path: str) -> Iterator[tuple[str, str, float, str, str]]:
        """(mission id, name, at, action, subject) for every touch of the file, or of anything
        under it for a directory, oldest first."""
        pattern = path.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        rows = self.db.execute(
            "SELECT mission_id, mission_name, at, action, subject FROM touches"
            " WHERE action IN ('read', 'write', 'edit', 'delete') AND (subject = ? OR subject LIKE ? ESCAPE '\\')"
            " ORDER BY at", (path, pattern))
        yield from rows

    def note_memories(self, mission_id: str, mission_name: str, action: str, ids: list[str]) -> None:
        """Which memories a mission was told (`consulted`) or taught (`fed`), by id."""
        if action not in MEMORY_ACTIONS:
            raise ValueError(f"not a memory action: {action}")
        now = time.time()
        with self.db:
            self.db.executemany(
                "INSERT INTO touches (mission_id, mission_name, at, action, subject) VALUES (?, ?, ?, ?, ?)",
                [(mission_id, mission_name, now, action, memory_id) for memory_id in dict.fromkeys(ids)])

    def memories(self, mission_id: str) -> dict[str, list[str]]:
        """The memories' ids a mission consulted and fed, each once, in order."""
        found: dict[str, list[str]] = {action: [] for action in MEMORY_ACTIONS}
        rows = self.db.execute("SELECT action, subject FROM touches WHERE mission_id = ? AND action IN (?, ?)"
                               " ORDER BY at", (mission_id, *MEMORY_ACTIONS))
        for action, memory_id in rows:
            if memory_id not in found[action]:
                found[action].append(memory_id)
        return found

    def mission(self, mission_id: str) -> list[Touch]:
        rows = self.db.execute("SELECT at, action, subject, detail FROM touches WHERE mission_id = ? ORDER BY at",
                               (mission_id,))
        return [Touch(*row) for row in rows]


def parse_stored(rows: Iterable[tuple[float, str]]) -> Iterator[tuple[float, dict[str, Any]]]:
    """Stored event lines -> (time, object), skipping any that is not a JSON object."""
    for at, line in rows:
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            yield at, data
