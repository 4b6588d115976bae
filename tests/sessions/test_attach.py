"""attach in a real terminal (tmux): the claude TUI on a session's conversation, and raw PTYs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.helpers import Overmind, must
from tests.sessions.conftest import Claude
from tests.sessions.terminal import Tmux

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (scripts/bootstrap.sh)")


@pytest.fixture
def terminal(om: Overmind) -> Iterator[Tmux]:
    tmux = Tmux(om.env)
    yield tmux
    tmux.close()


def test_attach_lends_the_conversation_to_the_tui_and_takes_it_back(claude: Claude, name: str,
                                                                   terminal: Tmux) -> None:
    claude.run(name, "before attach", session=True)
    assert claude.answer(name, "still headless")["text"] == "echo: still headless"
    terminal.env = claude.om.env
    terminal.overmind("attach", name)
    screen = terminal.wait_for("echo: still headless", 30)
    assert "before attach" in screen
    assert must(lambda: claude.om.status(name) == "attached")
    refused = claude.om("send", name, "lost?", check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"overmind: '{name}' is attached in a terminal; the message was not sent")

    terminal.type("typed in the terminal")
    terminal.wait_for("echo: typed in the terminal")
    terminal.keys("C-d")
    terminal.wait_for("Ctrl-D again")
    terminal.keys("C-d")
    terminal.wait_for(f"overmind: '{name}' continues in the background")
    terminal.wait_for("[exit 0]")

    reply = claude.answer(name, "back in the background")
    assert reply["text"] == "echo: back in the background"
    assert claude.fake.histories[-1] == ["before attach", "still headless", "typed in the terminal",
                                         "back in the background"]
    assert claude.om.status(name) == "running"
    lines = claude.om.logs(name)
    assert "[overmind] attached in a terminal" in lines
    assert "[overmind] detached; resuming in the background" in lines
    claude.om("stop", name)


def test_attach_refuses_tasks_and_a_second_terminal(claude: Claude, name: str, terminal: Tmux) -> None:
    claude.run(name, session=True)
    terminal.env = claude.om.env
    terminal.overmind("attach", name)
    must(lambda: claude.om.status(name) == "attached", 30)
    second = Tmux(claude.om.env)
    try:
        second.overmind("attach", name)
        assert f"overmind: '{name}' is already attached in another terminal" in second.wait_for("[exit 1]")
    finally:
        second.close()
    claude.om("stop", name)
    claude.om.run("true", "--name", f"{name}-task")
    proc = claude.om("attach", f"{name}-task", check=False)
    assert proc.stderr.startswith("overmind: attach needs a terminal")


def test_raw_session_takes_lines_and_joins_a_terminal_with_its_size(om: Overmind, name: str,
                                                                    terminal: Tmux) -> None:
    om.run("bash --norc --noprofile -i", "--name", name, "--type", "session", "-e", "PS1=$ ")
    om("send", name, "echo sent-$((6*7))")
    must(lambda: "sent-42" in om.logs(name), what="the sent line to run")

    terminal.overmind("attach", name)
    terminal.wait_for("detach with Ctrl-]")
    assert must(lambda: om.status(name) == "attached")
    terminal.type("stty size; echo typed-$((7*7))")
    rows, columns = terminal.size()
    terminal.wait_for(f"{rows} {columns}")
    terminal.wait_for("typed-49")
    terminal.tmux("resize-window", "-x", "100", "-y", "30")
    rows, columns = must(lambda: size if (size := terminal.size())[1] == 100 else None, what="the resize")
    terminal.type("stty size")
    terminal.wait_for(f"{rows} 100")

    terminal.keys("C-]")
    terminal.wait_for(f"overmind: detached from '{name}'")
    terminal.wait_for("[exit 0]")
    assert must(lambda: om.status(name) == "running")
    assert "typed-49" in om.logs(name)
    om("stop", name)
