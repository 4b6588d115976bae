"""A person is told when a real claude agent (against the fake Messages API) waits for them: a
session once per turn, a permission request once, on a webhook served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import must
from tests.notify.webhook_receiver import Receiver
from tests.sessions.conftest import Claude


@pytest.fixture
def hook(claude: Claude, name: str) -> Iterator[Receiver]:
    """A webhook for this test's missions, told when they wait and when they crash."""
    receiver = Receiver()
    receiver.start()
    claude.om("notify", "add", name, "--webhook", receiver.url, "--on", "waiting,crashed,permission",
              "--missions", f"{name}*")
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


def test_a_permission_request_is_told_once_and_its_answer_is_a_persons(claude: Claude, hook: Receiver, name: str,
                                                                       tmp_path: Path) -> None:
    target = tmp_path / "published"
    claude.fake.on("publish it", tool=("Bash", {"command": f"touch {target}", "description": "touch"}))
    started = claude.run(name, "publish it", "--on-permission", "ask", "--no-memory")
    told = hook.wait_for(name, "permission", 60)
    assert told["title"] == f"{name} asks permission"
    assert told["message"] == f"Bash(touch {target}): overmind approve {name} 1 (or deny)"
    assert told["mission_id"] == started["id"] and told["permission"]["request"] == 1
    assert not target.exists()  # told, not answered: the request waits for a person
    claude.om("approve", name, "1")
    assert claude.om("wait", name).returncode == 0 and target.exists()
    claude.om.run("exit 3", "--name", f"{name}-sentinel")  # told after anything told twice would be
    hook.wait_for(f"{name}-sentinel", "crashed", 60)
    assert len(hook.about(name, "permission")) == 1
