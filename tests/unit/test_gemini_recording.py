"""gemini-cli 0.61 empties a session's recording when it loads the session within the minute the
recording is named for: overmind moves that recording to a free earlier minute first."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from overmind.providers import gemini

NOW = 1796429000.0  # 2026-12-04 23:23:20 UTC


def _name(minutes_ago: int, prefix: str = "0391b71f") -> str:
    return f"session-{time.strftime('%Y-%m-%dT%H-%M', time.gmtime(NOW - 60 * minutes_ago))}-{prefix}.jsonl"


def test_a_recording_of_this_minute_moves_to_a_free_earlier_one(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path))
    monkeypatch.setattr(gemini.time, "time", lambda: NOW)
    chats = tmp_path / ".gemini" / "tmp" / "work" / "chats"
    chats.mkdir(parents=True)
    (chats / _name(0)).write_text("the conversation")
    (chats / _name(1)).write_text("an earlier load's")
    (chats / _name(0, "ffffffff")).write_text("another session")
    gemini.spare_recording("0391b71f-a6dc-4110-9677-76b7d43926cb")
    assert {path.name: path.read_text() for path in chats.iterdir()} == {
        _name(2): "the conversation", _name(1): "an earlier load's", _name(0, "ffffffff"): "another session"}
