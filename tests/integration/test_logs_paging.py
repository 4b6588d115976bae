"""Paging back through a mission's output: each page is read walking back from the first line
shown (what the TUI does for a long log), with nothing skipped or repeated."""

from __future__ import annotations

import pytest

from overmind.control import logs
from tests.helpers import Overmind, must

pytestmark = pytest.mark.systemd


def test_earlier_pages_end_right_before_the_first_line_shown(om: Overmind, name: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, om.env[key])
    om.run("for i in $(seq 1 30); do echo line $i; done; sleep 300", "--name", name)
    selection = logs.select(name)
    last = must(lambda: (found := list(logs.lines(selection, count=10))) and "line 30" in found[-1].message
                and found, what="the last lines")
    assert [e.message for e in last] == [f"line {i}" for i in range(21, 31)]
    assert last[0].cursor is not None
    page = logs.earlier(selection, last[0].cursor, 10)
    assert [e.message for e in page] == [f"line {i}" for i in range(11, 21)]
    assert page[0].cursor is not None
    rest = logs.earlier(selection, page[0].cursor, 100)
    assert [e.message for e in rest if e.message.startswith("line ")] == [f"line {i}" for i in range(1, 11)]
