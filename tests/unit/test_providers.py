"""Providers on output recorded from the real CLIs (tests/data/*.jsonl, against fake APIs)."""

from __future__ import annotations

import json
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


def test_codex_app_server_session_reads_as_a_transcript() -> None:
    provider = get("codex")
    key, hello = provider.handshake(AgentOptions(model="m", append_system_prompt="be brief"), None, resume=False)
    assert key == "overmind-thread" and b'"thread/start"' in hello and b'"developerInstructions": "be brief"' in hello
    events = [event for line in (DATA / "codex-app-session.jsonl").read_text().splitlines()
              if (event := provider.parse(line)) is not None]
    kept = [e for e in events if e.keep]
    lines = lines_of(kept)
    assert lines[0].startswith("[session] 01a24388-e8e9-7e83-8dd2-250e8673b2e2")
    assert "[tool] shell: /bin/bash -lc 'echo hello-from-tool'" in lines
    assert any(line.startswith("[tool output] ") for line in lines)
    results = [e.result for e in events if e.result]
    assert [r.is_error for r in results] == [False, True]
    assert results[0].text.endswith("hello-from-tool")
    assert (results[0].input_tokens, results[0].output_tokens) == (20, 10)
    assert "bad things" in results[1].text
    assert [e.acknowledges for e in events if e.acknowledges] == ["aaaaaaaa-0000-4000-8000-000000000001",
                                                                  "aaaaaaaa-0000-4000-8000-000000000002"]
    assert {e.type for e in events if e.result} == {"result"}
    # Stored, the turn's end carries what it was pieced together from: read back alone, it says the same.
    stored = next(e for e in events if e.result and not e.result.is_error)
    again = get("codex").parse(stored.stored(json.dumps(stored.data)))
    assert again is not None and again.result == results[0]


def test_codex_sends_a_message_at_a_time() -> None:
    provider = get("codex")
    provider.handshake(AgentOptions(), "t-1", resume=True)
    assert json.loads(provider.user_message("one", "m1"))["params"]["threadId"] == "t-1"
    assert provider.user_message("two", "m2") == b""  # the first turn runs: this one waits
    ended = provider.parse(json.dumps({"method": "turn/completed", "params": {
        "threadId": "t-1", "turn": {"status": "completed", "items": [{"type": "agentMessage", "text": "ok"}]}}}))
    assert ended is not None and ended.respond is not None
    assert json.loads(ended.respond)["params"]["input"][0]["text"] == "two"


def test_unknown_events_are_skipped_and_said_once_and_odd_ones_never_raise() -> None:
    provider = get("codex")
    first = provider.parse('{"method": "thread/hologram/updated", "params": {}}')
    second = provider.parse('{"method": "thread/hologram/updated", "params": {}}')
    assert first is not None and not first.keep and first.lines == [
        "[overmind] skipped codex's 'thread/hologram/updated' events: not known to overmind"]
    assert second is not None and second.lines == []
    odd = provider.parse('{"method": "item/completed", "params": {"item": "not an object"}}')
    assert odd is not None and odd.lines[0].startswith("[overmind] could not read a item/completed event")
    request = provider.parse('{"id": 7, "method": "item/tool/requestUserInput", "params": {}}')
    assert request is not None and json.loads(request.respond or b"{}")["error"]["code"] == -32601


@pytest.mark.parametrize("provider,kind,prompt,options,message", [
    ("opencode", "session", "x", AgentOptions(), "opencode has no long-lived sessions"),
    ("codex", "task", "x", AgentOptions(max_turns=2), "--max-turns does not apply to codex missions"),
    ("codex", "task", "x", AgentOptions(allowed_tools="Bash"), "--allowed-tools does not apply to codex missions"),
    ("codex", "task", "x", AgentOptions(permission_mode="yolo"), "invalid --permission-mode 'yolo' for codex"),
    ("gemini", "task", "x", AgentOptions(max_budget_usd=1.0), "--max-budget-usd does not apply to gemini missions"),
    ("gemini", "task", "x", AgentOptions(permission_mode="bypassPermissions"),
     "invalid --permission-mode 'bypassPermissions' for gemini"),
    ("opencode", "task", "x", AgentOptions(append_system_prompt="x"),
     "--append-system-prompt does not apply to opencode missions"),
    ("claude", "task", " ", AgentOptions(), "empty prompt"),
    ("claude", "task", "x", AgentOptions(model=""), "invalid --model ''"),
    ("claude", "task", "x", AgentOptions(permission_mode="yolo"), "invalid --permission-mode 'yolo'"),
    ("claude", "task", "x", AgentOptions(session_id="../etc"), "invalid session id '../etc'"),
    ("raw", "task", "x", AgentOptions(model="m"), "--model does not apply to raw missions"),
    ("aider", "task", "x", AgentOptions(), "unknown provider 'aider'"),
])
def test_agent_specs_are_checked(provider: str, kind: str, prompt: str, options: AgentOptions, message: str) -> None:
    with pytest.raises(OvermindError, match=message.replace("(", r"\(")):
        check_agent_spec(provider, kind, prompt, options)


def test_a_claude_session_needs_no_prompt() -> None:
    check_agent_spec("claude", "session", "", AgentOptions())


def test_gemini_acp_session_reads_as_a_transcript() -> None:
    provider = get("gemini")
    key, hello = provider.handshake(AgentOptions(append_system_prompt="be brief"), None, resume=False)
    assert key == "overmind-session" and b'"session/new"' in hello
    for n in (1, 2, 3):  # the messages the recording answers, so that each turn is running
        provider.user_message("x", f"aaaaaaaa-0000-4000-8000-00000000000{n}")
    events = [event for line in (DATA / "gemini-acp-session.jsonl").read_text().splitlines()
              if (event := provider.parse(line)) is not None]
    kept = [e for e in events if e.keep]
    lines = lines_of(kept)
    assert lines[0] == "[session] 5e690086-74f5-4afb-bb54-3a6a7cd349b6 · gemini-2.5-flash"
    assert "[tool] execute: echo hello-from-tool" in lines and "[tool output] (completed)" in lines
    results = [e.result for e in events if e.result]
    assert [(r.text, r.is_error) for r in results][:2] == [("tool said: hello-from-tool", False),
                                                             ("slowly but surely", False)]
    assert results[2].is_error and "bad things" in results[2].text
    assert (results[0].input_tokens, results[0].output_tokens) == (20, 10)
    assert [e.acknowledges for e in events if e.acknowledges] == [f"aaaaaaaa-0000-4000-8000-00000000000{n}"
                                                                  for n in (1, 2, 3)]
    stored = next(e for e in events if e.result)  # alone, from the store, it reads the same
    again = get("gemini").parse(stored.stored(json.dumps(stored.data)))
    assert again is not None and again.result == results[0]


def test_gemini_skips_a_loaded_session_s_history_and_says_the_preamble_first() -> None:
    provider = get("gemini")
    provider.handshake(AgentOptions(append_system_prompt="remember PARSER_FAST"), "s-1", resume=True)
    history = provider.parse(json.dumps({"method": "session/update", "params": {"sessionId": "s-1", "update": {
        "sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": "an old answer"}}}}))
    assert history is not None and not history.keep
    prompt = json.loads(provider.user_message("go on", "m1"))["params"]["prompt"]
    assert prompt == [{"type": "text", "text": "go on"}]  # a resumed conversation was told already
    fresh = get("gemini")
    fresh.handshake(AgentOptions(append_system_prompt="remember PARSER_FAST"), None, resume=False)
    first = json.loads(fresh.user_message("start", "m1"))["params"]["prompt"]
    assert first[0]["text"].startswith("<system-reminder>\nremember PARSER_FAST") and first[1]["text"] == "start"
