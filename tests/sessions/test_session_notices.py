"""A person is told when a real claude session (against the fake Messages API) waits for them:
once per turn, on a webhook served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import must
from tests.notify.webhook_receiver import Receiver
from tests.sessions.conftest import Claude


@pytest.fixture
def hook(claude: Claude, name: str) -> Iterator[Receiver]:
    """A webhook for this test's missions, told when they wait and when they crash."""
    receiver = Receiver()
    receiver.start()
    claude.om("notify", "add", name, "--webhook", receiver.url, "--on", "waiting,crashed", "--missions", f"{name}*")
    yield receiver
    claude.om("notify", "rm", name, check=False)
    receiver.stop()


def test_a_session_is_told_waiting_once_per_turn(claude: Claude, hook: Receiver, name: str) -> None:
    started = claude.run(name, "first", session=True)
    told = hook.wait_for(name, "waiting", 60)
    assert told["title"] == f"{name} waits for your message"
    assert told["message"] == f"send it one: overmind send {name} 'MESSAGE'"
    assert told["mission"]["id"] == started["id"] and told["mission"]["status_text"] == "waiting for input"
    assert claude.answer(name, "second")["text"] == "echo: second"
    must(lambda: len(hook.about(name, "waiting")) == 2, 60, "the second turn's wait told")
    claude.om.run("exit 3", "--name", f"{name}-sentinel")  # told after anything told twice would be
    hook.wait_for(f"{name}-sentinel", "crashed", 60)
    turns = [b["turn"] for b in hook.about(name, "waiting")]
    assert len(turns) == 2 and turns[0] < turns[1]  # one per turn, never twice
    claude.om("stop", name)
