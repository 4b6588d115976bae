"""Desktop notifications on a private session bus with a test notification server, and the
service as a unit of its own: these tests run a second notification service under a prefix and
state directory of their own (with an `xdg-open` that records what it opens)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Overmind, must
from tests.notify.notification_server import NotificationServer

pytestmark = pytest.mark.systemd


@pytest.fixture
def solo(run_env: dict[str, str], tmp_path: Path) -> Iterator[Overmind]:
    prefix = f"{run_env['OVERMIND_UNIT_PREFIX']}-solo"
    tools = tmp_path / "bin"
    tools.mkdir()
    opener = tools / "xdg-open"
    opener.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$1\" >> {tmp_path / 'opened'}\n")
    opener.chmod(0o755)
    env = {**run_env, "OVERMIND_UNIT_PREFIX": prefix, "OVERMIND_STATE_DIR": str(tmp_path / "state"),
           "PATH": f"{tools}:{run_env['PATH']}"}
    om = Overmind(env)
    yield om
    listed = om("notify", "ls", "--json", check=False)
    names = [row["name"] for row in json.loads(listed.stdout or "[]")] if listed.returncode == 0 else []
    if names:
        om("notify", "rm", *names, check=False)
    om.systemctl("stop", f"{prefix}@*.service")
    om.systemctl("reset-failed", f"{prefix}@*.service")


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[NotificationServer]:
    folder = tmp_path / "session"
    folder.mkdir()
    with NotificationServer(folder) as server:
        yield server


@pytest.fixture
def dashboard(solo: Overmind) -> Iterator[str]:
    """A dashboard served in the foreground: the desktop's "Open" opens its pages."""
    proc = subprocess.Popen([sys.executable, "-m", "overmind", "dashboard", "--port", "0"], env=solo.env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = must(lambda: (r := solo("dashboard", "url", check=False)).returncode == 0 and r.stdout.strip(), 30,
                   "the dashboard")
        yield str(url).split("?")[0]
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_crash_shows_on_the_desktop_and_open_opens_its_page(solo: Overmind, desktop: NotificationServer,
                                                              dashboard: str, name: str, tmp_path: Path) -> None:
    solo.env["DBUS_SESSION_BUS_ADDRESS"] = desktop.address  # the session bus of the shell that adds it
    solo("notify", "add", "desk", "--desktop")
    del solo.env["DBUS_SESSION_BUS_ADDRESS"]
    ident = solo.run("exit 3", "--name", name)["id"]
    shown = must(lambda: [n for n in desktop.shown if n["summary"] == f"{name} crashed"], 30, "the notification")[0]
    assert shown["body"] == "exit 3" and shown["app"] == "overmind"
    assert shown["actions"] == ["default", "Open", "open", "Open"] and shown["hints"]["urgency"] == 2
    desktop.press(shown["id"], "open")
    opened = must(lambda: (tmp_path / "opened").exists() and (tmp_path / "opened").read_text(), 15, "xdg-open")
    assert opened.strip() == f"{dashboard}missions/{ident}"


def test_a_session_bus_that_went_away_gets_the_notice_once_when_it_is_back(solo: Overmind, tmp_path: Path,
                                                                           name: str) -> None:
    folder = tmp_path / "session"
    folder.mkdir()
    with NotificationServer(folder) as first:
        solo.env["DBUS_SESSION_BUS_ADDRESS"] = first.address
        solo("notify", "add", "desk", "--desktop", "--missions", f"{name}*")
        solo.run("exit 3", "--name", f"{name}-a")
        must(lambda: [n for n in first.shown if n["summary"] == f"{name}-a crashed"], 30, "the first notice")
    solo.run("exit 4", "--name", f"{name}-b")  # while the desktop's bus is gone
    must(lambda: [r for r in solo.json("notify", "ls") if r["pending"] == 1], 30, "the notice waiting for the bus")
    with NotificationServer(folder) as again:  # the person logged in again: a new bus at the same address
        must(lambda: [n for n in again.shown if n["summary"] == f"{name}-b crashed"], 30, "the notice on the new bus")
        solo.run("exit 5", "--name", f"{name}-c")
        must(lambda: [n for n in again.shown if n["summary"] == f"{name}-c crashed"], 30, "a later notice")
        assert [n["summary"] for n in again.shown] == [f"{name}-b crashed", f"{name}-c crashed"]
    [row] = solo.json("notify", "ls")
    assert (row["sent"], row["pending"], row["failed"]) == (3, 0, 0)


def test_notify_test_shows_a_notification_without_buttons_where_the_server_has_none(
        solo: Overmind, tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    with NotificationServer(folder, capabilities=("body",)) as plain:
        solo.env["DBUS_SESSION_BUS_ADDRESS"] = plain.address
        added = solo("notify", "add", "desk", "--desktop")
        assert "notices come without 'Open'" in added.stderr
        said = solo("notify", "test", "desk")
        assert said.stdout.startswith("sent a test notification to desk: shown as desktop notification 1")
        assert [(n["summary"], n["actions"]) for n in plain.shown] == [("overmind: test notification", [])]


def test_notify_add_desktop_without_a_session_bus_says_so(solo: Overmind, tmp_path: Path) -> None:
    solo.env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={tmp_path / 'no-bus-here'}"
    refused = solo("notify", "add", "desk", "--desktop", check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("overmind: cannot reach the session bus at unix:path=")
    assert "desktop notifications need a session bus" in refused.stderr
    assert solo.json("notify", "ls") == []


def test_the_service_is_a_unit_of_the_run_enabled_for_the_next_boot_and_goes_with_the_last_channel(
        solo: Overmind) -> None:
    unit = f"{solo.env['OVERMIND_UNIT_PREFIX']}-notify.service"
    solo("notify", "add", "one", "--command", "true")
    solo("notify", "add", "two", "--command", "true")
    assert solo.systemctl("is-active", unit).stdout.strip() == "active"
    assert solo.systemctl("is-enabled", unit).stdout.strip() == "enabled"
    assert "WantedBy=default.target" in solo.systemctl("cat", unit).stdout
    solo("notify", "rm", "one")
    assert solo.systemctl("is-active", unit).stdout.strip() == "active"
    said = solo("notify", "rm", "two").stdout
    assert said.splitlines()[-1].startswith("removed ") and said.splitlines()[-1].endswith(unit)
    assert solo.systemctl("is-active", unit).stdout.strip() != "active"
    assert solo.systemctl("is-enabled", unit).stdout.strip() != "enabled"
