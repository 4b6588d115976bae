"""A session whose CLI can no longer load the conversation overmind recorded (a terminal quit before
saving it, its files deleted) goes on in a new conversation and says so, instead of ending."""

from __future__ import annotations

import pytest

from tests.helpers import must
from tests.providers.conftest import Agent


@pytest.mark.parametrize("agent", ["gemini"], indirect=True)  # the CLI that refuses a lost conversation in-protocol
def test_a_session_whose_conversation_is_gone_goes_on_in_a_new_one_and_says_so(agent: Agent, name: str) -> None:
    agent.run(name, "remember the number 42", "--restart", "on-failure", session=True)
    lost = agent.answer(name, "and 43")["session_id"]
    chats = list((agent.home / ".gemini" / "tmp").glob("*/chats/*"))
    assert chats
    for chat in chats:
        chat.unlink()
    agent.kill_cli(name)
    must(lambda: (info := agent.om.info(name))["restarts"] == 1 and info["status_text"] == "waiting for input",
         90, "the session to take messages again")
    reply = agent.answer(name, "are you there")
    assert reply["text"] == "echo: are you there" and reply["session_id"] not in (None, lost)
    said = [line for line in agent.om.logs(name) if "could not resume conversation" in line]
    assert len(said) == 1 and lost in said[0] and "a new conversation begins, without the earlier turns" in said[0]
    assert agent.om.info(name)["session_id"] == reply["session_id"]
    assert agent.om.status(name) == "running"
    agent.om("stop", name)
