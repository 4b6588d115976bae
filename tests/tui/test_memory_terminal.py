"""The real `overmind tui` in tmux: `:memory`, a search by meaning from `/`, and `ctrl+d` forgetting."""

from __future__ import annotations

import json
import secrets
import sys

import pytest

from tests.helpers import Overmind, must
from tests.sessions.terminal import Tmux
from tests.tui.test_terminal import terminal  # noqa: F401 (a fixture: a real terminal, without colour)

pytestmark = pytest.mark.systemd


def test_slash_searches_by_meaning_and_ctrl_d_forgets(om: Overmind, terminal: Tmux) -> None:  # noqa: F811
    ticket = secrets.token_hex(3)
    text = f"Ticket {ticket}: the search index must be rebuilt after renaming a product category."
    memory = json.loads(om("akasha", "remember", text, "--scope", "global", "--json", timeout=180).stdout)["memory"]
    terminal.start(sys.executable, "-m", "overmind", "tui", "--view", "memory", columns=160, rows=35)
    terminal.tmux("set-option", "-s", "escape-time", "0")
    terminal.wait_for(ticket, timeout=90)  # the memory service may start cold
    terminal.keys("/")
    must(lambda: terminal.screen().splitlines()[-2].startswith("/"), what="the search bar")
    terminal.type("results are stale once categories get new names")
    screen = terminal.wait_for("best)", timeout=30)
    first = next(line for line in screen.splitlines() if line.strip()[:1].isdigit())
    assert memory["id"] in first  # ranked first by the memory service
    terminal.keys("C-d")
    terminal.wait_for("Forget this memory for good?")
    terminal.keys("y")
    terminal.wait_for(f"forgot {memory['id']}")
    gone = om("akasha", "show", memory["id"], check=False)
    assert gone.returncode == 1 and "no memory" in gone.stderr
