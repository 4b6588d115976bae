"""The pure parts of Akasha: redaction, checks on what is stored, scopes, ranking, the event log
and what a finished mission leaves behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from overmind.akasha import AkashaError
from overmind.akasha.eventlog import Touch, extract, parse_stored
from overmind.akasha.feeding import memories_of_run
from overmind.akasha.model import MAX_TEXT, Memory, check_tags, check_text
from overmind.akasha.ranking import rare_terms, regex_any, score
from overmind.akasha.redact import MARK, redact
from overmind.akasha.scope import normalise_remote
from overmind.akasha.views import PROMPT_HEADER, prompt_block
from overmind.store import Exit, Mission

DATA = Path(__file__).resolve().parents[1] / "data"

SECRETS = [
    ("export ANTHROPIC_API_KEY=sk-ant-api03-Xq7vB2kLm9Np4Rs8Tu1Wy5Za3Cd6Ef0Gh2Ij4Kl6Mn8Op-AbCdEfGh", "sk-ant-api03"),
    ("OPENAI_API_KEY: sk-proj-4fJk9LmN2pQrStUvWxYz0123456789abcdEFGH", "sk-proj-4fJk9"),
    ("git push https://ghp_R2d2C3poL0ngT0kenValue1234567890ab@github.com/acme/app", "ghp_R2d2C3po"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "github_pat_11ABC"),
    ("aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ("psql postgresql://deploy:Tr0ub4dor&3@db.internal:5432/prod", "Tr0ub4dor&3"),
    ("curl -H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
     "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'",
     "eyJhbGciOiJIUzI1NiJ9"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n"
     "-----END RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA"),
    ("SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-1234"),
    ('{"password": "correct horse battery staple"}', "correct horse"),
    ("DB_PASSWORD=hunter2hunter2", "hunter2"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS, ids=[s[1][:12] for s in SECRETS])
def test_likely_secrets_are_redacted_and_the_rest_kept(text: str, secret: str) -> None:
    redacted, count = redact(text)
    assert secret not in redacted
    assert MARK in redacted and count >= 1


def test_prose_about_tokens_and_passwords_is_left_alone() -> None:
    for text in ("the token expired, so the login failed", "rotate passwords every 90 days",
                 "Use pytest -x to stop at the first failure", "the API key lives in the keyring"):
        assert redact(text) == (text, 0)


def test_redaction_keeps_the_context_around_a_secret() -> None:
    assert redact("git clone https://alice:s3cr3t-pass@git.example.com/team/repo.git")[0] == \
        "git clone https://alice:[REDACTED]@git.example.com/team/repo.git"
    assert redact("export GITHUB_TOKEN=abc123def456ghi789")[0] == "export GITHUB_TOKEN=[REDACTED]"


def test_empty_nul_and_oversized_memories_are_refused_in_one_line() -> None:
    for text, message in (("   \n", "empty memory"), ("a\0b", "NUL byte"), ("x" * (10 * 1024 * 1024), "10.0 MB")):
        with pytest.raises(AkashaError, match=message):
            check_text(text)
    assert check_text("  keep me  ") == "keep me"
    assert len(check_text("y" * MAX_TEXT)) == MAX_TEXT


def test_tags_are_checked_and_deduplicated() -> None:
    assert check_tags(["ci", "ci", " db "]) == ["ci", "db"]
    with pytest.raises(AkashaError, match="invalid tag"):
        check_tags(["no spaces"])


def test_an_exported_record_is_checked_before_import() -> None:
    record = Memory(id="abc123", text="a fact").to_json()
    assert Memory.from_json(record) == Memory(**record)
    for broken, message in (({**record, "kind": "rumour"}, "unknown kind"), ({**record, "id": "../x"}, "invalid id"),
                            ({**record, "surprise": 1}, "unknown field"), ({**record, "count": 0}, "count"),
                            ([1, 2], "not a JSON object"), ({**record, "text": ""}, "empty")):
        with pytest.raises(AkashaError, match=message):
            Memory.from_json(broken)


@pytest.mark.parametrize("url", ["git@github.com:Acme/App.git", "https://github.com/Acme/App",
                                 "https://user:tok@GitHub.com/Acme/App.git/", "ssh://git@github.com:22/Acme/App.git"])
def test_every_clone_url_of_a_repository_names_the_same_scope(url: str) -> None:
    assert normalise_remote(url) == "github.com/Acme/App"


def test_identifiers_in_a_query_count_literally() -> None:
    assert rare_terms("why does conftest.py raise ECONNRESET in test_stop_kill?") == \
        ["conftest.py", "econnreset", "test_stop_kill"]
    assert rare_terms("how do I run the tests") == []
    assert regex_any(["a.b", "c+"]) == r"(?i)\b(a\.b|c\+)\b"
    assert score(0.5, ["econnreset"], "got ECONNRESET again").score > score(0.5, ["econnreset"], "no match").score


def test_the_prompt_block_is_headed_and_capped() -> None:
    hits = [{"kind": "pitfall", "id": f"m{i}", "text": "word " * 200} for i in range(10)]
    block = prompt_block(hits, cap=1500)
    assert block.startswith(PROMPT_HEADER) and len(block) <= 1500
    assert prompt_block([]) == ""


def _lines(name: str) -> list[tuple[float, str]]:
    return [(float(i), line) for i, line in enumerate((DATA / name).read_text().splitlines())]


def test_the_event_log_takes_commands_files_and_errors_from_claude_events() -> None:
    touches = extract(parse_stored(_lines("claude-tool-call.jsonl")), "/work")
    assert [(t.action, t.subject) for t in touches] == [("command", "echo tool-output-42")]
    events = [
        {"type": "assistant", "message": {"content": [
            {"type": "tool_use", "id": "t1", "name": "Edit", "input": {"file_path": "src/app.py"}},
            {"type": "tool_use", "id": "t2", "name": "Bash",
             "input": {"command": "make test TOKEN=abcdef0123456789"}}]}},
        {"type": "user", "message": {"content": [
            {"type": "tool_result", "tool_use_id": "t2", "is_error": True, "content": "FAILED test_app.py::x\nmore"}]}},
    ]
    touches = extract([(1.0, e) for e in events], "/work")
    assert touches == [Touch(1.0, "edit", "/work/src/app.py"), Touch(1.0, "command", "make test TOKEN=[REDACTED]"),
                       Touch(1.0, "error", "FAILED test_app.py::x", "Bash: make test TOKEN=[REDACTED]")]


def test_the_event_log_reads_codex_commands_and_their_failures() -> None:
    item = {"type": "item.completed", "item": {"type": "command_execution", "command": "pytest", "exit_code": 1,
                                               "aggregated_output": "collected 3\n1 failed"}}
    touches = extract([(2.0, item)], "/w")
    assert touches == [Touch(2.0, "command", "pytest"), Touch(2.0, "error", "1 failed", "shell: pytest (exit code 1)")]


def _mission(**changes: object) -> Mission:
    base = Mission(id="m1", name="fixer", unit="u", type="task", provider="claude", command="Fix the parser",
                   cwd="/nonexistent-dir", parent=None, spec={}, created_at=0.0, killed_at=None, stop_requested_at=None)
    return base._replace(**changes)


def _result(text: str, error: bool = False) -> str:
    return json.dumps({"type": "result", "subtype": "success", "is_error": error, "result": text, "num_turns": 1})


def test_a_successful_run_is_remembered_as_its_task_and_result() -> None:
    ok = Exit(0.0, "success", "exited", "0", False)
    memories = memories_of_run(_mission(), [_result("Parser fixed: quotes are escaped.")],
                               [Touch(0.0, "edit", "/w/parser.py")], ok)
    assert len(memories) == 1
    memory = memories[0]
    assert memory["kind"] == "summary" and memory["agent"] == "fixer" and memory["mission"] == "m1"
    assert memory["text"] == ("Task: Fix the parser\nResult: Parser fixed: quotes are escaped.\n"
                              "Files changed: /w/parser.py")


def test_a_failed_run_is_remembered_as_a_pitfall_with_its_reason_and_last_lines() -> None:
    crashed = Exit(0.0, "exit-code", "exited", "1", False)
    lines = [json.dumps({"type": "assistant", "message": {"content": [{"type": "text", "text": "Trying again"}]}}),
             _result("API Error: 529 overloaded", error=True)]
    memory = memories_of_run(_mission(), lines, [Touch(0.0, "error", "boom", "Bash: make")], crashed)[0]
    assert memory["kind"] == "pitfall" and "failed" in memory["tags"]
    assert "Failed (exited with code 1)." in memory["text"]
    assert "Error: API Error: 529 overloaded" in memory["text"]
    assert "Errors met: boom (Bash: make)" in memory["text"]
    assert "Last output: Trying again" in memory["text"]


def test_a_run_stopped_by_its_user_without_a_result_leaves_nothing() -> None:
    stopped = Exit(0.0, "success", "killed", "TERM", False)
    assert memories_of_run(_mission(stop_requested_at=1.0), [], [], stopped) == []


def test_a_worktree_shares_its_main_repositorys_scope(tmp_path) -> None:
    import subprocess

    from overmind.akasha.scope import scope_of

    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "start"], check=True)
    subprocess.run([*git, "worktree", "add", "-q", str(tmp_path / "wt")], check=True, capture_output=True)
    assert scope_of(str(tmp_path / "wt")) == scope_of(str(repo)) == str(repo)
