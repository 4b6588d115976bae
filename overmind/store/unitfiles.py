"""What systemd's transient unit files tell a store rebuild (overmind.store.rebuild) of missions
whose copies the journal no longer has (rotated or vacuumed away).

Every loaded mission unit's file (`$XDG_RUNTIME_DIR/systemd/transient/`) carries, in its
environment, the mission's id, name, parent, state directory and whole recorded spec; a mission
in a worktree also carries the worktree's name, path and branch, and its spec the ports it
leased; a blueprint's member carries the blueprint's id (its parent) and its agent's name. The
worktree record and its leases are rebuilt from those, so that a new mission never leases a
port a running one holds, and so is the blueprint (all but the file it was applied from); what
git itself knows (the commit the branch was created from, in its reflog) fills in the rest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

_WORD = re.compile(r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(\S+)')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "s": " "}
_MISSION = ("id", "name", "unit", "type", "provider", "command", "cwd", "parent", "spec", "created_at")
_WORKTREES = "/.overmind/worktrees/"  # a worktree's path is <repo>/.overmind/worktrees/<name>


def from_units(db: sqlite3.Connection, store_dir: str, collected: set[str]) -> int:
    """Missions whose units are loaded but whose records the journal no longer had (and did not
    say were collected), with their worktrees and port leases; returns how many missions."""
    transient = Path(os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}") / "systemd" / "transient"
    try:
        files = sorted(transient.glob("*@*.service"))
    except OSError:
        return 0
    known = {row[0] for row in db.execute("SELECT id FROM missions")}
    added = 0
    for file in files:
        try:
            text, mtime = file.read_text(errors="replace"), file.stat().st_mtime
        except OSError:
            continue
        env, settings = unit_file(text)
        mission_id = env.get("OVERMIND_MISSION_ID")
        if not mission_id or mission_id in known or mission_id in collected \
                or not _same_dir(env.get("OVERMIND_STATE_DIR", ""), store_dir):
            continue
        try:
            spec = json.loads(env.get("OVERMIND_SPEC") or "{}")
        except ValueError:
            spec = {}
        name = env.get("OVERMIND_MISSION_NAME") or file.stem.partition("@")[2]
        db.execute(f"INSERT INTO missions ({', '.join(_MISSION)}) VALUES ({', '.join('?' * 10)})",
                   (mission_id, name, file.name, spec.get("type", "task"), spec.get("provider", "raw"),
                    spec.get("command") or "", settings.get("WorkingDirectory") or spec.get("cwd") or "/",
                    env.get("OVERMIND_PARENT_ID"), json.dumps(spec), mtime))
        _worktree(db, env, spec, mtime)
        _blueprint(db, name, env.get("OVERMIND_PARENT_ID"), spec, settings.get("Slice", ""), mtime)
        known.add(mission_id)
        added += 1
    return added


def _worktree(db: sqlite3.Connection, env: dict[str, str], spec: dict[str, Any], at: float) -> None:
    """The worktree a mission works in and the ports it leased, unless the store has them."""
    name, path, branch = (env.get(k, "") for k in ("OVERMIND_WORKTREE_NAME", "OVERMIND_WORKTREE", "OVERMIND_BRANCH"))
    if not (name and branch and path.endswith(_WORKTREES + name)):
        return
    if db.execute("SELECT 1 FROM worktrees WHERE name = ?", (name,)).fetchone() is None:
        repo = path.removesuffix(_WORKTREES + name)
        commit = _created_from(path, branch)
        base = (spec.get("isolation") or {}).get("base") or _git(repo, "symbolic-ref", "--short", "-q", "HEAD") \
            or commit
        db.execute("INSERT OR IGNORE INTO worktrees (name, repo, path, branch, base, base_commit, created_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)", (name, repo, path, branch, base, commit, at))
    ports = (spec.get("environment") or {}).get("ports") or {}
    # PORT may be a command service's port under a second name: the first name keeps the lease.
    db.executemany("INSERT OR IGNORE INTO port_leases (port, worktree, name, leased_at) SELECT ?, ?, ?, ?"
                   " WHERE EXISTS (SELECT 1 FROM worktrees WHERE name = ? AND path = ?)",
                   [(int(port), name, variable, at, name, path) for variable, port in ports.items()
                    if str(port).isdigit()])


def _blueprint(db: sqlite3.Connection, name: str, parent: str | None, spec: dict[str, Any], slice_name: str,
               at: float) -> None:
    """A blueprint's member names it (its parent) and its own agent: the blueprint is rebuilt from
    its members, all but the file it was applied from, which none of them carries."""
    member = spec.get("blueprint")
    if not parent or not isinstance(member, dict) or not member.get("agent"):
        return
    agent, replica = str(member["agent"]), member.get("replica") or 1
    suffix = f".{agent}" if replica == 1 else f".{agent}.{replica}"
    if not name.endswith(suffix):
        return
    row = db.execute("SELECT agents FROM blueprints WHERE id = ?", (parent,)).fetchone()
    if row is None:
        db.execute("INSERT INTO blueprints (id, name, slice, file, cwd, agents, applied_at, created_at)"
                   " VALUES (?, ?, ?, '', ?, ?, NULL, ?)",
                   (parent, name.removesuffix(suffix), slice_name, spec.get("cwd") or "/", json.dumps([agent]), at))
    elif agent not in (agents := json.loads(row[0])):
        db.execute("UPDATE blueprints SET agents = ?, created_at = MIN(created_at, ?) WHERE id = ?",
                   (json.dumps([*agents, agent]), at, parent))


def _created_from(path: str, branch: str) -> str:
    """The commit the worktree's branch was made at: its oldest reflog entry (else its tip)."""
    oldest = _git(path, "reflog", "show", "--format=%H", f"refs/heads/{branch}").splitlines()[-1:]
    return oldest[0] if oldest else _git(path, "rev-parse", "-q", "--verify", f"refs/heads/{branch}")


def _git(cwd: str, *args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _same_dir(a: str, b: str) -> bool:
    try:
        return bool(a) and os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


def unit_file(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """A unit file's environment (its Environment= words, unquoted and unescaped as systemd reads
    them) and its other plain settings."""
    env: dict[str, str] = {}
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or line.startswith(("#", ";", "[")):
            continue
        if key == "Environment":
            for word in _words(value):
                name, eq, assigned = word.partition("=")
                if eq:
                    env[name] = assigned
        else:
            settings[key] = _unescape(value)
    return env, settings


def _words(value: str) -> list[str]:
    found = []
    for match in _WORD.finditer(value):
        double, single, bare = match.groups()
        found.append(_unescape(double if double is not None else single if single is not None else bare))
    return found


def _unescape(text: str) -> str:
    """systemd's C escapes (\\x and octal ones are bytes: UTF-8 text is written byte by byte)
    and %% (a literal % in a unit file)."""
    out, i = bytearray(), 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "x" and i + 4 <= len(text):
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
            elif nxt in "01234567" and i + 4 <= len(text):
                out.append(int(text[i + 1:i + 4], 8))
                i += 4
            else:
                out += _ESCAPES.get(nxt, nxt).encode()
                i += 2
            continue
        if char == "%" and text[i + 1:i + 2] == "%":
            i += 1
        out += char.encode()
        i += 1
    return out.decode("utf-8", errors="replace")
