"""The real `overmind tui` in tmux: `:memory`, what a finished agent mission fed appearing live, a
search by meaning from `/`, and `ctrl+d` forgetting."""

from __future__ import annotations

import json
import re
import secrets
import sys
from typing import Any

import pytest

from tests.helpers import must
from tests.sessions.conftest import Claude
from tests.sessions.terminal import Tmux
from tests.tui.test_terminal import terminal  # noqa: F401 (a fixture: a real terminal, without colour)

pytestmark = pytest.mark.systemd


def test_a_memory_fed_by_a_finished_mission_appears_live_is_found_by_meaning_and_forgotten(
        terminal: Tmux, claude: Claude, name: str) -> None:  # noqa: F811
    ticket = secrets.token_hex(3)
    task = f"Stop the nightly backup job from filling the disk with old snapshots (ticket {ticket})"
    terminal.start(sys.executable, "-m", "overmind", "tui", "--view", "memory", columns=200, rows=35)
    terminal.tmux("set-option", "-s", "escape-time", "0")
    terminal.wait_for("memory(", timeout=90)  # the memory service may start cold
    started = claude.run(name, task)
    claude.om("wait", name, timeout=180)

    def fed_memory() -> dict[str, Any] | None:
        listed = json.loads(claude.om("akasha", "ls", "--all", "--scope", "all", "--json").stdout)
        return next((m for m in listed if ticket in m["text"]), None)

    fed = must(fed_memory, timeout=90, what="the memory its end fed")  # embedded by the service, maybe cold
    assert fed["mission"] == started["id"]
    terminal.wait_for(fed["id"], timeout=30)  # in the open view, without a key pressed
    terminal.keys("/")
    must(lambda: terminal.screen().splitlines()[-2].startswith("/"), what="the search bar")
    terminal.type("why does the disk run out of space every night")

    def first_found() -> str | None:
        """The first result once laid out: a table shows its rows a frame before it widens its
        columns to them (an id cut to its header's width)."""
        screen = terminal.screen()
        first = next((line for line in screen.splitlines() if line.strip()[:1].isdigit()), "")
        return first if "best)" in screen and re.search(r"\b[0-9a-f]{12}\b", first) else None

    first = must(first_found, timeout=30, what="the search's results")
    assert fed["id"] in first  # ranked first by the memory service
    terminal.keys("C-d")
    terminal.wait_for("Forget this memory for good?")
    terminal.keys("y")
    terminal.wait_for(f"forgot {fed['id']}")
    gone = claude.om("akasha", "show", fed["id"], check=False)
    assert gone.returncode == 1 and "no memory" in gone.stderr
