"""A TUI told to end by SIGTERM or SIGHUP (its terminal went away) ends, even when Textual's own
exit hangs on output nobody will read."""

from __future__ import annotations

import os
import signal
import threading
from types import SimpleNamespace

import pytest

from overmind.tui import app as tui_app


def test_a_signalled_tui_whose_exit_hangs_still_ends_after_the_grace_period(monkeypatch: pytest.MonkeyPatch) -> None:
    ended = threading.Event()
    codes: list[int] = []

    def end(code: int) -> None:
        codes.append(code)
        ended.set()

    monkeypatch.setattr(tui_app, "EXIT_GRACE_S", 0.05)
    monkeypatch.setattr(os, "_exit", end)
    asked: list[bool] = []
    hung = SimpleNamespace(exit=lambda: asked.append(True))  # Textual's exit, never finishing
    tui_app.Nexus._exit_on_signal(hung, signal.SIGHUP)  # type: ignore[arg-type]
    assert asked == [True]  # the orderly exit is tried first
    assert ended.wait(5) and codes == [128 + signal.SIGHUP]


def test_the_grace_period_never_holds_up_an_exit_that_went_well(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tui_app, "EXIT_GRACE_S", 60)
    before = set(threading.enumerate())
    tui_app.Nexus._exit_on_signal(SimpleNamespace(exit=lambda: None), signal.SIGTERM)  # type: ignore[arg-type]
    started = [thread for thread in threading.enumerate() if thread not in before]
    assert len(started) == 1 and started[0].daemon  # the interpreter does not wait for it
    started[0].cancel()  # type: ignore[attr-defined]
