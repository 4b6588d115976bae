"""A local HTTP server receives exactly one webhook per crash, breaker trip and failed run: across
a restart of the notification service, and after answers of 500.

"Exactly one" is checked after a later notice (a sentinel crash) has arrived: the service sends a
channel's notices as they come, so one that was going to be sent twice would have been by then."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import Overmind, blueprint_file, must
from tests.notify.webhook_receiver import Receiver

pytestmark = pytest.mark.systemd


def crash(om: Overmind, name: str, code: int = 3) -> str:
    return str(om.run(f"exit {code}", "--name", name)["id"])


def sentinel(om: Overmind, receiver: Receiver, name: str) -> None:
    """A crash after the others, and its notice: what came before it has come."""
    crash(om, f"{name}-sentinel", 9)
    receiver.wait_for(f"{name}-sentinel", "crashed")


def test_a_crash_is_posted_once_with_its_mission(om: Overmind, hook: str, receiver: Receiver, name: str) -> None:
    ident = crash(om, f"{name}-a")
    notice = receiver.wait_for(f"{name}-a", "crashed")
    assert notice["title"] == f"{name}-a crashed" and notice["message"] == "exit 3"
    assert notice["mission"]["id"] == ident and notice["mission"]["exit_code"] == 3
    assert notice["state"] == "crashed" and notice["key"] == f"mission:{ident}:{notice['seq']}"
    sentinel(om, receiver, name)
    assert len(receiver.about(f"{name}-a")) == 1


def test_a_crash_loop_is_one_breaker_notice(om: Overmind, hook: str, receiver: Receiver, name: str) -> None:
    om.run("exit 1", "--name", f"{name}-loop", "--restart", "on-failure", "--max-restarts", "2")
    notice = receiver.wait_for(f"{name}-loop", "breaker", timeout=60)
    assert notice["message"].startswith("crashed 3 times in ")
    assert notice["message"].endswith(", breaker tripped (gave up after 2 restarts: exit 1)")
    sentinel(om, receiver, name)
    assert len(receiver.about(f"{name}-loop")) == 1


def test_a_webhook_that_answers_500_twice_gets_the_notice_once_on_the_third_try(
        om: Overmind, hook: str, receiver: Receiver, name: str) -> None:
    receiver.answer(500, 500)
    crash(om, f"{name}-a")
    receiver.wait_for(f"{name}-a", "crashed")
    assert receiver.answered[:3] == [500, 500, 200]
    sentinel(om, receiver, name)
    assert len(receiver.about(f"{name}-a")) == 1


def test_a_restart_of_the_service_sends_nothing_twice_and_loses_nothing(
        om: Overmind, service: str, hook: str, receiver: Receiver, name: str) -> None:
    crash(om, f"{name}-before")
    receiver.wait_for(f"{name}-before", "crashed")
    receiver.answer(500)  # the next notice is still to be sent when the service restarts
    crash(om, f"{name}-pending")
    must(lambda: 500 in receiver.answered, 30, "the first try of the pending notice")
    assert om.systemctl("restart", service).returncode == 0
    receiver.wait_for(f"{name}-pending", "crashed")
    assert om.systemctl("stop", service).returncode == 0
    crash(om, f"{name}-while-down")  # told by the next start, from where the service left off
    must(lambda: om.status(f"{name}-while-down") == "crashed", 30, "the crash while the service was down")
    assert om.systemctl("start", service).returncode == 0
    receiver.wait_for(f"{name}-while-down", "crashed")
    sentinel(om, receiver, name)
    for which in ("before", "pending", "while-down"):
        assert len(receiver.about(f"{name}-{which}")) == 1, which


def test_only_the_events_and_missions_a_channel_asked_for_reach_it(om: Overmind, service: str, receiver: Receiver,
                                                                   name: str) -> None:
    om("notify", "add", name, "--webhook", receiver.url, "--on", "finished", "--missions", f"{name}-wanted*")
    try:
        crash(om, f"{name}-wanted-crash")
        om.run("true", "--name", f"{name}-other")
        om.run("true", "--name", f"{name}-wanted")
        receiver.wait_for(f"{name}-wanted", "finished")
        crash(om, f"{name}-wanted-sentinel")  # not wanted either: only the finished one comes
        om.run("true", "--name", f"{name}-wanted-last")
        receiver.wait_for(f"{name}-wanted-last", "finished")
        assert sorted(b["name"] for b in receiver.bodies()) == [f"{name}-wanted", f"{name}-wanted-last"]
    finally:
        om("notify", "rm", name)


def test_a_failed_ritual_run_is_posted_once(om: Overmind, hook: str, receiver: Receiver, name: str) -> None:
    om("ritual", "add", name, "--every", "1h", "exit 2")
    try:
        om("ritual", "run", name)
        notice = receiver.wait_for(name, "ritual-failed")
        assert notice["title"] == f"ritual {name} failed" and notice["message"] == "exit 2"
        sentinel(om, receiver, name)
        assert len(receiver.about(name)) == 1
    finally:
        om("ritual", "rm", name)


def test_a_failed_blueprint_is_posted_once_with_its_failed_agents_crash(om: Overmind, hook: str, receiver: Receiver,
                                                                         name: str, tmp_path: Path) -> None:
    path = blueprint_file(tmp_path, name, {"setup": {"command": "true"},
                                           "build": {"command": "exit 3", "depends_on": ["setup"]}})
    assert om("apply", "--wait", path, check=False).returncode == 1
    notice = receiver.wait_for(name, "blueprint-failed")
    assert (notice["title"], notice["message"]) == (f"blueprint {name} failed", "build failed")
    assert receiver.wait_for(f"{name}.build", "crashed")["message"] == "exit 3"
    sentinel(om, receiver, name)
    assert len(receiver.about(name)) == 1 and len(receiver.about(f"{name}.build")) == 1
    assert [b["event"] for b in receiver.about(f"{name}.setup")] == ["finished"]  # --on all
    om("stop", name, check=False)


def test_a_delivery_that_keeps_failing_is_given_up_after_its_time(om: Overmind, service: str, receiver: Receiver,
                                                                  name: str) -> None:
    receiver.answer(*[503] * 50)
    om("notify", "add", name, "--webhook", receiver.url, "--missions", f"{name}*", "--retry-for", "3s")
    try:
        crash(om, f"{name}-a")
        must(lambda: om.json("notify", "ls")[-1]["failed"] == 1, 30, "the delivery given up")
        [row] = [r for r in om.json("notify", "ls") if r["name"] == name]
        assert row["sent"] == 0 and row["pending"] == 0 and row["last_error"] == "answered 503"
        assert 2 <= receiver.answered.count(503) <= 4  # tried at once, after 1 s and 2 s
    finally:
        om("notify", "rm", name)


def test_a_webhook_that_refuses_the_notice_is_not_asked_again(om: Overmind, service: str, receiver: Receiver,
                                                              name: str) -> None:
    receiver.answer(404)
    om("notify", "add", name, "--webhook", receiver.url, "--missions", f"{name}*")
    try:
        crash(om, f"{name}-a")
        must(lambda: [r for r in om.json("notify", "ls") if r["name"] == name][0]["failed"] == 1, 30, "given up")
        crash(om, f"{name}-b")
        receiver.wait_for(f"{name}-b", "crashed")
        assert receiver.answered == [404, 200]
    finally:
        om("notify", "rm", name)


def test_a_webhooks_token_is_shown_nowhere_but_kept_for_sending(om: Overmind, service: str, receiver: Receiver,
                                                                 name: str) -> None:
    added = om("notify", "add", name, "--webhook", receiver.url, "--missions", f"{name}*")
    try:
        crash(om, f"{name}-a")
        receiver.wait_for(f"{name}-a", "crashed")
        assert receiver.received[-1][0] == f"/hook/{receiver.token}"  # sent to the whole URL
        shown = [added.stdout, added.stderr, om("notify", "ls").stdout, om("notify", "ls", "--json").stdout,
                 om.systemctl("cat", service).stdout, om("notify", "test", name).stdout]
        must(lambda: f"sent crashed '{name}-a crashed' to {name}" in _journal(service), 15, "the delivery logged")
        shown.append(_journal(service))
        assert all(receiver.token not in text for text in shown)
        [row] = [r for r in om.json("notify", "ls") if r["name"] == name]
        assert row["target"] == f"http://127.0.0.1:{receiver.port}/***"
    finally:
        om("notify", "rm", name)


def _journal(unit: str) -> str:
    """What the service logged (root's user units log to the system journal: docs/private-host.md)."""
    return subprocess.run(["journalctl", "--user-unit", unit, "--no-pager", "-o", "cat", "--since", "-5min"],
                          capture_output=True, text=True).stdout


def test_a_service_killed_is_restarted_by_systemd_and_tells_what_it_missed_once(
        om: Overmind, service: str, hook: str, receiver: Receiver, name: str) -> None:
    crash(om, f"{name}-before")
    receiver.wait_for(f"{name}-before", "crashed")
    restarts = int(om.unit_property(service, "NRestarts") or 0)
    assert om.systemctl("kill", "--signal=SIGKILL", service).returncode == 0
    crash(om, f"{name}-meanwhile")  # while it is dead or starting again
    must(lambda: int(om.unit_property(service, "NRestarts") or 0) > restarts, 30, "systemd to restart it")
    receiver.wait_for(f"{name}-meanwhile", "crashed")
    sentinel(om, receiver, name)
    for which in ("before", "meanwhile"):
        assert len(receiver.about(f"{name}-{which}")) == 1, which
