"""gemini-cli's conversation files (`~/.gemini/tmp/<project>/chats/session-<UTC minute>-<id
prefix>.jsonl`), kept loadable across the resumes overmind makes (after a crash, a boot, a
terminal's `attach`). Two behaviours of gemini-cli 0.61 lose a conversation there:

- A resume (`session/load`, or `--resume` in a terminal) first records the session afresh, into
  the file named for the current minute and the session's id prefix, then switches to the
  session's own file. Within the minute the session began that *is* its own file, and the fresh
  record's message list replaces the conversation in it.
- That fresh record, left behind holding no message, is what every gemini start's session
  cleanup (`general.sessionRetention`, on by default) deletes, together with every other file of
  the same id prefix: the conversation itself.

So before a resume the file named for this minute is renamed to a free earlier minute (it is
found by its id all the same), and the files of the session that hold no message are deleted
while one that does exists; after a resume, those it just left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any


def _files(session_id: str) -> list[Path]:
    home = Path(os.environ.get("GEMINI_CLI_HOME") or Path.home())
    return sorted((home / ".gemini" / "tmp").glob(f"*/chats/session-*-{session_id[:8]}.jsonl"))


def _said(message: Any) -> bool:
    """A turn of the conversation (not the session context gemini puts first)."""
    if not isinstance(message, dict) or message.get("type") not in ("user", "gemini"):
        return False
    content = message.get("content")
    first = content[0] if isinstance(content, list) and content else content
    text = first.get("text", "") if isinstance(first, dict) else str(first or "")
    return not text.startswith("<session_context>")


def _holds(path: Path, session_id: str) -> bool | None:
    """Whether the file is this session's and holds a turn of it (None: another session's)."""
    ours, said = False, False
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get("sessionId") is not None:
            ours = record["sessionId"] == session_id
        listed = (record.get("$set") or {}).get("messages") if isinstance(record.get("$set"), dict) else None
        said = said or _said(record) or any(_said(m) for m in listed or ())
    return said if ours else None


def forget_strays(session_id: str) -> None:
    """Delete the files of the session that hold no turn, while one that does exists."""
    found = {path: _holds(path, session_id) for path in _files(session_id)}
    if any(found.values()):
        for path, holds in found.items():
            if holds is False:
                with contextlib.suppress(OSError):
                    path.unlink()


def before_resume(session_id: str) -> None:
    def name(minutes_ago: int) -> str:
        stamp = time.strftime("%Y-%m-%dT%H-%M", time.gmtime(time.time() - 60 * minutes_ago))
        return f"session-{stamp}-{session_id[:8]}.jsonl"

    forget_strays(session_id)
    for found in [path for path in _files(session_id) if path.name == name(0)]:
        free = next((found.with_name(name(m)) for m in range(1, 120) if not found.with_name(name(m)).exists()), None)
        if free is not None:  # never onto another file of the same session
            with contextlib.suppress(OSError):
                found.rename(free)
