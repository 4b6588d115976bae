"""Other hosts over real ssh: loopback OpenSSH servers standing in for machines (tests/hosts/sshd.py),
each with its own overmind state, driven through the real CLI against the real systemd."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import Overmind, must
from tests.hosts.conftest import master_pid, spawn, unique
from tests.hosts.sshd import Sshd

pytestmark = pytest.mark.systemd


def output(om: Overmind, ref: str, lines: int) -> list[str]:
    """A finished mission's output lines (without the exit line), once journald has them all."""
    def complete() -> list[str] | None:
        found = om.logs(ref)
        return found[:-1] if len(found) > lines and found[-1].startswith("--- exited") else None

    return list(must(complete, 30, f"{ref}'s output"))


def test_hosts_add_finds_overmind_and_ls_shows_each_host_with_its_facts(hom: Overmind,
                                                                         loopback: dict[str, Sshd]) -> None:
    rows = {row["name"]: row for row in hom.json("hosts", "ls")}
    assert list(rows) == ["local", "h1", "h2"]
    h1 = rows["h1"]
    assert (h1["reachable"], h1["error"], h1["overmind_version"]) == (True, None, "0.1.0")
    assert h1["address"] == loopback["h1"].address
    assert h1["systemd_version"].isdigit() and h1["mem_available_bytes"] > 0 and len(h1["load"]) == 3
    assert 0 < h1["rtt_ms"] < 2000
    registry = json.loads((Path(hom.env["OVERMIND_STATE_DIR"]) / "hosts.json").read_text())
    assert {h["name"]: h["overmind"] for h in registry["hosts"]}["h1"].endswith("/bin/overmind")
    table = hom("hosts", "ls").stdout
    assert table.splitlines()[0].split() == ["HOST", "ADDRESS", "STATE", "OVERMIND", "SYSTEMD", "MISSIONS", "LOAD",
                                             "FREE", "RTT"]


def test_run_on_a_host_runs_there_and_its_exit_code_comes_back(hom: Overmind, loopback: dict[str, Sshd]) -> None:
    name = unique("remote")
    proc = hom("run", "--on", "h1", "--name", name, "--wait", 'echo "state $OVERMIND_STATE_DIR"; exit 7', check=False)
    assert proc.returncode == 7, proc.stderr
    assert output(hom, f"h1:{name}", 1) == [f"state {loopback['h1'].state_dir}"]
    assert hom.json("info", f"h1:{name}")["exit_code"] == 7
    assert hom.json("--on", "h1", "info", name)["name"] == name
    assert hom("info", name, check=False).returncode != 0  # not a local mission
    assert hom("wait", f"h1:{name}", check=False).returncode == 7
    env = {**hom.env, "OVERMIND_HOST": "h1"}
    assert Overmind(env).json("info", name)["id"] == hom.json("info", f"h1:{name}")["id"]


def test_an_argument_with_quotes_expansions_semicolons_and_newlines_arrives_unchanged(
        hom: Overmind, loopback: dict[str, Sshd], tmp_path: Path) -> None:
    trap = tmp_path / "pwned"
    words = ["a'b", '"q"', f"$(touch {trap})", f"`touch {trap}`", f"c; touch {trap}", "e\nf", "\\n", "ü ✓"]
    name = unique("hostile")
    hom("run", "--on", "h1", "--name", name, "--wait", "printf", "[%s]\\n", *words)
    shown = "\n".join(output(hom, f"h1:{name}", len(words) + 1))
    assert shown == "\n".join(f"[{word}]" for word in words)
    proc = hom("run", "--on", "h2", "--name", f"x';touch {trap};'", "true", check=False)
    assert proc.returncode == 1 and f"invalid mission name \"x';touch {trap};'\"" in proc.stderr
    assert not trap.exists()


def test_a_prompt_longer_than_a_command_line_goes_through_stdin(hom: Overmind, loopback: dict[str, Sshd]) -> None:
    name = unique("long")
    words = ["x" * 40_000, "y" * 40_000]  # a token above the inline limit, a command systemd-run still takes
    proc = hom("run", "--on", "h1", "--name", name, "--wait", "printf", "%s", *words, check=False)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "".join(output(hom, f"h1:{name}", 1)) == "".join(words)


def test_ps_hosts_lists_every_hosts_missions_with_a_host_column(hom: Overmind, loopback: dict[str, Sshd]) -> None:
    names = {host: unique(f"ps-{host}") for host in ("local", "h1", "h2")}
    hom.run("sleep 300", "--name", names["local"])
    for host in ("h1", "h2"):
        hom("run", "--on", host, "--name", names[host], "sleep 300")
    rows = hom.json("ps", "--hosts", "all")
    found = {(row["host"], row["name"]) for row in rows}
    assert {(host, name) for host, name in names.items()} <= found
    assert {row["host"] for row in hom.json("ps", "--hosts", "h2")} == {"h2"}
    table = hom("ps", "--hosts", "all").stdout.splitlines()
    assert table[0].split()[:3] == ["HOST", "ID", "NAME"]
    assert any(line.split()[:1] == ["h2"] and names["h2"] in line for line in table)
    hom("stop", *(f"{host}:{name}" for host, name in names.items()))
    for host, name in names.items():
        assert hom.json("info", f"{host}:{name}")["status"] == "stopped"


def test_an_unreachable_host_is_one_line_and_the_others_answer_at_once(hom: Overmind, loopback: dict[str, Sshd],
                                                                        silent_port: int) -> None:
    hom("hosts", "add", "hung", f"ssh://root@127.0.0.1:{silent_port}")
    hom("hosts", "add", "gone", "ssh://root@127.0.0.1:1")
    try:
        name = unique("alive")
        hom("run", "--on", "h1", "--name", name, "sleep 300")
        started = time.monotonic()
        proc = hom("ps", "--hosts", "all")
        assert time.monotonic() - started < 5.0
        assert "gone: unreachable (ssh: connection refused)" in proc.stdout
        assert "hung: unreachable (ssh: no answer)" in proc.stdout
        assert any(line.startswith("h1 ") and name in line for line in proc.stdout.splitlines())
        listed = hom("ps", "--hosts", "all", "--json")
        assert name in {row["name"] for row in json.loads(listed.stdout)}
        assert "gone: unreachable" in listed.stderr
        failed = hom("info", "gone:x", check=False)
        assert failed.returncode == 255
        assert failed.stderr.splitlines()[0] == "overmind: gone: unreachable (ssh: connection refused)"
        hom("stop", f"h1:{name}")
    finally:
        hom("hosts", "rm", "hung")
        hom("hosts", "rm", "gone")


def test_hosts_check_says_what_is_wrong_and_the_exact_fix(hom: Overmind, loopback: dict[str, Sshd],
                                                         tmp_path: Path) -> None:
    checks = {c["name"]: c for c in hom.json("hosts", "check", "h1")}
    assert (checks["ssh"]["state"], checks["overmind"]["state"]) == ("ok", "ok")
    stranger = Sshd("stranger", tmp_path / "stranger", loopback["h1"].keys, prefix="omhost-stranger").start(
        trusted=False)
    try:
        hom("hosts", "add", "stranger", stranger.address)
        proc = hom("hosts", "check", "stranger", check=False)
        assert proc.returncode == 1
        assert "its host key is not in your known_hosts" in proc.stdout
        assert f"ssh -o StrictHostKeyChecking=accept-new -p {stranger.port} root@127.0.0.1 true" in proc.stdout
        stranger.trust()
        hom("hosts", "add", "stranger", stranger.address, "--overmind", "/nonexistent/overmind")
        checks = {c["name"]: c for c in json.loads(hom("hosts", "check", "stranger", "--json", check=False).stdout)}
        assert checks["overmind"]["state"] == "fail"
        assert "--overmind" in checks["overmind"]["hint"] and "bin/overmind" in checks["overmind"]["hint"]
        Path(stranger.directory / "authorized_keys").write_text("")
        checks = {c["name"]: c for c in json.loads(hom("hosts", "check", "stranger", "--json", check=False).stdout)}
        assert checks["ssh"]["detail"] == "your key is not accepted there"
        assert checks["ssh"]["hint"].startswith(f"ssh-copy-id -p {stranger.port} root@127.0.0.1")
    finally:
        hom("hosts", "rm", "stranger")
        stranger.stop()


def _lines(path: Path) -> list[str]:
    """The complete lines written so far (the writer may be half way through the next)."""
    text = path.read_text()
    return [line for line in text[:text.rfind("\n") + 1].splitlines() if line.strip()]


def _messages(path: Path) -> list[str]:
    return [json.loads(line)["message"] for line in _lines(path)]


def test_logs_follow_survives_a_cut_connection_without_losing_or_repeating_a_line(
        hom: Overmind, loopback: dict[str, Sshd], tmp_path: Path) -> None:
    name = unique("ticker")
    hom("run", "--on", "h2", "--name", name, "for i in $(seq 1 400); do echo line $i; sleep 0.05; done")
    out = tmp_path / "follow.jsonl"
    with out.open("w") as sink:
        follower = spawn(hom.env, "logs", f"h2:{name}", "-f", "--json", stdout=sink)
        try:
            must(lambda: len(_messages(out)) >= 20, 30, "the first lines")
            os.kill(must(lambda: master_pid(hom.env, loopback["h2"]), 10, "the master connection"), 9)
            must(lambda: "line 400" in _messages(out), 60, "the last line after the cut")
        finally:
            follower.terminate()
            _, stderr = follower.communicate(timeout=10)
    numbers = [int(m.split()[1]) for m in _messages(out) if m.startswith("line ")]
    assert numbers == list(range(1, 401))
    assert "h2: connection lost; connecting again" in stderr and "h2: connected again" in stderr


def test_events_of_a_host_carry_it_and_resume_after_a_cut(hom: Overmind, loopback: dict[str, Sshd],
                                                          tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    with out.open("w") as sink:
        feed = spawn(hom.env, "events", "--on", "h1", "--json", stdout=sink)
        try:
            first = unique("ev")
            must(lambda: master_pid(hom.env, loopback["h1"]), 20, "the connection")
            time.sleep(1.0)  # the host's feed subscribes (its `ready` line is not shown)
            hom("run", "--on", "h1", "--name", first, "--wait", "true")
            must(lambda: any(e.get("name") == first and e["event"] == "finished"
                             and (e["mission"] or {}).get("status") == "stopped" for e in _events(out)), 30)
            before_cut = [e for e in _events(out) if e.get("name") == first]
            os.kill(must(lambda: master_pid(hom.env, loopback["h1"]), 10, "the master connection"), 9)
            second = unique("during-cut")
            hom("run", "--on", "h1", "--name", second, "--wait", "true")
            must(lambda: any(e.get("name") == second for e in _events(out)), 40, "the change made during the cut")
        finally:
            feed.terminate()
            feed.communicate(timeout=10)
    events = _events(out)
    assert all(e["host"] == "h1" for e in events)
    assert all(e["type"] != "ready" for e in events)
    assert [e for e in events if e.get("name") == first] == before_cut  # nothing told before the cut told again
    assert [e for e in events if e.get("name") == second][-1]["event"] == "finished"


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in _lines(path)]


def test_output_from_a_host_cannot_drive_the_terminal(hom: Overmind, loopback: dict[str, Sshd]) -> None:
    name = unique("escapes")
    hom("run", "--on", "h1", "--name", name, "--wait", "echo '\x1b]0;pwned\x07\x1b[2Jdone'")
    table = hom("ps", "--hosts", "h1").stdout
    assert "\x1b" not in table and "^[" in table
    script = subprocess.run(["script", "-qec", f"{os.environ.get('PYTHON', 'python3')} -m overmind logs h1:{name}",
                             "/dev/null"], capture_output=True, text=True, env={**hom.env, "PYTHON": "python"},
                            timeout=60)
    assert "^[]0;pwned^G" in script.stdout and "\x1b" not in script.stdout


def test_local_commands_import_nothing_of_the_remote_machinery(hom: Overmind) -> None:
    code = ("import sys, runpy\nsys.argv = ['overmind', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('overmind', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in sys.modules if m.startswith(('overmind.remote', 'overmind.control.remote',"
            " 'overmind.control.hosts', 'overmind.control.fleet', 'overmind.cli.remote_commands'))]\n"
            "print('IMPORTED', bad, file=sys.stderr)")
    for args in (["ps"], ["logs", "nosuch"], ["run", "--name", unique("hygiene"), "true"], ["info", "nosuch"]):
        proc = subprocess.run(["python", "-c", code, *args], env=hom.env, capture_output=True, text=True, timeout=60)
        assert "IMPORTED []" in proc.stderr, (args, proc.stderr)


def _blueprint(directory: Path, name: str, text: str) -> str:
    path = directory / f"{name}.toml"
    path.write_text(text)
    return str(path)


def _stamp_of(om: Overmind, ref: str) -> float:
    return float(output(om, ref, 1)[0])


def test_a_blueprint_across_hosts_runs_each_step_on_its_host_in_dependency_order(
        hom: Overmind, loopback: dict[str, Sshd], tmp_path: Path) -> None:
    name = unique("spread")
    stamp = "sleep 1; date +%s.%N"
    path = _blueprint(tmp_path, name, f'''
host = "h1"
[agents.build]
command = "{stamp}"
[agents.test]
host = "h2"
command = "{stamp}"
depends_on = ["build"]
[agents.report]
host = "local"
command = "{stamp}"
depends_on = ["test"]
[agents.lint]
command = "{stamp}"
''')
    applying = hom("apply", path, "--wait", timeout=180)
    assert f"h2: build is a gate, open once {name}.build on h1 has finished" in applying.stdout
    assert f"local: pipeline {name} done" in applying.stdout and f"h1: pipeline {name} done" in applying.stdout
    build, test, report = (_stamp_of(hom, f"{host}:{name}.{agent}") for host, agent in
                           (("h1", "build"), ("h2", "test"), ("local", "report")))
    assert build < test < report
    assert hom.json("info", f"h1:{name}.lint")["status"] == "stopped"
    assert hom("info", f"h2:{name}.lint", check=False).returncode != 0  # each agent on its own host only


def test_a_failed_step_keeps_its_dependents_on_other_hosts_from_running(hom: Overmind, loopback: dict[str, Sshd],
                                                                        tmp_path: Path) -> None:
    name = unique("broken")
    path = _blueprint(tmp_path, name, '''
[agents.build]
host = "h1"
command = "exit 3"
[agents.deploy]
host = "h2"
command = "echo deployed"
depends_on = ["build"]
''')
    proc = hom("apply", path, "--wait", check=False, timeout=180)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert hom.json("info", f"h1:{name}.build")["exit_code"] == 3
    assert hom.json("info", f"h2:{name}.deploy")["status"] == "skipped"


def test_a_pipeline_across_hosts_goes_on_when_the_overmind_that_applied_it_is_killed(
        hom: Overmind, loopback: dict[str, Sshd], tmp_path: Path) -> None:
    name = unique("orphan")
    path = _blueprint(tmp_path, name, '''
[agents.slow]
host = "h2"
command = "sleep 4; echo slow done"
[agents.after]
host = "h1"
command = "echo after"
depends_on = ["slow"]
''')
    applying = spawn(hom.env, "apply", path, "--wait")
    must(lambda: hom("info", f"h2:{name}.slow", check=False).returncode == 0, 60, "the first step")
    applying.kill()
    applying.communicate(timeout=10)
    must(lambda: hom.json("info", f"h1:{name}.after").get("status") == "stopped", 90, "the step after it on h1")
    assert output(hom, f"h1:{name}.after", 1) == ["after"]


def test_a_host_sharing_the_memory_reaches_a_loopback_server_here_through_a_tunnel(
        hom: Overmind, loopback: dict[str, Sshd]) -> None:
    from tests.hosts.sshd import free_port

    pytest.importorskip("chromadb")
    served = json.loads(hom("akasha", "serve", "--port", str(free_port()), "--json", timeout=120).stdout)
    there = free_port()
    try:
        added = hom("hosts", "add", "h1", loopback["h1"].address, "--share-memory", "--memory-port", str(there))
        assert f"its agents use the shared memory, at http://127.0.0.1:{there} there" in added.stdout
        tunnel = must(lambda: (row := hom.json("info", "memory-tunnel-h1"))["status"] == "running" and row, 30,
                      "the tunnel")
        assert f"127.0.0.1:{there}:127.0.0.1:{served['url'].rsplit(':', 1)[1]}" in tunnel["command"]
        fact = f"The h1 build cache lives in /var/cache/h1 ({unique('fact')})."
        hom("--on", "h1", "akasha", "remember", fact, "--scope", "global", timeout=180)
        assert hom.json("--on", "h1", "akasha", "stats")["backend"] == f"http://127.0.0.1:{there}"
        team = Overmind({**hom.env, "OVERMIND_AKASHA_URL": served["url"]})  # a client of the server itself
        hits = team.json("akasha", "recall", "where is the build cache of h1?", "--scope", "global")
        assert fact in [hit["text"] for hit in hits]
        assert fact not in [hit["text"] for hit in hom.json("akasha", "ls", "--scope", "all")]
    finally:
        hom("hosts", "add", "h1", loopback["h1"].address)  # without --share-memory: back to its own
        hom("akasha", "serve", "--stop")
    assert hom.json("info", "memory-tunnel-h1")["status"] == "stopped"
    assert not (loopback["h1"].state_dir / "akasha.toml").exists()


def test_restart_kill_rituals_and_worktrees_act_on_another_hosts_own_missions(
        hom: Overmind, loopback: dict[str, Sshd], tmp_path: Path) -> None:
    name = unique("again")
    first = json.loads(hom("run", "--on", "h1", "--name", name, "--json", "sleep 300").stdout)
    hom("restart", f"h1:{name}")
    assert hom.json("info", f"h1:{name}")["id"] == first["id"]
    hom("kill", f"h1:{name}")
    assert name not in {row["name"] for row in hom.json("ps", "--on", "h1")}
    assert hom("info", name, check=False).returncode != 0  # all along on h1, never here

    ritual = unique("tick")
    try:
        added = json.loads(hom("ritual", "add", "--on", "h2", ritual, "--every", "1h", "--json",
                               "echo tick from h2").stdout)
        assert added["name"] == ritual
        assert ritual in {r["name"] for r in hom.json("ritual", "ls", "--on", "h2")}
        assert ritual not in {r["name"] for r in hom.json("ritual", "ls", "--on", "h1")}
        hom("ritual", "run", "--on", "h2", ritual)
        must(lambda: any("tick from h2" in line for line in hom("ritual", "logs", "--on", "h2", ritual).stdout
                         .splitlines()), 30, "the ritual's run on h2")
    finally:
        hom("ritual", "rm", "--on", "h2", ritual, check=False)
    assert ritual not in {r["name"] for r in hom.json("ritual", "ls", "--on", "h2")}

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q",
                    "--allow-empty", "-m", "start"], check=True)
    tree = unique("wt")
    hom("worktree", "add", "--on", "h1", tree, "--cwd", str(repo))
    assert tree in {w["name"] for w in hom.json("worktree", "ls", "--on", "h1")}
    assert tree not in {w["name"] for w in hom.json("worktree", "ls", "--on", "h2")}
    hom("worktree", "rm", "--on", "h1", tree)
    assert tree not in {w["name"] for w in hom.json("worktree", "ls", "--on", "h1")}
