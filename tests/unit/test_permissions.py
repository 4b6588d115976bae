"""Permission requests' pure logic: the policy, rules, claude's protocol lines, the options, and
the wrapper's relay over a real store (the agent CLI played by the test: lines in, lines out)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from overmind import permission_rules as rules
from overmind.agent_options import AgentOptions
from overmind.errors import OvermindError
from overmind.providers import check_agent_spec, get
from overmind.providers.permission import PermissionAsk
from overmind.store import Mission, Store
from overmind.store.permissions import PermissionStore
from overmind.wrapper.permissions import PermissionRelay, Refused


# -- policy and rules -------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "on_permission", "mode", "expected"), [
    ("session", None, None, "ask"), ("session", None, "dontAsk", "ask"), ("task", None, None, "deny"),
    ("task", None, "default", "ask"), ("task", None, "acceptEdits", "ask"), ("task", None, "dontAsk", "deny"),
    ("task", None, "bypassPermissions", "deny"), ("task", "allow", None, "allow"), ("session", "deny", None, "deny"),
])
def test_the_policy_asks_where_a_person_can_be_reached(kind: str, on_permission: str | None, mode: str | None,
                                                       expected: str) -> None:
    assert rules.policy(kind, on_permission, mode) == expected


@pytest.mark.parametrize(("rule", "tool", "subject", "allowed"), [
    ("Bash(npm test *)", "Bash", "npm test -- --grep x", True), ("Bash(npm test *)", "Bash", "npm test", True),
    ("Bash(npm test *)", "Bash", "npm testing", False), ("Bash(npm test *)", "Bash", "npm publish", False),
    ("Bash(npm test:*)", "Bash", "npm test", True), ("Bash(npm test:*)", "Bash", "npm test --watch", True),
    ("Bash(npm publish)", "Bash", "npm publish", True), ("Bash(npm publish)", "Bash", "npm publish --force", False),
    ("Bash", "Bash", "rm -rf /tmp/x", True), ("Bash(npm test *)", "Edit", "npm test x", False),
    ("Edit(/src/*)", "Edit", "/src/app.py", True), ("Edit(/src/*)", "Edit", None, False),
    ("not a (rule", "Bash", "x", False),
])
def test_rules_match_as_claude_reads_them(rule: str, tool: str, subject: str | None, allowed: bool) -> None:
    assert rules.matches(rule, tool, subject) is allowed


def test_the_providers_that_can_ask_are_named_for_ps() -> None:
    from overmind.providers import PROVIDERS
    from overmind.providers.permission import AsksPermissions

    assert [p for p in PROVIDERS if isinstance(get(p), AsksPermissions)] == list(rules.ASKING_PROVIDERS)


def test_durations_and_messages_read_as_a_person_writes_them() -> None:
    assert [rules.span(s) for s in (2, 90, 1800, 5400, 0.5)] == ["2s", "1m30s", "30m", "1h30m", "0.5s"]
    assert rules.timeout_message(1800) == "no one answered within 30m"
    assert rules.denial_message("tui", "  not now ") == "not now"
    assert rules.denial_message("cli", None) == "The user denied this tool use (overmind, cli)."
    assert rules.parse_rule("Bash(npm test *)") == ("Bash", "npm test *") and rules.parse_rule("Read") == ("Read", None)


# -- claude's protocol ------------------------------------------------------------------------------
def _can_use_tool(tool: str, tool_input: dict[str, Any], suggestions: list[dict[str, Any]]) -> str:
    return json.dumps({"type": "control_request", "request_id": "req-1", "request": {
        "subtype": "can_use_tool", "tool_name": tool, "display_name": tool, "input": tool_input,
        "permission_suggestions": suggestions, "tool_use_id": "toolu_1"}})


def test_claude_asks_a_permission_on_stdout_and_it_is_neither_stored_nor_shown() -> None:
    suggestions = [{"type": "addRules", "rules": [{"toolName": "Bash", "ruleContent": "npm test *"}],
                    "behavior": "allow", "destination": "localSettings"},
                   {"type": "setMode", "mode": "acceptEdits", "destination": "session"}]
    event = get("claude").parse(_can_use_tool("Bash", {"command": "npm test -- x", "description": "t"}, suggestions))
    assert event is not None and not event.keep and event.lines == []
    assert event.permission == PermissionAsk("req-1", "Bash", {"command": "npm test -- x", "description": "t"},
                                             "Bash(npm test -- x)", "npm test -- x", ("Bash(npm test *)",))
    written = get("claude").parse(_can_use_tool("Write", {"file_path": "/w/a.txt", "content": "hi"},
                                                [suggestions[1]]))
    assert written is not None and written.permission is not None
    assert written.permission.rules == ("Write(/w/a.txt)",)  # this very use, never the whole session's mode


def test_claude_is_answered_on_stdin_for_this_process_only() -> None:
    provider: Any = get("claude")
    ask = PermissionAsk("req-1", "Bash", {"command": "npm test"}, "Bash(npm test)", "npm test", ("Bash(npm test *)",))
    allowed = json.loads(provider.permission_answer(ask, True, "", ask.rules))
    assert allowed["response"] == {"subtype": "success", "request_id": "req-1", "response": {
        "behavior": "allow", "updatedInput": {"command": "npm test"},
        "updatedPermissions": [{"type": "addRules", "behavior": "allow", "destination": "session",
                                "rules": [{"toolName": "Bash", "ruleContent": "npm test *"}]}]}}
    denied = json.loads(provider.permission_answer(ask, False, "not now", ()))
    assert denied["response"]["response"] == {"behavior": "deny", "message": "not now"}


def test_a_task_that_asks_takes_its_prompt_on_stdin_and_one_that_does_not_keeps_claude_p() -> None:
    provider = get("claude")
    asking = provider.task_argv("go", AgentOptions(permission_mode="default", permission_timeout=60.0), None, False)
    assert "--permission-prompt-tool=stdio" in asking and "--input-format=stream-json" in asking
    assert "go" not in asking and not any(a.startswith("--permission-timeout") for a in asking)
    assert provider.task_argv("go", AgentOptions(), None, False)[-2:] == ["--", "go"]
    session = provider.session_argv(AgentOptions(on_permission="deny"), "s", False)
    assert "--permission-prompt-tool=stdio" not in session and "--on-permission=deny" not in session


# -- the options --------------------------------------------------------------------------------------
def test_the_options_are_checked_once_for_every_front_end(tmp_path: Path) -> None:
    from overmind.mission.build import agent_flags, build_spec

    spec = build_spec(["go"], provider="claude", cwd=str(tmp_path), check_installed=False, on_permission="ask",
                      permission_timeout="30m")
    assert (spec.agent.on_permission, spec.agent.permission_timeout) == ("ask", 1800.0)
    assert ("--permission-timeout", "1800") in agent_flags(spec.agent)
    for options, message in ((AgentOptions(on_permission="maybe"), "invalid --on-permission 'maybe'"),
                             (AgentOptions(permission_timeout=0.0), "--permission-timeout must be more than 0")):
        with pytest.raises(OvermindError, match=message):
            check_agent_spec("claude", "task", "go", options)
    with pytest.raises(OvermindError, match="--on-permission does not apply to codex missions"):
        check_agent_spec("codex", "task", "go", AgentOptions(on_permission="ask"))
    with pytest.raises(OvermindError, match="invalid --permission-timeout 'soon'"):
        build_spec(["go"], provider="claude", cwd=str(tmp_path), check_installed=False, permission_timeout="soon")


# -- the relay --------------------------------------------------------------------------------------
class Agent:
    """The agent CLI as the relay sees it: what it was answered, and whether a process is there."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.running = True

    def write(self, line: bytes) -> bool:
        if self.running:
            self.answers.append(json.loads(line)["response"]["response"])
        return self.running


def _relay(store: Store, mission: Mission, agent: Agent, policy: str = "ask", timeout: float = 60.0) -> PermissionRelay:
    relay = PermissionRelay(mission, store, get("claude"), policy, timeout,  # type: ignore[arg-type]
                            agent.write, lambda data, text: agent.notes.append(text), lambda: None)
    relay.start()
    return relay


def _ask(request_id: str, command: str = "npm publish") -> PermissionAsk:
    return PermissionAsk(request_id, "Bash", {"command": command}, f"Bash({command})", command, (f"Bash({command})",))


def _dies_asking(store: Store, mission: Mission) -> None:
    """A wrapper whose agent asked request 1 (npm publish), then died: the request stays pending."""
    agent = Agent()
    first = _relay(store, mission, agent)
    first.ask(_ask("r1"))
    agent.running = False
    first.child_gone()
    first.close()


def _scenario(tmp_path: Path, body: Callable[[Store, Mission], Any]) -> None:
    store = Store(tmp_path / "state.db")
    mission = Mission("m1", "build", "u", "task", "claude", "go", "/", None, {}, time.time(), None, None)
    store.add(mission)
    asyncio.run(body(store, mission))


def test_a_person_answers_a_pending_request_once(tmp_path: Path) -> None:
    async def body(store: Store, mission: Mission) -> None:
        agent = Agent()
        relay = _relay(store, mission, agent)
        relay.ask(_ask("r1"))
        assert agent.answers == [] and relay.status() == "needs you: permission for Bash(npm publish)"
        settled = relay.answer(1, True, "cli", always=True)
        assert (settled.state, settled.answered_by, settled.delivered, settled.rule) == (
            "allowed", "cli", True, "Bash(npm publish)")
        assert agent.answers[0]["behavior"] == "allow" and relay.status() is None
        with pytest.raises(Refused, match="request 1 of 'build' is no longer pending"):
            relay.answer(1, False, "cli")
        relay.ask(_ask("r2"))  # the rule it added answers the next one at once
        assert agent.answers[-1]["behavior"] == "allow" and len(PermissionStore(store).of_mission("m1")) == 1
        relay.close()

    _scenario(tmp_path, body)


def test_the_policy_and_the_timeout_answer_without_a_person(tmp_path: Path) -> None:
    async def body(store: Store, mission: Mission) -> None:
        agent = Agent()
        _relay(store, mission, agent, policy="allow").ask(_ask("r1"))
        _relay(store, mission, agent, policy="deny").ask(_ask("r2"))
        assert [a["behavior"] for a in agent.answers] == ["allow", "deny"]
        waiting = _relay(store, mission, agent, timeout=0.05)
        waiting.ask(_ask("r3"))
        while len(agent.answers) < 3:
            await asyncio.sleep(0.01)
        assert agent.answers[2] == {"behavior": "deny", "message": "no one answered within 0.05s"}
        [record] = PermissionStore(store).of_mission("m1")
        assert (record.state, record.answered_by) == ("denied", "timeout")

    _scenario(tmp_path, body)


def test_a_request_outlives_its_process_and_is_never_allowed_unasked(tmp_path: Path) -> None:
    async def body(store: Store, mission: Mission) -> None:
        _dies_asking(store, mission)
        again = _relay(store, mission, Agent())
        assert again.status() == "needs you: permission for Bash(npm publish)"
        newcomer = Agent()
        again.write = newcomer.write
        again.ask(_ask("r9"))  # the agent resumes and asks again: the same request, number 1
        [record] = PermissionStore(store).of_mission("m1")
        assert (record.number, record.request_id, record.state) == (1, "r9", "pending")
        assert newcomer.answers == []  # nothing was allowed on the way
        again.answer(1, False, "cli", "no")
        assert newcomer.answers == [{"behavior": "deny", "message": "no"}]
        again.close()

    _scenario(tmp_path, body)


def test_an_answer_left_in_the_store_is_given_when_the_agent_asks_again(tmp_path: Path) -> None:
    async def body(store: Store, mission: Mission) -> None:
        _dies_asking(store, mission)
        # No wrapper listens (the mission restarts): the control layer answers in the store.
        assert PermissionStore(store).answer("m1", 1, "allowed", "cli", delivered=False, request_id="r1")
        later = Agent()
        relay = _relay(store, mission, later)
        relay.ask(_ask("r2", "npm test"))  # another use: a request of its own
        relay.ask(_ask("r3"))
        assert later.answers == [{"behavior": "allow", "updatedInput": {"command": "npm publish"}}]
        assert [(r.number, r.state, r.delivered) for r in PermissionStore(store).of_mission("m1")] == [
            (1, "allowed", True), (2, "pending", True)]
        relay.turn_ended()  # the agent went on without request 2
        assert PermissionStore(store).get("m1", 2).state == "withdrawn"  # type: ignore[union-attr]
        relay.close()

    _scenario(tmp_path, body)


def test_a_request_timed_out_while_no_agent_asked_is_asked_of_a_person_again(tmp_path: Path) -> None:
    async def body(store: Store, mission: Mission) -> None:
        _dies_asking(store, mission)
        relay = _relay(store, mission, Agent(), timeout=0.01)  # taken over after its time ran out
        while PermissionStore(store).get("m1", 1).state == "pending":  # type: ignore[union-attr]
            await asyncio.sleep(0.01)
        agent = Agent()
        relay.write = agent.write
        relay.ask(_ask("r2"))
        assert agent.answers == []  # a new request, waiting for a person: not the old timeout's denial
        assert [(r.number, r.state) for r in PermissionStore(store).of_mission("m1")] == [
            (1, "denied"), (2, "pending")]
        relay.close()

    _scenario(tmp_path, body)
