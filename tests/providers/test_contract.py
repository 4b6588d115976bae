"""The provider contract: what every agent CLI gives, the same tests for each, with the real CLIs
against their fake APIs (tests/providers/conftest.py). A new CLI joins by being added to AGENTS.

- a task runs a tool call and reports its result (text, tokens, cost where the CLI says) in
  `result --json`, with its conversation id recorded;
- a session holds two turns of one conversation (`send --wait`), streamed to `subscribe`;
- a session whose CLI is killed comes back on the same conversation: the model sees the earlier turns;
- `attach` hands the conversation to the CLI's own interface in a terminal, and takes it back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers import must, wait_until
from tests.providers.conftest import Agent
from tests.sessions.terminal import Tmux

AGENTS = ["claude", "codex", "gemini"]
agents = pytest.mark.parametrize("agent", AGENTS, indirect=True)


@agents
def test_a_task_runs_a_tool_and_reports_its_result(agent: Agent, name: str) -> None:
    agent.shell_tool("list it", "echo tool-output-42")
    agent.run(name, "please list it")
    assert agent.om("wait", name, timeout=120).returncode == 0
    lines = agent.om.logs(name)
    assert any(line.startswith("[tool] ") and "echo tool-output-42" in line for line in lines), lines
    assert "tool said: tool-output-42" in lines
    result = json.loads(agent.om("result", name, "--json").stdout)
    assert (result["text"], result["is_error"]) == ("tool said: tool-output-42", False)
    assert result["session_id"] == agent.om.info(name)["session_id"] is not None
    assert result["input_tokens"] > 0 and result["output_tokens"] > 0
    assert (result["cost_usd"] is not None) == (agent.provider == "claude")  # the others report tokens only
    assert agent.user_texts() == ["please list it"]


@agents
def test_a_session_holds_two_turns_of_one_conversation(agent: Agent, name: str) -> None:
    agent.run(name, "first prompt", session=True)
    # --from-start: a turn the CLI answers before the subscriber's own start is streamed all the same
    follower = subprocess.Popen([sys.executable, "-m", "overmind", "subscribe", "--from-start", name], env=agent.om.env,
                                stdout=subprocess.PIPE, text=True)
    streamed: list[str] = []
    threading.Thread(target=lambda: streamed.extend(follower.stdout or []), daemon=True).start()
    try:
        reply = agent.answer(name, "second")
        assert (reply["text"], reply["is_error"]) == ("echo: second", False)
        assert agent.user_texts() == ["first prompt", "second"]
        info = must(lambda: (i := agent.om.info(name))["status_text"] == "waiting for input" and i)
        assert info["session_id"] == reply["session_id"] is not None
        # The turn's events, as the CLI printed them (its answer among them), streamed as they came.
        must(lambda: any("echo: second" in line for line in streamed), 30, "the turn's events on subscribe")
        assert all(json.loads(line) for line in streamed)
    finally:
        follower.kill()
    lines = agent.om.logs(name)
    assert lines.index("[human] second") < lines.index("echo: second")
    agent.om("stop", name)


@agents
def test_a_killed_cli_comes_back_on_the_same_conversation(agent: Agent, name: str) -> None:
    agent.run(name, "remember the number 42", "--restart", "on-failure", session=True)
    session_id = agent.answer(name, "and 43")["session_id"]
    agent.kill_cli(name)
    must(lambda: (info := agent.om.info(name))["restarts"] == 1 and info["status_text"] == "waiting for input",
         90, f"the session to restart and take messages again: {agent.om.info(name)} {agent.om.logs(name)}")
    reply = agent.answer(name, "what did I say")
    assert reply["session_id"] == session_id
    assert agent.user_texts() == ["remember the number 42", "and 43", "what did I say"]
    agent.om("stop", name)


READY = {"claude": "echo: still headless", "codex": "for shortcuts", "gemini": "Type your message"}  # input taken
QUIT_KEYS = {"claude": ("C-d", "C-d"), "codex": ("C-c",), "gemini": ("C-c", "C-c")}  # quit an idle CLI


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (scripts/bootstrap.sh)")
@agents
def test_attach_lends_the_conversation_to_the_cli_in_a_terminal(agent: Agent, name: str) -> None:
    agent.run(name, "before attach", session=True)
    assert agent.answer(name, "still headless")["text"] == "echo: still headless"
    terminal = Tmux(agent.om.env)
    try:
        terminal.overmind("attach", name)
        terminal.wait_for("echo: still headless", 60)  # the CLI's own interface, on the same conversation
        assert must(lambda: agent.om.status(name) == "attached")
        terminal.wait_for(READY[agent.provider], 30)
        terminal.tmux("send-keys", "-l", "typed in the terminal")
        terminal.wait_for("typed in the terminal")
        time.sleep(0.5)  # an Enter that comes with the text is taken for a pasted newline by codex and gemini
        terminal.keys("Enter")
        terminal.wait_for("echo: typed in the terminal", 60)
        back = f"overmind: '{name}' continues in the background"
        for _ in range(4):  # a key the CLI took while still drawing its last turn quits nothing: press again
            for key in QUIT_KEYS[agent.provider]:
                terminal.keys(key)
                time.sleep(0.3)  # the second press must come within the CLI's window for it
            # Long enough for a busy machine: pressed again while the CLI is still saving its
            # conversation on the way out, it quits without saving (gemini then cannot load it).
            if wait_until(lambda: back in terminal.screen(), 30):
                break
        terminal.wait_for(back, 30)
    finally:
        terminal.close()
    reply = agent.answer(name, "back in the background")
    assert reply["text"] == "echo: back in the background"
    assert agent.user_texts() == ["before attach", "still headless", "typed in the terminal", "back in the background"]
    agent.om("stop", name)
