"""`overmind notify`: what a person gives, checked before anything is written or booted (one
line, non-zero, nothing kept), and a webhook's secret parts never shown back."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from overmind.cli import cli
from overmind.control import notify_channels
from overmind.control.notify_channels import Channel, mask
from overmind.control.notify_outbox import Notice
from overmind.control.notify_send import request

SECRET = "s3cr3t-t0ken"


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OVERMIND_UNIT_PREFIX", "notify-input-test")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")  # never asked here
    monkeypatch.setenv("OVERMIND_DEBUG", "")
    return tmp_path / "state"


def notify(*args: str) -> Result:
    return CliRunner().invoke(cli, ["notify", *args])


@pytest.mark.parametrize(("args", "said"), [
    (["x"], "overmind: give one of --webhook URL, --desktop or --command 'CMD'"),
    (["x", "--webhook", "http://127.0.0.1/h", "--command", "true"],
     "overmind: give only one of --webhook, --desktop, --command (got webhook and command)"),
    (["x", "--desktop", "--command", "true"], "overmind: give only one of --webhook, --desktop, --command"),
    (["x", "--webhook", f"hooks.example.com/services/{SECRET}"],
     "overmind: invalid --webhook URL: it needs http:// or https:// and a host"),
    (["x", "--webhook", f"ftp://files.example.com/{SECRET}"], "overmind: invalid --webhook URL ftp://files.example.com/***"),
    (["x", "--webhook", f"http://example.com:port/{SECRET}"], "overmind: invalid port in --webhook URL http://example.com/***"),
    (["x", "--webhook", f"http://example.com/{SECRET} x"], "overmind: invalid --webhook URL: it contains spaces"),
    (["x", "--webhook", "http://example.com/h", "--on", "crashed,crash"], "overmind: unknown event 'crash' for --on"),
    (["x", "--desktop", "--format", "slack"], "overmind: --format is for --webhook only"),
    (["x", "--command", "  "], "overmind: --command is empty"),
    (["x", "--command", "true", "--missions", ""], "overmind: --missions is empty"),
    (["no good", "--command", "true"], "overmind: invalid notification channel name 'no good'"),
    (["x", "--command", "true", "--retry-for", "soon"], "overmind: invalid --retry-for 'soon'"),
])
def test_bad_input_to_notify_add_is_one_line_and_keeps_nothing(args: list[str], said: str, state: Path) -> None:
    result = notify("add", *args)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(said), result.output
    assert len(lines) <= 2 and all(line.startswith("(") for line in lines[1:])  # the message, and a hint
    assert SECRET not in result.output and "Traceback" not in result.output
    assert not (state / "notify" / "channels.json").exists()


def test_a_name_taken_is_refused_before_the_host_is_asked(state: Path) -> None:
    notify_channels.save([Channel("team", "command", "true")])
    result = notify("add", "team", "--webhook", "http://127.0.0.1/h")
    assert result.exit_code == 1
    assert result.output.splitlines() == ["overmind: a notification channel named 'team' exists",
                                          "(remove it first (overmind notify rm team), or choose another name)"]
    assert [c.name for c in notify_channels.load()] == ["team"]


@pytest.mark.parametrize("verb", [["rm", "nope"], ["test", "nope"]])
def test_a_channel_that_does_not_exist_is_one_line(verb: list[str]) -> None:
    result = notify(*verb)
    assert result.exit_code != 0
    assert result.output.splitlines()[0] == "overmind: no notification channel named 'nope'"


def test_rm_of_one_missing_name_removes_none(state: Path) -> None:
    notify_channels.save([Channel("a", "command", "true"), Channel("b", "command", "true")])
    result = notify("rm", "a", "nope")
    assert result.exit_code != 0 and "no notification channel named 'nope'" in result.output
    assert [c.name for c in notify_channels.load()] == ["a", "b"]


def test_a_channels_file_spoiled_by_hand_is_one_line(state: Path) -> None:
    (state / "notify").mkdir(parents=True)
    (state / "notify" / "channels.json").write_text("{not json")
    result = notify("ls")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("overmind: the notification channels in ")


@pytest.mark.parametrize(("url", "shown"), [
    (f"https://hooks.slack.com/services/T0/B0/{SECRET}", "https://hooks.slack.com/***"),
    (f"https://ntfy.sh/?auth={SECRET}", "https://ntfy.sh/***"),
    (f"https://me:{SECRET}@example.com", "https://example.com/***"),
    (f"http://127.0.0.1:8080/hook/{SECRET}?x=1#frag", "http://127.0.0.1:8080/***"),
    ("https://example.com/", "https://example.com/"),
    (f"http://[::1]:9/{SECRET}", "http://[::1]:9/***"),
])
def test_a_webhook_is_shown_by_its_scheme_and_host_only(url: str, shown: str) -> None:
    assert mask(url) == shown


def test_ls_never_shows_a_webhooks_secret_and_its_file_is_the_owners_only(state: Path) -> None:
    url = f"https://bot:{SECRET}@hooks.example.com/services/{SECRET}?token={SECRET}"
    notify_channels.save([notify_channels.channel("team", webhook=url, format="slack")])
    shown = notify("ls")
    listed = notify("ls", "--json")
    assert shown.exit_code == 0 and listed.exit_code == 0
    assert "team" in shown.output and "https://hooks.example.com/***" in shown.output
    assert json.loads(listed.output)[0]["target"] == "https://hooks.example.com/***"
    assert SECRET not in shown.output + listed.output
    path = state / "notify" / "channels.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert notify_channels.find("team").target == url  # kept whole, for the service


def test_events_are_named_as_given_in_their_order_with_all_and_a_default() -> None:
    assert notify_channels.events_of(["waiting,crashed", "permission"]) == ("crashed", "waiting", "permission")
    assert notify_channels.events_of(["all"]) == notify_channels.EVENTS
    assert notify_channels.events_of([]) == notify_channels.DEFAULT_EVENTS
    assert "finished" not in notify_channels.DEFAULT_EVENTS


def test_a_channel_wants_its_events_about_its_missions_and_every_test() -> None:
    chosen = Channel("c", "command", "true", events=("crashed",), missions="deploy-*")
    assert chosen.wants("crashed", "deploy-web") and chosen.wants("test", "c")
    assert not chosen.wants("crashed", "build") and not chosen.wants("waiting", "deploy-web")


def _notice(event: str = "crashed") -> Notice:
    return Notice("mission:1a2b:4", event, "1a2b", "web", "web crashed", "exit 3", 1.0, {"type": "mission"})


def test_each_webhook_format_says_the_notice_its_way() -> None:
    url = "http://127.0.0.1:7777/missions/1a2b"
    data, headers = request(Channel("c", "webhook", "http://h/", "json"), _notice(), url)
    assert json.loads(data) | {"type": "mission"} == json.loads(data)
    assert json.loads(data)["event"] == "crashed" and json.loads(data)["url"] == url
    data, _ = request(Channel("c", "webhook", "http://h/", "slack"), _notice(), url)
    assert json.loads(data) == {"text": f"*web crashed*\nexit 3\n<{url}|Open>"}
    data, headers = request(Channel("c", "webhook", "http://h/", "ntfy"), _notice("permission"), url)
    assert data == b"exit 3"
    assert (headers["Title"], headers["Priority"], headers["Click"]) == ("web crashed", "5", url)
