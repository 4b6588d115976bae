"""gemini-cli 0.61 loses a resumed conversation two ways (overmind/providers/gemini_recordings.py):
a load within the minute the conversation's file is named for empties it, and the fresh record a
resume leaves behind makes the next gemini start delete every file of the session."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from overmind.providers import gemini_recordings

NOW = 1796429000.0  # 2026-12-04 23:23:20 UTC
SESSION = "0391b71f-a6dc-4110-9677-76b7d43926cb"
CONTEXT = {"id": "c", "type": "user", "content": [{"text": "<session_context>\nThis is the Gemini CLI."}]}


def _name(minutes_ago: int, prefix: str = "0391b71f") -> str:
    return f"session-{time.strftime('%Y-%m-%dT%H-%M', time.gmtime(NOW - 60 * minutes_ago))}-{prefix}.jsonl"


def _recording(*turns: str, session: str = SESSION) -> str:
    records = [{"sessionId": session, "startTime": "t"}, {"$set": {"messages": [CONTEXT]}},
               *({"id": str(n), "type": "user", "content": [{"text": text}]} for n, text in enumerate(turns))]
    return "".join(json.dumps(record) + "\n" for record in records)


@pytest.fixture
def chats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path))
    monkeypatch.setattr(gemini_recordings.time, "time", lambda: NOW)
    folder = tmp_path / ".gemini" / "tmp" / "work" / "chats"
    folder.mkdir(parents=True)
    return folder


def test_the_conversation_of_this_minute_moves_to_a_free_earlier_one(chats: Path) -> None:
    (chats / _name(0)).write_text(conversation := _recording("hello"))
    (chats / _name(1)).write_text(earlier := _recording("an earlier load's"))
    (chats / _name(0, "ffffffff")).write_text(other := _recording("another session", session="ffffffff-0"))
    gemini_recordings.before_resume(SESSION)
    assert {path.name: path.read_text() for path in chats.iterdir()} == {
        _name(2): conversation, _name(1): earlier, _name(0, "ffffffff"): other}


def test_the_records_a_resume_left_without_a_turn_go_and_the_conversation_stays(chats: Path) -> None:
    (chats / _name(5)).write_text(conversation := _recording("remember 42"))
    (chats / _name(3)).write_text(_recording())  # what an earlier resume recorded first
    (chats / _name(3, "ffffffff")).write_text(other := _recording(session="ffffffff-0"))  # not ours
    gemini_recordings.forget_strays(SESSION)
    assert {path.name: path.read_text() for path in chats.iterdir()} == {
        _name(5): conversation, _name(3, "ffffffff"): other}


def test_a_session_with_no_turn_anywhere_keeps_its_files(chats: Path) -> None:
    (chats / _name(3)).write_text(fresh := _recording())
    gemini_recordings.forget_strays(SESSION)
    assert (chats / _name(3)).read_text() == fresh
