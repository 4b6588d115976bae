"""A desktop notification's "Open": pressed before the service has read Notify's reply (both
arrive on one connection, the signal may be handled first), it still opens the page, once."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from overmind.control.notify_desktop import NAME, Desktop
from tests.helpers import must


@pytest.fixture
def opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    opener = tmp_path / "xdg-open"
    opener.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" >> {tmp_path / 'opened'}\n")
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    return tmp_path / "opened"


def _press(desktop: Desktop, ident: int, key: str = "open") -> None:
    desktop._on_message(SimpleNamespace(member="ActionInvoked", interface=NAME, body=[ident, key]))


def test_open_pressed_before_the_reply_was_read_opens_the_page_once_it_is_known(opened: Path) -> None:
    desktop = Desktop("unix:path=/nonexistent")
    _press(desktop, 7)
    assert not opened.exists()
    desktop.linked(7, "http://127.0.0.1:1/missions/a")
    desktop.linked(8, "http://127.0.0.1:1/missions/b")
    _press(desktop, 8)
    _press(desktop, 8)  # a second press: the page is open already
    must(lambda: opened.exists() and len(opened.read_text().splitlines()) == 2, what="both pages opened")
    assert opened.read_text().splitlines() in (["http://127.0.0.1:1/missions/a", "http://127.0.0.1:1/missions/b"],
                                               ["http://127.0.0.1:1/missions/b", "http://127.0.0.1:1/missions/a"])


def test_a_dismissed_notification_opens_nothing(opened: Path) -> None:
    desktop = Desktop("unix:path=/nonexistent")
    _press(desktop, 3, "dismiss")
    desktop.linked(3, "http://127.0.0.1:1/missions/c")
    assert desktop.links == {3: "http://127.0.0.1:1/missions/c"} and not opened.exists()
