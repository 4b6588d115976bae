"""Every agent CLI's missions start the way a plain command does (overmind.control.launch): one
StartTransientUnit call to the user manager, no systemd-run fork; a session is reported ready
once it takes messages. `claude run` (the per-agent shorthand) is `run --provider claude`."""

from __future__ import annotations

import json

import pytest

from tests.helpers import created_over_dbus, debugging
from tests.providers.conftest import Agent


def _start(agent: Agent, name: str, *words: str) -> tuple[dict[str, object], str]:
    debug = debugging(agent.om)
    command = [agent.provider, "run"] if agent.provider == "claude" else ["run", "--provider", agent.provider]
    proc = debug(*command, "--name", name, "--cwd", str(agent.cwd), "-e", f"HOME={agent.home}", *agent.options,
                 "--json", *words, timeout=180)
    return json.loads(proc.stdout), proc.stderr


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini"], indirect=True)
def test_an_agent_session_is_launched_in_one_dbus_call_and_reported_ready(agent: Agent, name: str) -> None:
    started, debug = _start(agent, name, "--type", "session")
    assert (started["type"], started["state"]) == ("session", "ready")
    assert created_over_dbus(debug, str(started["unit"])), debug
    agent.om("stop", name)


@pytest.mark.parametrize("agent", ["opencode"], indirect=True)
def test_an_agent_task_is_launched_in_one_dbus_call(agent: Agent, name: str) -> None:
    agent.fake.on("say hello", text="hello")
    started, debug = _start(agent, name, "say hello")
    assert (started["type"], started["state"]) == ("task", "starting")
    assert created_over_dbus(debug, str(started["unit"])), debug
    assert agent.om("wait", name, timeout=180).returncode == 0
