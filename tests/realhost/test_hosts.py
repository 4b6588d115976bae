"""One overmind driving three hosts: Debian containers with systemd as PID 1, sshd, the .deb and a
lingering user `dev`, on a private Podman network, reached over ssh with keys this test makes.

The tests share the three hosts and run in file order; the host stopped last is gone for good."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import Overmind, must
from tests.hosts.sshd import Keys
from tests.realhost.rig import PREFIX, ROOT, Host, podman

ROLES = ("hosta", "hostb", "hostc")
CLAUDE = ROOT / ".tools" / "node_modules" / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe"


@pytest.fixture(scope="module")
def ssh_image(rig_image: str) -> str:
    proc = subprocess.run([str(ROOT / "scripts" / "realhost-ssh-image.sh")], capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        pytest.skip(f"the multi-host rig's image could not be built: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout.strip().splitlines()[-1]


@dataclass
class Fleet:
    om: Overmind
    hosts: dict[str, Host]
    keys: Keys


def _prepare(host: Host, deb: Path, keys: Keys) -> None:
    host.boot()
    host.copy_in(deb, "/tmp/overmind.deb")
    host.root("dpkg", "-i", "/tmp/overmind.deb", timeout=300)
    host.root("install", "-d", "-o", "dev", "-g", "dev", "-m", "700", "/home/dev/.ssh")
    host.copy_in(Path(f"{keys.identity}.pub"), "/home/dev/.ssh/authorized_keys")
    host.root("chown", "dev:dev", "/home/dev/.ssh/authorized_keys")
    assert must(lambda: host.root("systemctl", "is-active", "ssh", check=False).stdout.strip() == "active", 60)


@pytest.fixture(scope="module")
def fleet(ssh_image: str, deb: Path, run_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory,
          ) -> Iterator[Fleet]:
    network = f"{PREFIX}{os.getpid()}-net"
    podman("network", "rm", "-f", network, check=False)
    podman("network", "create", "--disable-dns", network)
    volumes = (f"{CLAUDE}:/usr/local/bin/claude:ro",) if CLAUDE.exists() else ()
    hosts = {role: Host(f"{PREFIX}{os.getpid()}-{role}", ssh_image, network=network, volumes=volumes)
             for role in ROLES}
    keys = Keys(tmp_path_factory.mktemp("fleet-ssh"))
    try:
        for host in hosts.values():
            host.remove()
        failures: list[BaseException] = []

        def prepare(host: Host) -> None:
            try:
                _prepare(host, deb, keys)
            except BaseException as error:  # noqa: BLE001 - said after the others finished
                failures.append(error)

        booting = [threading.Thread(target=prepare, args=(host,)) for host in hosts.values()]
        for thread in booting:
            thread.start()
        for thread in booting:
            thread.join()
        if failures:
            raise failures[0]
        with keys.known_hosts.open("w") as known:
            for host in hosts.values():
                key = host.root("cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()
                known.write(f"{host.ip} {key[0]} {key[1]}\n")
        env = {**run_env, "OVERMIND_STATE_DIR": str(tmp_path_factory.mktemp("fleet-local")),
               "OVERMIND_SSH_CONFIG": str(keys.config)}
        om = Overmind(env)
        for role, host in hosts.items():
            om("hosts", "add", role, f"ssh://dev@{host.ip}")
        yield Fleet(om, hosts, keys)
    finally:
        if os.environ.get("OVERMIND_RIG_KEEP") != "1":
            for host in hosts.values():
                host.remove()
            podman("network", "rm", "-f", network, check=False)


def unique(base: str) -> str:
    return f"{base}-{secrets.token_hex(2)}"


def test_each_host_runs_missions_in_its_users_manager_and_ps_hosts_all_lists_them(fleet: Fleet) -> None:
    om = fleet.om
    rows = {row["name"]: row for row in om.json("hosts", "ls")}
    assert [rows[role]["overmind_version"] for role in ROLES] == ["0.1.0"] * 3
    assert all(rows[role]["reachable"] and rows[role]["rtt_ms"] > 0 for role in ROLES)
    assert {rows[role]["hostname"] for role in ROLES} == set(ROLES)
    checks = om.json("hosts", "check", "hosta")
    assert [c["state"] for c in checks] == ["ok", "ok", "ok"], checks
    names = {role: unique(f"on-{role}") for role in ROLES}
    for role, name in names.items():
        om("run", "--on", role, "--name", name, "sleep 600")
    listed = om.json("ps", "--hosts", "all")
    assert {(row["host"], row["name"]) for row in listed} >= set(names.items())
    for role, name in names.items():
        info = om.json("info", f"{role}:{name}")
        assert info["status"] == "running" and "/user@1000.service/" in info["cgroup"]
    table = om("ps", "--hosts", "all").stdout.splitlines()
    assert table[0].split()[0] == "HOST" and sum(line.split()[0] in ROLES for line in table[1:]) >= 3
    om("stop", *(f"{role}:{name}" for role, name in names.items()))


def test_a_hostile_name_and_prompt_arrive_unchanged_on_a_real_host(fleet: Fleet) -> None:
    words = ["it's", '"$(id)"', "`whoami`", "a; rm -rf ~", "two\nlines"]
    name = unique("hostile")
    fleet.om("run", "--on", "hostb", "--name", name, "--wait", "printf", "<%s>\\n", *words)
    lines = must(lambda: (found := fleet.om.logs(f"hostb:{name}"))[-1].startswith("--- exited") and found, 30)
    assert lines[:-1] == ["<it's>", '<"$(id)">', "<`whoami`>", "<a; rm -rf ~>", "<two", "lines>"]
    refused = fleet.om("run", "--on", "hostb", "--name", "x$(touch /tmp/owned)", "true", check=False)
    assert refused.returncode == 1 and "invalid mission name 'x$(touch /tmp/owned)'" in refused.stderr
    assert fleet.hosts["hostb"].root("test", "-e", "/tmp/owned", check=False).returncode == 1


def test_logs_follow_survives_a_network_cut_without_loss_or_duplicates(fleet: Fleet, tmp_path: Path) -> None:
    name = unique("ticker")
    fleet.om("run", "--on", "hostb", "--name", name, "for i in $(seq 1 300); do echo tick $i; sleep 0.1; done")
    out = tmp_path / "follow.jsonl"

    def ticks() -> list[int]:
        text = out.read_text()  # complete lines only: the follower may be half way through one
        messages = [json.loads(line)["message"] for line in text[:text.rfind("\n") + 1].splitlines()]
        return [int(message.split()[1]) for message in messages if message.startswith("tick ")]

    with out.open("w") as sink:
        follower = subprocess.Popen([sys.executable, "-m", "overmind", "logs", f"hostb:{name}", "-f", "--json"],
                                    env=fleet.om.env, stdout=sink, stderr=subprocess.PIPE, text=True,
                                    stdin=subprocess.DEVNULL)
        try:
            must(lambda: len(ticks()) >= 10, 30, "the first ticks")
            fleet.hosts["hostb"].link(up=False)
            time.sleep(10)  # the cut outlasts ssh's keep-alive: the connection is given up
            fleet.hosts["hostb"].link(up=True)
            must(lambda: 300 in ticks(), 90, "the last tick after the cut")
        finally:
            fleet.hosts["hostb"].link(up=True)
            follower.terminate()
            _, stderr = follower.communicate(timeout=20)
    assert ticks() == list(range(1, 301))
    assert "hostb: connected again" in stderr, stderr


def test_a_blueprint_with_steps_on_two_hosts_runs_in_dependency_order(fleet: Fleet, tmp_path: Path) -> None:
    name = unique("relay")
    path = tmp_path / f"{name}.toml"
    path.write_text('''
[agents.fetch]
host = "hosta"
command = "sleep 2; date +%s.%N"
[agents.build]
host = "hostc"
command = "date +%s.%N"
depends_on = ["fetch"]
''')
    applied = fleet.om("apply", str(path), "--wait", timeout=240)
    assert f"hostc: pipeline {name} done" in applied.stdout, applied.stdout

    def stamp(ref: str) -> float:
        return float(must(lambda: (lines := fleet.om.logs(ref)) and lines[0][:1].isdigit() and lines[0], 30))

    assert stamp(f"hosta:{name}.fetch") < stamp(f"hostc:{name}.build")


def test_a_claude_session_on_another_host_answers_send_wait_and_attaches_in_tmux(fleet: Fleet) -> None:
    from tests.sessions.terminal import Tmux

    if not CLAUDE.exists():
        pytest.skip("the claude CLI is not installed (scripts/install-claude.sh)")
    hostc = fleet.hosts["hostc"]
    hostc.copy_in(ROOT / "tests" / "fake_anthropic.py", "/tmp/fake_anthropic.py")
    hostc.root("chmod", "a+r", "/tmp/fake_anthropic.py")
    serve = ("import sys, time; sys.path.insert(0, '/tmp'); from fake_anthropic import FakeAnthropic; "
             "f = FakeAnthropic().start(); open('/tmp/fake.url', 'w').write(f.url); time.sleep(100000)")
    podman("exec", "-d", "-u", "dev", hostc.name, "python3", "-c", serve)
    url = must(lambda: hostc.root("cat", "/tmp/fake.url", check=False).stdout.strip(), 30, "the fake API")
    hostc.user("mkdir", "-p", "/home/dev/work")
    config = {"hasCompletedOnboarding": True, "theme": "dark",
              "projects": {"/home/dev/work": {"hasTrustDialogAccepted": True}},
              "customApiKeyResponses": {"approved": ["x"], "rejected": []}}
    hostc.exec(["sh", "-c", "cat > /home/dev/.claude.json"], user="dev", input_text=json.dumps(config))
    name = unique("agent")
    env = [f"ANTHROPIC_BASE_URL={url}", "ANTHROPIC_API_KEY=x", "CLAUDE_CODE_MAX_RETRIES=0",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "HOME=/home/dev"]
    fleet.om("run", "--on", "hostc", "--provider", "claude", "--type", "session", "--name", name, "--cwd",
             "/home/dev/work", *(arg for item in env for arg in ("-e", item)), "first words", timeout=120)
    answer = json.loads(fleet.om("send", f"hostc:{name}", "--wait", "--json", "hello from afar", timeout=120).stdout)
    assert answer["text"] == "echo: hello from afar" and not answer["is_error"]

    terminal = Tmux(fleet.om.env)
    try:
        terminal.overmind("attach", f"hostc:{name}")
        terminal.wait_for("echo: hello from afar", 60)
        assert must(lambda: fleet.om.json("info", f"hostc:{name}")["status"] == "attached", 30)
        terminal.type("typed over ssh")
        terminal.wait_for("echo: typed over ssh", 60)
        terminal.keys("C-d")
        terminal.wait_for("Ctrl-D again")
        terminal.keys("C-d")
        terminal.wait_for(f"overmind: '{name}' continues in the background", 30)
        terminal.wait_for("[exit 0]")
    finally:
        terminal.close()
    assert json.loads(fleet.om("send", f"hostc:{name}", "--wait", "--json", "back", timeout=120).stdout)["text"] \
        == "echo: back"
    fleet.om("stop", f"hostc:{name}")


def test_a_stopped_host_is_one_line_and_the_others_answer_within_five_seconds(fleet: Fleet) -> None:
    om = fleet.om
    name = unique("survivor")
    om("run", "--on", "hosta", "--name", name, "sleep 600")
    om("ps", "--hosts", "all")  # every connection up
    podman("stop", "-t", "5", fleet.hosts["hostc"].name, timeout=60)
    started = time.monotonic()
    listed = om("ps", "--hosts", "all", check=False)
    elapsed = time.monotonic() - started
    assert elapsed < 5.0, elapsed
    assert any(line.startswith("hostc: unreachable (ssh: ") for line in listed.stdout.splitlines()), listed.stdout
    assert any(line.split()[:1] == ["hosta"] and name in line for line in listed.stdout.splitlines())
    om("stop", f"hosta:{name}")
