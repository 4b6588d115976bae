"""Claude tasks (`claude -p PROMPT`) with the real CLI: readable logs, whole events, results."""

from __future__ import annotations

import json

from tests.helpers import must, path_without
from tests.sessions.conftest import Claude


def _events(claude: Claude, name: str) -> list[dict]:
    return [json.loads(line) for line in claude.om("logs", name, "--json").stdout.splitlines()]


def test_a_task_logs_readable_lines_and_keeps_each_event_whole(claude: Claude, name: str) -> None:
    claude.run(name, "hello there")
    assert claude.om("wait", name).returncode == 0
    lines = claude.om.logs(name)
    assert lines[0].startswith("[session] ")
    assert "echo: hello there" in lines
    assert any(line.startswith("[result] ok · 1 turn · ") and "$" in line for line in lines)
    entries = _events(claude, name)
    kinds = [e["event"]["type"] for e in entries if "event" in e]
    assert kinds == ["system", "assistant", "result"]
    result = next(e["event"] for e in entries if e.get("event", {}).get("type") == "result")
    assert result["result"] == "echo: hello there"


def test_result_reports_the_final_answer(claude: Claude, name: str) -> None:
    started = claude.run(name, "what is the answer")
    claude.om("wait", name)
    assert claude.om("result", name).stdout == "echo: what is the answer\n"
    data = json.loads(claude.om("result", started["id"], "--json").stdout)
    assert set(data) == {"text", "duration_ms", "cost_usd", "is_error", "session_id", "input_tokens", "output_tokens"}
    assert data["is_error"] is False and data["cost_usd"] > 0
    assert data["session_id"] == claude.om.info(name)["session_id"]


def test_a_bash_tool_call_runs_and_is_logged(claude: Claude, name: str) -> None:
    claude.fake.on("list it", tool=("Bash", {"command": "echo tool-output-42", "description": "print"}))
    claude.run(name, "please list it", "--allowed-tools", "Bash")
    claude.om("wait", name)
    lines = claude.om.logs(name)
    assert "[tool] Bash: echo tool-output-42" in lines
    assert "[tool output] tool-output-42" in lines
    assert claude.om("result", name).stdout == "tool said: tool-output-42\n"


def test_a_denied_tool_is_recorded_in_the_result(claude: Claude, name: str, tmp_path) -> None:
    outside = tmp_path / "outside"
    claude.fake.on("touch it", tool=("Bash", {"command": f"touch {outside}", "description": "touch"}))
    claude.run(name, "touch it")
    claude.om("wait", name)
    assert f"[denied] Bash: touch {outside}" in claude.om.logs(name)
    assert not outside.exists()


def test_an_api_error_is_an_error_even_when_the_cli_says_success(claude: Claude, name: str) -> None:
    claude.fake.on("explode", error=(500, "api_error", "boom"))
    claude.run(name, "explode")
    assert claude.om("wait", name, check=False).returncode == 1
    proc = claude.om("result", name, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"overmind: {name}: API Error: 500 boom")
    data = json.loads(claude.om("result", name, "--json", check=False).stdout)
    assert data["is_error"] is True
    event = next(e["event"] for e in _events(claude, name) if e.get("event", {}).get("type") == "result")
    assert event["subtype"] == "success" and event["is_error"] is True


def test_options_pass_through_and_the_claude_shorthand_runs_the_same(claude: Claude, name: str) -> None:
    claude.om("claude", "run", "--name", name, "--cwd", str(claude.cwd), "-e", f"HOME={claude.home}",
              "--model", "sonnet", "--max-turns", "3", "--append-system-prompt", "be brief",
              "--max-budget-usd", "0.5", "--permission-mode", "acceptEdits", "--", "-p", "looks", "like", "flags")
    claude.om("wait", name)
    assert claude.om("result", name).stdout == "echo: -p looks like flags\n"
    assert claude.om.info(name)["command"] == "-p looks like flags"
    assert claude.fake.prompts == ["-p looks like flags"]


def test_status_shows_the_running_tool(claude: Claude, name: str, tmp_path) -> None:
    gate = tmp_path / "gate"
    command = f"until [ -e {gate} ]; do sleep 0.05; done; echo released"
    claude.fake.on("wait for it", tool=("Bash", {"command": command, "description": "wait"}))
    unit = claude.run(name, "wait for it", "--allowed-tools", "Bash")["unit"]
    row = must(lambda: next((r for r in claude.om.json("ps") if r["name"] == name and r["status_text"]
                             and r["status_text"].startswith("working: Bash(")), None), 30, "the tool in ps")
    assert row["status_text"].startswith(f"working: Bash(until [ -e {tmp_path}"[:60])
    assert "Status: \"working: Bash(until" in claude.om.systemctl("status", unit).stdout
    table = claude.om.wide("ps")
    assert "ACTIVITY" in table.splitlines()[0] and "working: Bash(until" in table
    gate.touch()
    claude.om("wait", name)
    assert claude.om("result", name).stdout == "tool said: released\n"


def test_bad_agent_options_are_refused_before_anything_starts(claude: Claude, name: str) -> None:
    for options, message in ((["--permission-mode", "yolo"], "invalid --permission-mode 'yolo'"),
                             (["--session-id", "not-a-uuid"], "invalid --session-id 'not-a-uuid'"),
                             ([], "empty prompt")):
        proc = claude.om("run", "--provider", "claude", "--name", name, *options, *([] if not options else ["x"]),
                         check=False)
        assert proc.returncode == 1
        assert proc.stderr.startswith(f"overmind: {message}"), proc.stderr
    proc = claude.om("run", "--provider", "claude", "-e", f"PATH={path_without('claude')}", "x", check=False)
    assert proc.stderr.splitlines() == ["overmind: claude is not installed (not found on PATH)",
                                        "(npm install -g @anthropic-ai/claude-code)"]
    proc = claude.om("run", "--provider", "opencode", "--type", "session", "x", check=False)
    assert proc.stderr.startswith("overmind: opencode has no long-lived sessions")
    proc = claude.om("run", "--provider", "codex", "--max-turns", "3", "x", check=False)
    assert proc.stderr.startswith("overmind: --max-turns does not apply to codex missions")
    assert claude.om.json("ps") == [] or all(r["name"] != name for r in claude.om.json("ps"))
