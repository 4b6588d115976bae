"""The transport's pure pieces: addresses, the remote-exec token, references, cleaning remote text."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from overmind.control import where
from overmind.errors import OvermindError
from overmind.remote import wire
from overmind.remote.registry import Address, check_name, parse_address
from overmind.remote.ssh import failure
from overmind.remote.text import printable, printable_line

HOSTILE = ["a'b", '"q"', "$(touch /tmp/pwned)", "`id`", "c;d", "e\nf", "x && y", "\\", "-oProxyCommand=sh", "\x1b[2J",
           "ü ✓", ""]


@pytest.mark.parametrize(("text", "address"), [
    ("ssh://build1", Address("build1")),
    ("ssh://dev@build1:2222", Address("build1", "dev", 2222)),
    ("dev@10.0.0.5", Address("10.0.0.5", "dev")),
    ("ssh://[::1]:22", Address("[::1]", None, 22)),
])
def test_an_address_names_user_host_and_port(text: str, address: Address) -> None:
    assert parse_address(text) == address
    assert parse_address(str(address)) == address


@pytest.mark.parametrize("text", ["ssh://-oProxyCommand=sh", "ssh://dev@-x", "http://build1", "ssh://a b",
                                  "ssh://build1:0", "ssh://build1:99999", "ssh://u:pw@build1", "ssh://build1/path",
                                  "ssh://-l@build1", ""])
def test_an_address_that_could_pass_for_an_ssh_option_or_is_not_ssh_is_refused(text: str) -> None:
    with pytest.raises(OvermindError, match="invalid host address"):
        parse_address(text)


def test_host_names_are_short_lowercase_words_and_local_is_this_machine() -> None:
    assert check_name("build-1") == "build-1"
    for bad in ("local", "Build", "a:b", "-x", "a" * 40, ""):
        with pytest.raises(OvermindError):
            check_name(bad)


def test_the_token_carries_any_argument_unchanged_in_letters_digits_dash_and_underscore() -> None:
    payload = wire.Payload(["run", "--name", *HOSTILE], "build1", 132)
    token = wire.encode(payload)
    assert re.fullmatch(r"v1\.[A-Za-z0-9_-]+", token)
    assert wire.decode(token) == payload


def test_the_token_is_one_word_for_a_posix_shell_whatever_it_carries() -> None:
    token = wire.encode(wire.Payload(HOSTILE, "h"))
    echoed = subprocess.run(["sh", "-c", f"printf '%s\\n' {token}"], capture_output=True, text=True).stdout
    assert echoed == token + "\n"


def test_a_long_payload_goes_on_stdin_and_leaves_the_rest_of_stdin_to_the_command() -> None:
    payload = wire.Payload(["send", "x", "-", "p" * 300_000], "h")
    read, write = os.pipe()
    frame = wire.stdin_frame(payload)
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, frame + b"the message")
        os._exit(0)
    os.close(write)
    assert wire.read_frame(read) == payload
    assert os.read(read, 100) == b"the message"
    os.waitpid(pid, 0)
    os.close(read)


@pytest.mark.parametrize("token", ["v9.abc", "v1.!!!", "v1." + "e30", "junk"])
def test_a_damaged_or_foreign_token_is_one_clear_error(token: str) -> None:
    with pytest.raises(OvermindError, match="remote-exec"):
        wire.decode(token)


def test_references_are_grouped_by_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(where.AS_HOST, raising=False)
    assert where.placed(None, ["a", "build1:b", "local:c"]) == {None: ["a", "c"], "build1": ["b"]}
    assert where.placed("build1", ["a", "build1:b"]) == {"build1": ["a", "b"]}
    assert where.placed("local", ["a"]) == {None: ["a"]}
    with pytest.raises(OvermindError, match="on build2, but --on says build1"):
        where.placed("build1", ["build2:x"])
    with pytest.raises(OvermindError, match="invalid reference"):
        where.placed(None, ["build1:"])


def test_a_host_knows_itself_by_the_name_the_caller_gave_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(where.AS_HOST, "build1")
    assert where.placed("build1", ["build1:x", "y"]) == {None: ["x", "y"]}
    assert where.local_name("build1:x") == "x"
    with pytest.raises(OvermindError, match="on another host"):
        where.local_name("build2:x")


@pytest.mark.parametrize(("stderr", "words"), [
    ("ssh: connect to host 10.0.0.9 port 22: Connection timed out", "connect timed out"),
    ("ssh: connect to host 127.0.0.1 port 1: Connection refused", "connection refused"),
    ("Host key verification failed.", "host key unknown"),
    ("root@127.0.0.1: Permission denied (publickey).", "permission denied"),
    ("ssh: Could not resolve hostname nowhere: Name or service not known", "unknown host name"),
    ("Timeout, server 10.0.0.9 not responding.", "connect timed out"),
    ("client_loop: send disconnect: Broken pipe", "connection lost"),
    ("", "connection lost"),
])
def test_an_ssh_failure_is_said_in_a_few_words(stderr: str, words: str) -> None:
    assert failure(stderr) == words


def test_remote_text_cannot_drive_the_terminal() -> None:
    assert printable("ok\x1b]0;pwned\x07\x9b2J\u202eevil\tend\n") == "ok^[]0;pwned^G\\x9b2J\\u202eevil\tend\n"
    assert printable_line("a\nb\x1b[31m") == "a\\nb^[[31m"
    assert printable("plain ü ✓") == "plain ü ✓"


@pytest.mark.parametrize(("argv", "host"), [
    (["run", "--on", "h1", "--name", "x", "true"], "h1"),
    (["run", "--on=h1", "true"], "h1"),
    (["--on", "h1", "status", "--json"], "h1"),
    (["--on", "h1", "gc"], "h1"),
    (["claude", "run", "--on", "h1", "fix it"], "h1"),
    (["gemini", "run", "--on", "h1", "fix it"], "h1"),
    (["quest", "ls", "--on", "h1"], "h1"),
    (["ps", "--on", "h1"], "h1"),
    (["ps", "--on", "h1", "--hosts", "all"], None),  # every host: the full path
    (["run", "--name", "x", "--on", "h1", "true"], None),  # --on later: the full path finds it
    (["run", "echo", "--on", "h1"], None),  # the command's own words
    (["logs", "--on", "h1", "x", "-f"], None),  # a stream that resumes after a cut
    (["--on", "h1", "attach", "x"], None),
    (["--on", "h1", "hosts", "ls"], None),
    (["gc", "--on", "h1"], None),  # no --on of its own: click says so
    (["run", "--on", "local", "true"], None),
    (["run", "--on", "h1", "--help"], None),
    (["info", "h1:x"], None),
    ([], None),
])
def test_the_fast_path_sends_only_the_plain_forms_and_leaves_the_rest_to_the_command_line(
        argv: list[str], host: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    from overmind.entry import target

    monkeypatch.delenv(where.AS_HOST, raising=False)
    assert target(argv) == host


def test_the_fast_path_sends_every_agent_clis_run() -> None:
    from overmind.entry import AGENTS
    from overmind.providers import PROVIDERS

    assert set(AGENTS) == set(PROVIDERS) - {"raw"}


def test_the_fast_path_knows_this_host_by_the_name_its_caller_gave_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from overmind.entry import target

    monkeypatch.setenv(where.AS_HOST, "h1")
    assert target(["run", "--on", "h1", "true"]) is None
