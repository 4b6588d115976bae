"""Permission requests of the real claude CLI (`--permission-prompt-tool stdio`), routed to a person:
listed, approved, denied, timed out, and kept across the wrapper's death, never silently allowed."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from overmind.providers import first_line
from tests.helpers import must
from tests.integration.test_events import Lines, events  # noqa: F401 (the change feed, listening)
from tests.sessions.conftest import Claude


def label(command: str) -> str:
    """How a Bash call is named for a person: its command's first line, cut at 80 characters."""
    return f"Bash({first_line(command, 80)})"


def pending(claude: Claude, name: str, count: int = 1, what: str = "the permission request") -> list[dict[str, Any]]:
    return must(lambda: (found := claude.om.json("permissions", name)) and len(found) == count and found, 30, what)


def touching(claude: Claude, trigger: str, target: Path) -> str:
    """The fake model answers `trigger` with a Bash call that creates `target`: a tool use its
    permissions do not allow (claude asks for it)."""
    command = f"touch {target}"
    claude.fake.on(trigger, tool=("Bash", {"command": command, "description": "touch"}))
    return command


def test_a_request_is_listed_shown_in_ps_and_approved_from_the_cli(claude: Claude, name: str, tmp_path: Path,
                                                                   events: Lines) -> None:  # noqa: F811
    target = tmp_path / "published"
    command = touching(claude, "publish it", target)
    started = claude.run(name, "publish it", "--on-permission", "ask", "--no-memory")  # the feed listens already
    [request] = pending(claude, name)
    assert (request["id"], request["name"], request["request"]) == (started["id"], name, 1)
    assert (request["tool"], request["input"]["command"], request["state"]) == ("Bash", command, "pending")
    assert request["label"] == label(command)
    row = next(r for r in claude.om.json("ps") if r["name"] == name)
    assert row["status_text"] == f"needs you: permission for {label(command)}"
    assert [p["request"] for p in row["permissions"]] == [1]
    assert "needs you: permission for Bash(touch" in claude.om.wide("ps")
    info = claude.om("info", name).stdout
    assert "on permission: ask (denied if no one answers within 30m)" in info
    assert f"waiting: request 1: {label(command)}, asked " in info
    assert not target.exists()

    said = claude.om("approve", name).stdout
    assert said == f"allowed request 1 of '{name}': {label(command)}\n"
    assert claude.om("wait", name).returncode == 0
    assert target.exists()
    assert claude.om("result", name).stdout == "tool said: (Bash completed with no output)\n"
    told = must(lambda: (found := [c for _, c in events.about(name) if c["type"] == "permission"]) and
                len(found) >= 2 and found, 30, "the request asked and answered in the change feed")
    assert [c["event"] for c in told] == ["asked", "allowed"]
    assert {(c["id"], c["name"], c["permission"]["request"]) for c in told} == {(started["id"], name, 1)}
    assert told[1]["permission"]["answered_by"] == "cli"
    again = claude.om("approve", name, "1", check=False)
    assert (again.returncode, again.stderr) == (1, f"overmind: request 1 of '{name}' is no longer pending"
                                                   " (allowed by cli)\n")
    [answered] = claude.om.json("permissions", name, "--all")
    assert (answered["state"], answered["answered_by"]) == ("allowed", "cli")
    assert claude.om.json("permissions", name) == []


def test_a_denied_request_is_not_run_and_the_agent_reads_why(claude: Claude, name: str, tmp_path: Path) -> None:
    target = tmp_path / "deleted"
    touching(claude, "delete it", target)
    claude.run(name, "delete it", "--permission-mode", "default", "--no-memory")  # a mode that prompts: the task asks
    pending(claude, name)
    said = claude.om("deny", name, "1", "--message", "not on a Friday").stdout
    assert said.endswith("(the agent reads: not on a Friday)\n")
    claude.om("wait", name)
    assert not target.exists()
    assert claude.om("result", name).stdout == "tool said: not on a Friday\n"
    lines = claude.om.logs(name)
    assert "[tool error] not on a Friday" in lines
    assert any(line.startswith("[permission] 1. Bash(touch") and "denied by cli: not on a Friday" in line
               for line in lines)


def test_an_unanswered_request_is_denied_after_the_timeout(claude: Claude, name: str, tmp_path: Path) -> None:
    target = tmp_path / "late"
    touching(claude, "do it later", target)
    claude.run(name, "do it later", "--on-permission", "ask", "--permission-timeout", "2s", "--no-memory")
    pending(claude, name)
    claude.om("wait", name, timeout=60)
    assert not target.exists()
    assert claude.om("result", name).stdout == "tool said: no one answered within 2s\n"
    [request] = claude.om.json("permissions", name, "--all")
    assert (request["state"], request["answered_by"], request["message"]) == (
        "denied", "timeout", "no one answered within 2s")


def test_a_task_without_a_prompting_mode_denies_at_once_as_claude_p_does(claude: Claude, name: str,
                                                                         tmp_path: Path) -> None:
    target = tmp_path / "never"
    touching(claude, "try it", target)
    claude.run(name, "try it", "--no-memory")
    claude.om("wait", name)
    assert not target.exists()
    assert claude.om.json("permissions", name, "--all") == []


def test_a_request_pending_when_the_wrapper_dies_is_asked_again_and_never_allowed(
        claude: Claude, name: str, tmp_path: Path) -> None:
    target = tmp_path / "risky"
    touching(claude, "risky move", target)
    claude.run(name, "risky move", "--on-permission", "ask", "--restart", "on-failure", "--no-memory")
    [first] = pending(claude, name)
    wrapper = claude.om.info(name)["os_pid"]
    os.kill(wrapper, signal.SIGKILL)
    # The mission restarts; the agent resumes and asks again: the same request, asked anew.
    again = must(lambda: (found := claude.om.json("permissions", name)) and found[0]["request_id"] !=
                 first["request_id"] and found, 60, "the request asked again")
    assert [r["request"] for r in again] == [1]
    assert claude.om.info(name)["restarts"] == 1
    assert not target.exists()
    claude.om("deny", name, "--message", "no")
    claude.om("wait", name)
    assert not target.exists()
    history = claude.om.json("permissions", name, "--all")
    assert [(r["request"], r["state"]) for r in history] == [(1, "denied")]


def test_an_answer_given_while_the_mission_restarts_is_given_when_the_agent_asks_again(
        claude: Claude, name: str, tmp_path: Path) -> None:
    target = tmp_path / "approved-meanwhile"
    touching(claude, "move later", target)
    # a 10 s wait before the restart: the window in which no wrapper listens
    claude.run(name, "move later", "--on-permission", "ask", "--restart", "on-failure", "--backoff", "10s",
               "--no-memory")
    pending(claude, name)
    os.kill(claude.om.info(name)["os_pid"], signal.SIGKILL)
    must(lambda: claude.om.info(name)["status"] == "restarting", 30, "the mission waiting to restart")
    said = claude.om("approve", name).stdout
    assert said.endswith("; the agent is restarting and gets the answer when it asks again\n"), said
    assert not target.exists()
    [kept] = claude.om.json("permissions", name, "--all")
    assert (kept["state"], kept["answered_by"]) == ("allowed", "cli")
    # The agent resumes, asks for the same call again, and is given the answer left in the store.
    assert claude.om("wait", name, timeout=90).returncode == 0
    assert target.exists()
    assert claude.om.info(name)["restarts"] == 1
    assert [(r["request"], r["state"]) for r in claude.om.json("permissions", name, "--all")] == [(1, "allowed")]
    assert any("allowed by cli" in line for line in claude.om.logs(name) if line.startswith("[permission] 1."))


def test_bad_answers_change_nothing(claude: Claude, name: str, tmp_path: Path) -> None:
    touching(claude, "careful", tmp_path / "careful")
    claude.run(name, "careful", "--on-permission", "ask", "--no-memory")
    [request] = pending(claude, name)
    other = claude.run(f"{name}-other", "hello", "--on-permission", "ask", "--no-memory")
    for args, error in (
            ([name, "7"], f"overmind: '{name}' has no permission request 7"),
            ([other["name"]], f"overmind: '{other['name']}' has no pending permission request"),
            ([other["name"], request["request_id"]],
             f"overmind: request '{request['request_id']}' is not one of '{other['name']}''s: it belongs to '{name}'"),
            (["nobody-here"], "overmind: no mission named 'nobody-here'")):
        proc = claude.om("approve", *args, check=False)
        assert proc.returncode != 0 and proc.stderr.splitlines()[0] == error, proc.stderr
    assert [r["state"] for r in claude.om.json("permissions", name)] == ["pending"]
    claude.om("deny", name)
    claude.om("wait", name)
    data = json.loads(claude.om("result", name, "--json").stdout)
    assert data["text"] == "tool said: The user denied this tool use (overmind, cli)."


def test_always_adds_a_rule_shown_in_info_and_kept_across_a_restart(claude: Claude, name: str,
                                                                    tmp_path: Path) -> None:
    package = {"name": "p", "version": "1.0.0", "scripts": {"test": "touch ran"}}
    (claude.cwd / "package.json").write_text(json.dumps(package))
    for n in (1, 2, 3):
        claude.fake.on(f"test round {n}", tool=("Bash", {"command": f"npm test -- round{n}", "description": "test"}))
    claude.run(name, "--no-memory", session=True)
    claude.om("send", name, "test round 1")
    [request] = pending(claude, name)
    assert request["always_adds"] == ["Bash(npm test *)"]  # what claude proposes
    said = claude.om("approve", name, "--always").stdout
    assert said.endswith("; from now on it may, without asking: Bash(npm test *)\n")
    must(lambda: (claude.cwd / "round1").exists(), 60, "the first round")
    info = claude.om("info", name).stdout
    assert "allowed always: Bash(npm test *)" in info
    assert claude.om.info(name)["permission_rules"] == ["Bash(npm test *)"]
    must(lambda: claude.om.info(name)["status_text"] == "waiting for input", 60, "the turn to end")

    reply = claude.answer(name, "test round 2")["text"]
    assert reply.startswith("tool said:"), claude.om("logs", name).stdout
    assert (claude.cwd / "round2").exists(), claude.om("logs", name).stdout
    claude.om("restart", name)
    must(lambda: claude.om.info(name)["status_text"] == "waiting for input", 60, "the session back")
    assert claude.answer(name, "test round 3")["text"].startswith("tool said:")  # overmind's rule, a new process
    assert (claude.cwd / "round3").exists()
    assert [r["request"] for r in claude.om.json("permissions", name, "--all")] == [1]  # asked once only
    assert any("allowed by the rule Bash(npm test *)" in line for line in claude.om.logs(name))
    claude.om("stop", name)
