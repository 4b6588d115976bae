"""A persisted claude session (`run --persist`) after a reboot of the private host: its unit
starts again at boot and the conversation goes on where it stopped."""

from __future__ import annotations

import os

import pytest

from overmind.host import pid1_is_systemd
from tests.helpers import must, reboot
from tests.sessions.conftest import Claude


@pytest.mark.disruptive
@pytest.mark.skipif(pid1_is_systemd() or os.geteuid() != 0, reason="the private host is for root without systemd")
@pytest.mark.skipif(os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1",
                    reason="restarts the shared user manager; set OVERMIND_TEST_HOST_RECOVERY=1 (make test does)")
def test_a_persisted_session_answers_from_its_earlier_turns_after_a_reboot(claude: Claude, name: str) -> None:
    claude.run(name, "remember the number 42", "--persist", session=True)
    session_id = claude.answer(name, "and 43")["session_id"]
    try:
        reboot(claude.om)
        must(lambda: (info := claude.om.info(name))["status_text"] == "waiting for input" and info["boots"] >= 1,
             60, "the session to start again at boot and take messages")
        reply = claude.answer(name, "what did I say")
        assert reply["session_id"] == session_id
        # The fake API saw the whole conversation again: claude was started with --resume.
        assert claude.fake.histories[-1] == ["remember the number 42", "and 43", "what did I say"]
        assert "--- restarted by boot #1 ---" in claude.om.logs(name)  # at least one boot started it again
    finally:
        claude.om("stop", name, check=False)
