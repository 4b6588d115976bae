"""Providers on output recorded from the real CLIs (tests/data/*.jsonl, against fake APIs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from overmind.errors import OvermindError
from overmind.providers import AgentEvent, AgentOptions, check_agent_spec, get

DATA = Path(__file__).resolve().parents[1] / "data"


def parse(provider_name: str, recording: str) -> list[AgentEvent]:
    provider = get(provider_name)
    lines = (DATA / recording).read_text().splitlines()
    return [event for line in lines if (event := provider.parse(line)) is not None]


def lines_of(events: list[AgentEvent]) -> list[str]:
    return [line for event in events for line in event.lines]


def test_claude_task_with_a_tool_call_reads_as_a_transcript() -> None:
    events = parse("claude", "claude-tool-call.jsonl")
    lines = lines_of(events)
    assert lines[0].startswith("[session] ")
    assert lines[1:4] == ["[tool] Bash: echo tool-output-42", "[tool output] tool-output-42",
                          "tool said: tool-output-42"]
    assert lines[4].startswith("[result] ok · 2 turns · ") and lines[4].endswith(" · $0.0003")
    assert [e.status for e in events][:2] == ["working", "working: Bash(echo tool-output-42)"]
    result = events[-1].result
    assert result is not None and not result.is_error
    assert result.text == "tool said: tool-output-42"
    assert result.session_id == events[0].session_id


def test_claude_success_with_is_error_is_an_error() -> None:
    result = parse("claude", "claude-api-error.jsonl")[-1]
    assert result.data["subtype"] == "success" and result.data["is_error"] is True
    assert result.result is not None and result.result.is_error
    assert result.lines[0].startswith("[result] error: API Error: 500 boom")


def test_claude_permission_denials_are_listed() -> None:
    assert "[denied] Bash: touch /tmp/probe/outside-file" in lines_of(parse("claude", "claude-denied.jsonl"))


def test_claude_unknown_session_is_a_start_failure() -> None:
    provider = get("claude")
    (event,) = parse("claude", "claude-unknown-session.jsonl")
    assert provider.failure(event) == "No conversation found with session ID: 00000000-0000-4000-8000-000000000000"


def test_claude_session_acknowledges_messages_and_answers_the_handshake() -> None:
    events = parse("claude", "claude-session.jsonl")
    assert events[0].reply_to == "overmind-init" and not events[0].keep
    assert [e.acknowledges for e in events if e.acknowledges] == ["aaaaaaaa-0000-4000-8000-000000000001",
                                                                  "aaaaaaaa-0000-4000-8000-000000000002"]
    assert [e.result.text for e in events if e.result] == ["echo: first", "echo: second"]
    # The session is announced once, however often the CLI repeats its init event.
    assert sum(line.startswith("[session] ") for line in lines_of(events)) == 1


def test_claude_command_lines_keep_values_attached_to_their_flags() -> None:
    provider = get("claude")
    options = AgentOptions(model="sonnet", allowed_tools="Bash Edit", max_turns=3, max_budget_usd=0.5)
    argv = provider.task_argv("--help", options, "11111111-2222-4333-8444-555555555555", resume=False)
    assert argv == ["claude", "-p", "--output-format=stream-json", "--verbose", "--model=sonnet",
                    "--allowed-tools=Bash Edit", "--max-turns=3", "--max-budget-usd=0.5",
                    "--session-id=11111111-2222-4333-8444-555555555555", "--", "--help"]
    session = provider.session_argv(AgentOptions(), "x", resume=True)
    assert session[1:3] == ["-p", "--input-format=stream-json"] and session[-1] == "--resume=x"
    assert provider.attach_argv(options, "x", resume=True) == ["claude", "--model=sonnet",
                                                              "--allowed-tools=Bash Edit", "--resume=x"]


def test_codex_exec_json_reads_as_a_transcript() -> None:
    events = parse("codex", "codex-tool-call.jsonl")
    lines = lines_of(events)
    assert lines[0] == "[session] 01a20a93-bc7f-7bd0-831f-27a2311af821"
    assert "[tool] shell: /bin/bash -lc 'echo codex-tool-7'" in lines
    assert "[tool output] exit 0: codex-tool-7" in lines
    assert lines[-1].startswith("[result] ok · ") and lines[-1].endswith("24 in / 10 out tokens")
    assert "working: shell(/bin/bash -lc 'echo codex-tool-7')" in [e.status for e in events]
    result = events[-1].result
    assert result is not None and not result.is_error and result.text.startswith("tool said: ")
    assert events[0].session_id == "01a20a93-bc7f-7bd0-831f-27a2311af821"


def test_codex_failed_turn_is_an_error_result() -> None:
    events = parse("codex", "codex-failure.jsonl")
    result = events[-1].result
    assert result is not None and result.is_error
    assert get("codex").failure(events[-1]) == result.text


def test_codex_resumes_its_thread() -> None:
    provider = get("codex")
    assert provider.task_argv("go", AgentOptions(model="m"), "t-1", resume=True) == [
        "codex", "exec", "--json", "--model=m", "resume", "t-1", "--", "go"]
    resumed = parse("codex", "codex-resume.jsonl")
    assert resumed[0].session_id == parse("codex", "codex-tool-call.jsonl")[0].session_id


@pytest.mark.parametrize("provider,kind,prompt,options,message", [
    ("codex", "session", "x", AgentOptions(), "codex has no long-lived sessions"),
    ("codex", "task", "x", AgentOptions(max_turns=2), "--max-turns does not apply to codex missions"),
    ("claude", "task", " ", AgentOptions(), "empty prompt"),
    ("claude", "task", "x", AgentOptions(model=""), "invalid --model ''"),
    ("claude", "task", "x", AgentOptions(permission_mode="yolo"), "invalid --permission-mode 'yolo'"),
    ("claude", "task", "x", AgentOptions(session_id="../etc"), "invalid session id '../etc'"),
    ("raw", "task", "x", AgentOptions(model="m"), "--model does not apply to raw missions"),
    ("gemini", "task", "x", AgentOptions(), "unknown provider 'gemini'"),
])
def test_agent_specs_are_checked(provider: str, kind: str, prompt: str, options: AgentOptions, message: str) -> None:
    with pytest.raises(OvermindError, match=message.replace("(", r"\(")):
        check_agent_spec(provider, kind, prompt, options)


def test_a_claude_session_needs_no_prompt() -> None:
    check_agent_spec("claude", "session", "", AgentOptions())
