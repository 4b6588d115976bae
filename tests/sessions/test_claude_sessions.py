"""Claude sessions with the real CLI: send, send --wait, subscribe, resume after a crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid

from tests.helpers import must
from tests.sessions.conftest import Claude


def test_a_session_answers_each_message_and_says_it_waits_for_input(claude: Claude, name: str) -> None:
    started = claude.run(name, "first prompt", session=True)
    assert claude.answer(name, "second")["text"] == "echo: second"
    reply = claude.answer(started["id"], "third")
    assert set(reply) == {"text", "duration_ms", "cost_usd", "is_error", "session_id", "input_tokens", "output_tokens"}
    assert (reply["text"], reply["is_error"]) == ("echo: third", False)
    assert claude.om("send", name, "--wait", "fourth").stdout == "echo: fourth\n"
    assert claude.fake.prompts == ["first prompt", "second", "third", "fourth"]
    info = must(lambda: (i := claude.om.info(name))["status_text"] == "waiting for input" and i)
    assert (info["type"], info["provider"], info["status"]) == ("session", "claude", "running")
    assert info["session_id"] == reply["session_id"]
    lines = claude.om.logs(name)
    assert lines.index("[human] second") < lines.index("echo: second")
    claude.om("stop", name)


def test_a_message_sent_during_a_turn_gets_its_own_answer(claude: Claude, name: str) -> None:
    gate = claude.gate("slow question", "slow answer")
    claude.run(name, session=True)
    claude.om("send", name, "slow question")
    must(lambda: "slow question" in claude.fake.prompts, what="the first turn to start")
    waiter = subprocess.Popen([sys.executable, "-m", "overmind", "send", name, "--wait", "quick question"],
                              env=claude.om.env, stdout=subprocess.PIPE, text=True)
    gate.set()
    answer = waiter.communicate(timeout=30)[0]
    assert answer == "echo: quick question\n", claude.om("logs", name, "--json").stdout
    claude.om("stop", name)


def test_send_wait_gives_up_after_its_timeout(claude: Claude, name: str) -> None:
    gate = claude.gate("never mind", "late")
    claude.run(name, session=True)
    proc = claude.om("send", name, "--wait", "--timeout", "300", "never mind", check=False)
    assert proc.returncode == 124
    assert proc.stderr == f"overmind: no answer from '{name}' within 300 ms (the message was sent)\n"
    gate.set()
    assert claude.answer(name, "next")["text"] == "echo: next"
    claude.om("stop", name)


def test_subscribe_streams_events_until_the_mission_ends(claude: Claude, name: str) -> None:
    claude.run(name, session=True)
    follower = subprocess.Popen([sys.executable, "-m", "overmind", "subscribe", name], env=claude.om.env,
                                stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        must(lambda: claude.om("send", name, "streamed") and True)
        events = []
        while not events or events[-1]["type"] != "result":
            events.append(json.loads(follower.stdout.readline()))
        conversation = [e["type"] for e in events if e["type"] in ("user", "assistant", "result")]
        assert conversation == ["user", "assistant", "result"]
        assert events[-1]["result"] == "echo: streamed"
        claude.om("stop", name)
        tail = [json.loads(line) for line in follower.stdout]
        assert tail[-1] == {"type": "exit", "status": "stopped", "exit_code": tail[-1]["exit_code"], "reason": None}
        assert follower.wait(10) == 0
    finally:
        follower.kill()
    replay = [json.loads(line) for line in claude.om("subscribe", name, "--from-start").stdout.splitlines()]
    assert [e["type"] for e in replay].count("result") == 1 and replay[-1]["type"] == "exit"


def test_a_crashed_session_comes_back_with_its_conversation(claude: Claude, name: str) -> None:
    claude.run(name, "remember the number 42", "--restart", "on-failure", session=True)
    session_id = claude.answer(name, "and 43")["session_id"]
    os.kill(claude.agent_pid(name), signal.SIGKILL)
    must(lambda: (info := claude.om.info(name))["restarts"] == 1 and info["status_text"] == "waiting for input",
         30, "the session to restart and take messages again")
    reply = claude.answer(name, "what did I say")
    assert reply["session_id"] == session_id
    assert claude.fake.histories[-1] == ["remember the number 42", "and 43", "what did I say"]
    assert any(line.startswith("--- restart #1 ") for line in claude.om.logs(name))
    claude.om("stop", name)


def test_session_id_resumes_a_known_conversation(claude: Claude, name: str) -> None:
    claude.run(f"{name}-task", "the first conversation")
    claude.om("wait", f"{name}-task")
    known = json.loads(claude.om("result", f"{name}-task", "--json").stdout)["session_id"]
    claude.run(name, "", "--session-id", known, session=True)
    assert claude.answer(name, "go on")["session_id"] == known
    assert claude.fake.histories[-1] == ["the first conversation", "go on"]
    claude.om("stop", name)


def test_an_unknown_session_id_is_a_clear_error(claude: Claude, name: str) -> None:
    unknown = str(uuid.uuid4())
    proc = claude.om("run", "--provider", "claude", "--type", "session", "--name", name, "--cwd", str(claude.cwd),
                     "-e", f"HOME={claude.home}", "--session-id", unknown, check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"overmind: claude session '{name}' could not start: No conversation found with session ID: {unknown}",
        f"(overmind logs {name})"]
    # The exit hook (which also feeds the memory) may still be running: the unit is stopping until it ends.
    must(lambda: claude.om.status(name) == "crashed", what="the crashed status")


def test_send_is_refused_where_nobody_listens(claude: Claude, name: str) -> None:
    claude.om.run("sleep 30", "--name", f"{name}-raw")
    proc = claude.om("send", f"{name}-raw", "hello", check=False)
    assert (proc.returncode, proc.stderr.splitlines()[0]) == (1, f"overmind: '{name}-raw' is a plain command: it "
                                                                 "cannot take messages")
    claude.run(name, "a task")
    claude.om("wait", name)
    proc = claude.om("send", name, "hello", check=False)
    assert proc.stderr.splitlines()[0] == f"overmind: mission '{name}' has ended (stopped)"
    claude.om("stop", f"{name}-raw")


def test_a_session_waiting_for_input_is_not_a_stall(claude: Claude, name: str) -> None:
    # the timeout leaves room for the CLI's own start on a busy machine (its first output is activity)
    claude.run(name, "hello", "--activity-timeout", "4s", "--restart", "on-failure", session=True)
    assert must(lambda: (claude.om.info(name)["uptime_s"] or 0) >= 12, 40, "idle three times the timeout")
    assert claude.om.info(name)["restarts"] == 0
    assert claude.answer(name, "still here?")["text"] == "echo: still here?"
    claude.om("stop", name)


def test_a_stalled_turn_is_killed_and_the_session_resumed(claude: Claude, name: str) -> None:
    gate = claude.gate("hang", "too late")
    # 5 s: a turn of the resumed session must not look stalled on a loaded machine
    claude.run(name, "remember 7", "--activity-timeout", "5s", "--restart", "on-failure", session=True)
    claude.om("send", name, "hang")
    must(lambda: claude.om.info(name)["restarts"] == 1, 60, "the watchdog to restart the session")
    gate.set()
    assert "--- killed: no activity for 5s ---" in claude.om.logs(name)
    assert claude.answer(name, "and now")["text"] == "echo: and now"
    assert claude.fake.histories[-1][0] == "remember 7"
    claude.om("stop", name)
