"""The real `overmind tui` in a real terminal (tmux): it draws at 80x24 without colour, takes keys,
and leaves the terminal as it found it when it is killed with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Iterator

import pytest

from tests.helpers import Overmind, must
from tests.sessions.terminal import Tmux

pytestmark = pytest.mark.systemd


@pytest.fixture
def terminal(om: Overmind) -> Iterator[Tmux]:
    tmux = Tmux(om.environ() | {"NO_COLOR": "1", "TERM": "xterm-256color"})
    yield tmux
    tmux.close()


def _hues(screen: str) -> set[tuple[int, ...]]:
    """The colours on screen that are not a shade of grey (truecolor or 256-colour SGR codes)."""
    found: set[tuple[int, ...]] = set()
    for params in re.findall(r"\x1b\[([0-9;]*)m", screen):
        codes = [int(c) for c in params.split(";") if c]
        for index, code in enumerate(codes):
            if code in (38, 48) and codes[index + 1:index + 2] == [2]:
                rgb = tuple(codes[index + 2:index + 5])
                if len(set(rgb)) > 1:
                    found.add(rgb)
            elif code in (38, 48) and codes[index + 1:index + 2] == [5]:
                shade = codes[index + 2]
                if not (shade >= 232 or shade in (0, 7, 8, 15, 16, 231)):
                    found.add((shade,))
    return found


def _descendants(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(p) for p in f.read().split()]
    except OSError:
        return []
    return [found for child in children for found in (child, *_descendants(child))]


def _tui_process(shell: int) -> int | None:
    for pid in _descendants(shell):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[1:4] == [b"-m", b"overmind", b"tui"]:
                    return pid
        except OSError:
            continue
    return None


def test_the_real_tui_draws_at_80x24_takes_keys_and_restores_the_terminal_on_sigterm(
        om: Overmind, terminal: Tmux, name: str) -> None:
    om.run("sleep 300", "--name", name)
    # After the TUI: the terminal's mode, as the shell sees it (raw mode left behind shows -icanon -echo).
    script = f"{sys.executable} -m overmind tui; stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo " \
             "-e -echo | tr '\\n' ' '; echo"
    terminal.start("sh", "-c", script, columns=80, rows=24)
    terminal.tmux("set-option", "-s", "escape-time", "0")  # Escape reaches the app at once, not as Alt+next key
    screen = terminal.wait_for(name[:10])
    lines = screen.splitlines()
    assert lines[0].lstrip().startswith("overmind") and "running" in lines[0]
    assert all(len(line) <= 80 for line in lines)
    # NO_COLOR: shades of grey only (Textual's monochrome filter), so the status is the word alone.
    assert _hues(terminal.tmux("capture-pane", "-p", "-e")) == set()
    terminal.keys("/")
    must(lambda: terminal.screen().splitlines()[-2].startswith("/"), what="the filter bar")  # else keys go to the table
    terminal.type("no-such-mission-here")
    must(lambda: "missions(0)" in terminal.screen(), what="the filter to hide the row")
    assert name[:10] not in terminal.screen(), terminal.screen()
    terminal.keys("Escape")  # closes the bar
    must(lambda: "/ no-such-mission-here" not in terminal.screen(), what="the bar to close")
    terminal.keys("Escape")  # clears the filter
    terminal.wait_for(name[:10])
    terminal.keys("?")
    terminal.wait_for("kill tree")
    terminal.keys("Escape")
    must(lambda: "view" not in terminal.screen(), what="the help to close")
    terminal.keys(":")
    must(lambda: terminal.screen().splitlines()[-2].startswith(":"), what="the command bar")
    terminal.type("host")
    terminal.wait_for("doctor")
    shell = int(terminal.tmux("display", "-p", "#{pane_pid}").strip())
    tui = must(lambda: _tui_process(shell), what="the tui process")
    os.kill(tui, signal.SIGTERM)
    restored = terminal.wait_for("[exit")
    assert "icanon" in restored.split() and "echo" in restored.split(), restored
    assert "-icanon" not in restored.split() and "-echo" not in restored.split()


def test_attach_from_the_tui_lends_the_terminal_and_takes_it_back(om: Overmind, terminal: Tmux, name: str) -> None:
    om.run("bash --norc --noprofile -i", "--name", name, "--type", "session", "-e", "PS1=$ ")
    terminal.start(sys.executable, "-m", "overmind", "tui", columns=100, rows=30)
    terminal.tmux("set-option", "-s", "escape-time", "0")
    terminal.wait_for(name[:10])
    terminal.keys("/")
    must(lambda: terminal.screen().splitlines()[-2].startswith("/"), what="the filter bar")
    terminal.type(name)
    must(lambda: f"missions(1) /{name}" in terminal.screen() and not terminal.screen().splitlines()[-2].startswith("/"),
         what="the session's row alone, the bar closed")
    terminal.keys("a")
    terminal.wait_for("detach with Ctrl-]")  # the real attach speaks in the terminal
    terminal.type("echo typed-$((6*7))")
    terminal.wait_for("typed-42")
    terminal.keys("C-]")
    terminal.wait_for("missions(1)")  # the TUI is back
    terminal.wait_for("detached from")  # and says what attach said last
    assert om.status(name) == "running"
