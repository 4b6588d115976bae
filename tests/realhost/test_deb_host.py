"""The .deb on a host where systemd is PID 1, used by the normal user `dev` through dev's own
user manager (user@1000.service): the path most users take.

The tests share one host and build on each other's missions and rituals, in file order; the
reboot comes last and checks what must survive it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from tests.helpers import must
from tests.isolation.images import REPOSITORY, image
from tests.realhost.conftest import agent_volumes
from tests.realhost.rig import ROOT, Host, podman

SYSTEM_FILES = ("/usr/share/man/man1/overmind.1.gz", "/usr/share/bash-completion/completions/overmind",
                "/usr/share/zsh/vendor-completions/_overmind", "/usr/share/fish/vendor_completions.d/overmind.fish",
                "/usr/share/overmind/skills/overmind/SKILL.md")


def om(host: Host, *args: str, user: str = "dev", check: bool = True) -> Any:
    return host.user("overmind", *args, user=user, check=check)


def omj(host: Host, *args: str, user: str = "dev") -> Any:
    return json.loads(om(host, *args, "--json", user=user).stdout)


def info(host: Host, ref: str) -> dict[str, Any]:
    return dict(omj(host, "info", ref))


def hybrid_cgroups() -> bool:
    return not Path("/sys/fs/cgroup/cgroup.controllers").exists()


def test_the_package_puts_overmind_its_completions_man_page_and_skill_in_place(host: Host) -> None:
    assert host.user("sh", "-c", "command -v overmind").stdout.strip() == "/usr/bin/overmind"
    assert om(host, "--version").stdout.strip() == "overmind, version 0.1.0"
    host.root("test", "-s", SYSTEM_FILES[0], *(arg for path in SYSTEM_FILES[1:] for arg in ("-a", "-s", path)))
    depends = host.root("dpkg-query", "-W", "-f", "${Depends}|${Recommends}", "overmind").stdout
    assert {"systemd", "dbus-user-session", "git"} <= {d.split()[0] for d in depends.split("|")[0].split(", ")}
    assert depends.split("|")[1] == "podman, chromium"
    assert {"status", "stop"} <= host.completions("st")


def test_setup_as_dev_installs_the_skill_and_is_then_a_no_op(host: Host) -> None:
    first = {step["name"]: step for step in omj(host, "setup")}
    assert {name: step["state"] for name, step in first.items()} == {
        "linger": "ok", "user manager": "ok", "skill": "changed", "completion": "ok"}
    assert "system-wide" in first["completion"]["detail"]
    again = om(host, "setup")
    assert [line.split()[0] for line in again.stdout.splitlines() if not line.startswith(" ")] == ["ok"] * 4
    checks = {check["name"]: check for check in omj(host, "doctor")}
    assert (checks["user manager"]["state"], checks["linger"]["state"], checks["setup"]["state"]) == ("ok",) * 3


def test_setup_without_linger_or_session_says_what_to_run_and_touches_nothing_it_cannot_finish(host: Host) -> None:
    proc = om(host, "setup", user="nolinger", check=False)
    assert proc.returncode == 1
    assert "NEEDS  linger" in proc.stdout and "run: sudo loginctl enable-linger nolinger" in proc.stdout
    assert "NEEDS  user manager" in proc.stdout
    assert host.root("test", "-e", "/var/lib/systemd/linger/nolinger", check=False).returncode == 1
    assert om(host, "setup", user="nolinger", check=False).returncode == 1  # the same answer, nothing broken

    host.root("loginctl", "enable-linger", "nolinger")  # what it said to run, done by an admin
    must(lambda: om(host, "setup", user="nolinger", check=False).returncode == 0, 30, "setup to pass once lingering")


def test_a_mission_runs_in_devs_own_manager_with_logs_info_ps_and_wait(host: Host) -> None:
    proc = om(host, "run", "--name", "hello", "--wait", 'echo "hello from $(id -un)"; exit 3', check=False)
    assert proc.returncode == 3, proc.stderr
    assert "hello from dev" in om(host, "logs", "hello").stdout
    assert (info(host, "hello")["status"], info(host, "hello")["exit_code"]) == ("crashed", 3)

    started = json.loads(om(host, "run", "--name", "sleeper", "--json", "sleep 300").stdout)
    row = must(lambda: next((r for r in omj(host, "ps") if r["name"] == "sleeper" and r["status"] == "running"), None))
    assert row["id"] == started["id"]
    assert "/user.slice/user-1000.slice/user@1000.service/" in info(host, "sleeper")["cgroup"]
    assert host.user("systemctl", "--user", "is-active", started["unit"]).stdout.strip() == "active"
    assert om(host, "wait", "sleeper", "--timeout", "300", check=False).returncode != 0  # still running: timed out
    om(host, "stop", "sleeper")
    assert info(host, "sleeper")["status"] == "stopped"


def test_stop_ends_a_mission_of_several_processes(host: Host) -> None:
    om(host, "run", "--name", "crowd", "sleep 301 & sleep 302 & sleep 303 & wait")
    must(lambda: len(host.root("pgrep", "-u", "dev", "-x", "sleep", check=False).stdout.split()) == 3)
    om(host, "stop", "crowd")
    assert info(host, "crowd")["status"] == "stopped"
    assert host.root("pgrep", "-u", "dev", "-x", "sleep", check=False).stdout == ""
    om(host, "kill", "crowd")
    assert "crowd" not in {row["name"] for row in omj(host, "ps")}


def test_on_failure_restarts_until_the_breaker_trips(host: Host) -> None:
    om(host, "run", "--name", "flaky", "--restart", "on-failure", "--max-restarts", "2", "--max-seconds", "60",
       "echo run; exit 3")
    proc = om(host, "wait", "flaky", check=False)
    assert (proc.returncode, proc.stdout) == (3, "finished: crashed (gave up after 2 restarts: exit 3), exit code 3\n")
    assert om(host, "logs", "flaky").stdout.count(" run\n") == 3


def test_a_ritual_fires_on_its_timer_in_devs_manager(host: Host) -> None:
    om(host, "ritual", "add", "tick", "--every", "2s", 'echo "tick as $(id -un)"')
    om(host, "ritual", "add", "nightly", "--on-calendar", "*-*-* 03:00:00", "echo nightly")
    must(lambda: next(r for r in omj(host, "rituals") if r["name"] == "tick")["runs"] >= 2, 30, "two ticks")
    assert "tick as dev" in om(host, "ritual", "logs", "tick").stdout
    timers = host.user("systemctl", "--user", "list-timers", "--all", "--no-legend").stdout
    assert "ritual-tick.timer" in timers and "ritual-nightly.timer" in timers


def test_a_blueprint_runs_its_stages_in_order(host: Host) -> None:
    host.exec(["sh", "-c", "cat > /home/dev/pipeline.toml"], user="dev",
              input_text=(ROOT / "examples" / "pipeline.toml").read_text())
    om(host, "apply", "/home/dev/pipeline.toml")
    assert om(host, "wait", "pipeline").stdout == "finished: done, exit code 0\n"
    lines = om(host, "logs", "pipeline").stdout
    stages = [lines.index(f"stage {n}: {stage} complete") for n, stage in ((1, "setup"), (2, "build"), (3, "deploy"))]
    assert stages == sorted(stages)


def test_a_tree_is_shown_and_stopped_as_one(host: Host) -> None:
    om(host, "run", "--name", "root", "sleep 300")
    om(host, "run", "--name", "child", "--parent", "root", "sleep 300")
    om(host, "run", "--name", "grandchild", "--parent", "child", "sleep 300")
    lines = om(host, "ps", "--tree").stdout.splitlines()
    columns = [next(line.index(f" {name} ") for line in lines if f" {name} " in line)
               for name in ("root", "child", "grandchild")]
    assert columns[0] < columns[1] < columns[2], lines  # each one drawn under its parent
    om(host, "stop", "--cascade", "root")
    assert {info(host, name)["status"] for name in ("root", "child", "grandchild")} == {"stopped"}
    assert host.root("pgrep", "-u", "dev", "-x", "sleep", check=False).stdout == ""


def test_a_mission_outlives_a_killed_overmind_process(host: Host) -> None:
    podman("exec", "-d", "-u", "dev", "-e", "XDG_RUNTIME_DIR=/run/user/1000", "-e", "HOME=/home/dev", host.name,
           "overmind", "run", "--name", "survivor", "--wait", "sleep 300")
    must(lambda: any(r["name"] == "survivor" and r["status"] == "running" for r in omj(host, "ps")), 30)
    host.root("pkill", "-KILL", "-u", "dev", "-f", "overmind run --name survivor")
    must(lambda: host.root("pgrep", "-u", "dev", "-f", "overmind run", check=False).stdout == "", what="it to die")
    assert info(host, "survivor")["status"] == "running"
    om(host, "stop", "survivor")


def test_a_login_through_pam_finds_the_same_manager(host: Host) -> None:
    listed = host.root("su", "-l", "dev", "-c", "echo $XDG_RUNTIME_DIR; overmind ps --all --json").stdout
    runtime, _, rows = listed.partition("\n")
    assert runtime == "/run/user/1000"
    assert "hello" in {row["name"] for row in json.loads(rows)}


def test_memory_limits_are_enforced_or_a_warning_says_they_are_not(host: Host) -> None:
    proc = om(host, "run", "--name", "capped", "--memory-max", "64M", "--wait", "true")
    limits = next(check for check in omj(host, "doctor") if check["name"] == "limits")
    if hybrid_cgroups():  # a user manager gets no v1 memory controller here
        assert limits["state"] == "warn" and "not enforced" in limits["detail"]
    # doctor and run agree: a limit that cannot be enforced is said so, one that can is not
    warned = "overmind: warning: --memory-max will not be enforced" in proc.stderr
    assert warned == (limits["state"] == "warn"), (limits, proc.stderr)


def test_an_agent_cli_that_is_not_installed_is_one_line_not_a_mission(host: Host) -> None:
    proc = om(host, "claude", "run", "--name", "no-claude", "say hi", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("overmind: claude is not installed (not found on PATH)\n")
    assert "Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 2  # the error and its hint
    assert "no-claude" not in {row["name"] for row in omj(host, "ps", "--all")}


def test_a_deleted_then_corrupted_store_is_rebuilt_for_dev_from_systemd_and_the_journal(host: Host) -> None:
    om(host, "run", "--name", "keeper", "--restart", "on-failure", "echo kept; exec sleep 600")
    om(host, "run", "--name", "trunk", "sleep 600")
    om(host, "run", "--name", "branch", "--parent", "trunk", "sleep 600")
    must(lambda: {info(host, n)["status"] for n in ("keeper", "trunk", "branch")} == {"running"}, 30)
    def listed(rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
        return {row["id"]: (row["name"], row["status"], row["exit_code"], row["parent"]) for row in rows}

    before = listed(omj(host, "ps", "--all"))
    store = "/home/dev/.local/state/overmind/state.db"
    for damage in (f"rm -f {store} {store}-wal {store}-shm", f"head -c 8192 /dev/urandom > {store}; rm -f {store}-*"):
        host.user("sh", "-c", f"rm -f {store}.rebuilt.json; {damage}")
        proc = om(host, "ps", "--all", "--json")
        # The ritual ticking every 2 s may open the store first: then it says so in its own log.
        assert proc.stderr == "" or (len(proc.stderr.splitlines()) == 1 and "rebuilt" in proc.stderr), proc.stderr
        report = json.loads(host.user("cat", f"{store}.rebuilt.json").stdout)
        assert report["missions"] + report["blueprints"] == len(before)
        assert listed(json.loads(proc.stdout)) == before
        assert "kept" in om(host, "logs", "keeper").stdout
        assert om(host, "wait", "hello", check=False).returncode == 3
    assert host.user("sh", "-c", f"ls {store}.broken-*").stdout.strip()
    om(host, "stop", "--cascade", "trunk")
    om(host, "stop", "keeper")
    assert {info(host, name)["status"] for name in ("keeper", "trunk", "branch")} == {"stopped"}


def test_reinstalling_the_package_keeps_the_users_missions(host: Host) -> None:
    before = {row["name"]: row["status"] for row in omj(host, "ps", "--all")}
    host.root("dpkg", "-i", "/tmp/overmind.deb")
    assert {row["name"]: row["status"] for row in omj(host, "ps", "--all")} == before


FAKE_PORT = 8787
CLAUDE_ENV = [f"ANTHROPIC_BASE_URL=http://127.0.0.1:{FAKE_PORT}", "ANTHROPIC_API_KEY=x", "CLAUDE_CODE_MAX_RETRIES=0",
              "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"]


def _fake_api(host: Host, log: str) -> None:
    """The fake Messages API on the host's loopback (tests/fake_anthropic.py), logging what it is sent."""
    host.root("systemctl", "stop", "fake-anthropic", check=False)
    host.root("systemd-run", "--unit=fake-anthropic", "--collect", "python3", "/opt/fake_anthropic.py",
              str(FAKE_PORT), log)
    must(lambda: host.root("python3", "-c", f"import socket; socket.create_connection(('127.0.0.1', {FAKE_PORT}))",
                           check=False).returncode == 0, 30, "the fake API listening")


def _histories(host: Host, log: str) -> list[list[str]]:
    return [json.loads(line) for line in host.root("cat", log, check=False).stdout.splitlines()]


def _claude_session(host: Host) -> str | None:
    """A persisted claude session told a fact before the reboot; None where the CLI is not mounted."""
    if host.root("test", "-x", "/opt/claude-code/bin/claude.exe", check=False).returncode != 0:
        return None
    host.root("ln", "-sf", "/opt/claude-code/bin/claude.exe", "/usr/local/bin/claude")
    _fake_api(host, "/var/tmp/fake-before.log")
    config = {"hasCompletedOnboarding": True, "projects": {"/home/dev/work": {"hasTrustDialogAccepted": True}},
              "customApiKeyResponses": {"approved": ["x"], "rejected": []}}
    host.user("mkdir", "-p", "/home/dev/work")
    host.user("python3", "-c", f"open('/home/dev/.claude.json', 'w').write({json.dumps(json.dumps(config))})")
    om(host, "run", "--provider", "claude", "--type", "session", "--persist", "--name", "chat", "--cwd",
       "/home/dev/work", *(arg for env in CLAUDE_ENV for arg in ("-e", env)), "the release is on friday")
    reply = json.loads(om(host, "send", "chat", "--wait", "--json", "note it down").stdout)
    assert reply["text"] == "echo: note it down"
    return str(reply["session_id"])


BOX_COMMAND = ["sh", "-c", "echo box > /www/index.html; exec httpd -f -p 8080 -h /www"]


def _box_image(host: Host) -> str:
    """The tests' busybox image (tests/isolation/images.py), loaded into dev's own Podman: no registry."""
    name = image(["httpd", "-f", "-p", "8080", "-h", "/www"])
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "box.tar"
        podman("save", "--quiet", "--output", str(archive), name)
        host.copy_in(archive, "/var/tmp/box.tar")
    host.root("chmod", "644", "/var/tmp/box.tar")
    host.user("podman", "load", "--quiet", "--input", "/var/tmp/box.tar", timeout=120)
    return name


def _worktree_task(host: Host) -> dict[str, Any]:
    """A persisted task in a worktree of dev's repository, with leased ports and two services of its
    own: a command and a container on dev's rootless Podman."""
    contract = ("services:\n  web:\n    command: exec python3 -m http.server $PORT --bind 127.0.0.1\n"
                f"    port: 8000\n  box:\n    docker: {_box_image(host)}\n    port: 8080\n"
                f"    command: {json.dumps(BOX_COMMAND)}\n")
    script = ("mkdir -p proj && cd proj && git init -q && cat > .overmind.yml && git add .overmind.yml && "
              "git -c user.name=dev -c user.email=dev@rig commit -qm contract")
    host.exec(["sh", "-c", script], user="dev", input_text=contract)
    om(host, "run", "--name", "wt", "--worktree", "--cwd", "/home/dev/proj", "--persist",
       "echo $WEB_PORT $BOX_PORT >> ports.txt; exec sleep 600")
    return info(host, "wt")


def _services_answer(host: Host, worktree: dict[str, Any]) -> bool:
    return _web_answers(host, worktree["ports"]["WEB_PORT"]) and _web_answers(host, worktree["ports"]["BOX_PORT"])


def _web_answers(host: Host, port: int, path: str = "/", token: str = "") -> bool:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    probe = (f"import urllib.request; urllib.request.urlopen(urllib.request.Request("
             f"'http://127.0.0.1:{port}{path}', headers={headers!r}), timeout=10)")
    return host.user("python3", "-c", probe, check=False).returncode == 0


DASHBOARD_PORT = 8790


def _installed_units(host: Host) -> str:
    """The dashboard's socket and the notify service, installed once (their units are enabled
    files); returns the dashboard's token."""
    token = str(omj(host, "dashboard", "install", "--port", str(DASHBOARD_PORT))["token_url"].split("token=")[1])
    om(host, "notify", "add", "rig", "--command", "cat >> /home/dev/notices.jsonl", "--on", "crashed",
       "--missions", "boom-*")
    return token


def _installed_units_came_back(host: Host, boots: int, token: str) -> None:
    assert must(lambda: _web_answers(host, DASHBOARD_PORT, "/api/v1/counts", token), 60, "the dashboard answering")
    om(host, "run", "--name", f"boom-{boots}", "exit 3")
    must(lambda: f"boom-{boots}" in host.user("cat", "/home/dev/notices.jsonl", check=False).stdout, 60,
         f"boom-{boots}'s crash notified")


def _came_back(host: Host, boots: int, worktree: dict[str, Any], token: str) -> None:
    """What every boot must give back: the persisted missions running (their boot counted), the
    worktree task in the same worktree with the same ports and its services answering, the
    dashboard's socket and the notify service; what a person stopped stays stopped, what was not
    persisted stays lost."""
    _installed_units_came_back(host, boots, token)
    for name in ("kept", "wt"):
        must(lambda: info(host, name)["status"] == "running" and info(host, name)["boots"] == boots, 60,  # noqa: B023
             f"{name} running again after boot {boots}")
    after = info(host, "wt")
    assert (after["worktree"]["path"], after["ports"]) == (worktree["worktree"]["path"], worktree["ports"])
    assert must(lambda: _services_answer(host, worktree), 60, "the worktree's services answering")
    assert sorted((service["name"], service["state"]) for service in after["services"]) == [
        ("box", "active"), ("web", "active")]
    running = host.user("podman", "ps", "--format", "{{.Image}}").stdout.split()  # dev's own, rootless
    assert [name.split(":")[0] for name in running] == [REPOSITORY]
    assert info(host, "stopped")["status"] == "stopped"
    assert (info(host, "at-reboot")["status"], info(host, "at-reboot")["reason"]) == ("lost", "at reboot")


def test_rituals_the_store_logs_and_persisted_missions_survive_three_reboots_in_a_row(host: Host) -> None:
    session_id = _claude_session(host)
    assert session_id is not None or not agent_volumes()  # the claude CLI is mounted wherever it is installed
    om(host, "run", "--name", "at-reboot", "sleep 600")
    om(host, "run", "--name", "kept", "--persist", "echo run of kept; exec sleep 600")
    om(host, "run", "--name", "stopped", "--persist", "exec sleep 600")
    om(host, "stop", "stopped")
    worktree = _worktree_task(host)
    token = _installed_units(host)
    assert must(lambda: _services_answer(host, worktree), 60, "the worktree's services answering")
    runs = next(r for r in omj(host, "rituals") if r["name"] == "tick")["runs"]
    host.reboot()
    rituals = {r["name"]: r for r in omj(host, "rituals")}
    assert rituals["nightly"]["enabled"] and rituals["nightly"]["next_run_at"]
    must(lambda: next(r for r in omj(host, "rituals") if r["name"] == "tick")["runs"] > runs, 30, "a tick after boot")
    assert (info(host, "hello")["status"], info(host, "hello")["exit_code"]) == ("crashed", 3)
    assert "hello from dev" in om(host, "logs", "hello").stdout
    assert "tick as dev" in om(host, "ritual", "logs", "tick", "--runs", str(runs + 1)).stdout
    # a transient unit ends with the boot it ran in; a persisted one comes back, unless a person stopped it
    _came_back(host, 1, worktree, token)
    assert "--- restarted by boot #1 ---" in om(host, "logs", "kept").stdout
    assert om(host, "logs", "kept").stdout.count("run of kept") == 2
    ports = host.user("cat", f"{worktree['worktree']['path']}/ports.txt").stdout.splitlines()
    assert ports == [f"{worktree['ports']['WEB_PORT']} {worktree['ports']['BOX_PORT']}"] * 2  # ran again, same ports
    if session_id is not None:  # the session resumed its conversation: the API is sent the turns before the reboot
        _fake_api(host, "/var/tmp/fake-after.log")
        must(lambda: info(host, "chat")["status_text"] == "waiting for input", 90, "the session resumed")
        reply = json.loads(om(host, "send", "chat", "--wait", "--json", "when is the release").stdout)
        assert (reply["text"], reply["session_id"]) == ("echo: when is the release", session_id)
        assert _histories(host, "/var/tmp/fake-after.log")[-1] == [
            "the release is on friday", "note it down", "when is the release"]
        assert info(host, "chat")["boots"] == 1
    for boots in (2, 3):  # reboots in a row keep the same state
        host.reboot()
        _came_back(host, boots, worktree, token)
        if session_id is not None:
            must(lambda: info(host, "chat")["status_text"] == "waiting for input", 90, "the session resumed again")
            assert (info(host, "chat")["boots"], info(host, "chat")["session_id"]) == (boots, session_id)
