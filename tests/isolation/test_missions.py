"""Missions in their own worktree with their own ports and Podman services, through the real CLI
against the real systemd user manager: services are units bound to the mission."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import EXAMPLES, Overmind, must
from tests.isolation.conftest import commit
from tests.isolation.images import image, stand_in, untag

pytestmark = [pytest.mark.systemd, pytest.mark.usefixtures("containers_cleaned")]

# Each container answers with the name of the worktree it belongs to.
WHO_ANSWERS = ["sh", "-c", "echo ${OVERMIND_WORKTREE_NAME} > /www/index.html; exec httpd -f -p 8080 -h /www"]


def contract(repo: Path, port_range: tuple[int, int], services: str, extra: str = "") -> None:
    commit(repo, {".overmind.yml": f"isolation:\n  port_range: {port_range[0]}-{port_range[1]}\n"
                                   f"services:\n{services}{extra}"}, "contract")


def db_service(command: list[str] | None = None, ready: str = "") -> str:
    busybox = image(["httpd", "-f", "-p", "8080", "-h", "/www"])
    return f"  db:\n    docker: {busybox}\n    port: 8080\n    command: {json.dumps(command or WHO_ANSWERS)}\n{ready}"


def containers(om: Overmind) -> list[str]:
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    listed = subprocess.run(["podman", "ps", "--all", "--format", "{{.Names}}",
                             f"--filter=label=io.overmind.prefix={prefix}"], capture_output=True, text=True)
    return sorted(listed.stdout.split())


def test_ten_missions_at_once_each_reach_their_own_service_and_stop_keeps_their_worktrees(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service())
    names = [f"{name}-{i}" for i in range(10)]
    agent = "busybox wget -qO- http://127.0.0.1:$DB_PORT/ > reached.txt; echo $PORT > port.txt; sleep 300"

    def start(mission: str) -> dict:
        return om.run(agent, "--name", mission, "--worktree", "--cwd", str(repo))

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(start, names))
    infos = [om.info(mission) for mission in names]
    paths = [Path(info["worktree"]["path"]) for info in infos]
    for mission, path in zip(names, paths, strict=True):
        assert must(lambda p=path: (p / "reached.txt").exists() and (p / "reached.txt").read_text(),
                    30, f"{mission} to reach its service").strip() == mission
    ports = [port for info in infos for port in info["ports"].values()]
    assert len(set(ports)) == 20 and all(port_range[0] <= port <= port_range[1] for port in ports)
    assert len([c for c in containers(om) if c.endswith("-db")]) >= 10
    om("stop", *names)
    assert not [c for c in containers(om) if any(c.endswith(f"-{m}-db") for m in names)]
    assert all(path.is_dir() and (path / "reached.txt").exists() for path in paths)
    assert all(om.info(m)["worktree"]["path"] == str(p) for m, p in zip(names, paths, strict=True))


def test_a_killed_agent_comes_back_in_the_same_worktree_with_the_same_ports_and_running_service(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service())
    om.run("echo up on $PORT; sleep 300", "--name", name, "--worktree", "--cwd", str(repo), "--restart", "on-failure")
    before = om.info(name)
    container = containers(om)
    subprocess.run(["kill", "-9", str(before["os_pid"])], check=True)
    after = must(lambda: (i := om.info(name))["restarts"] == 1 and i["status"] == "running" and i, 20, "a restart")
    assert (after["cwd"], after["ports"]) == (before["cwd"], before["ports"])
    assert after["services"][0]["state"] == "active" and containers(om) == container
    ids = subprocess.run(["podman", "ps", "--format", "{{.ID}} {{.RunningFor}}", f"--filter=name={container[0]}"],
                         capture_output=True, text=True).stdout.split("\n")
    assert len([line for line in ids if line]) == 1
    om("stop", name)


def test_a_service_that_never_gets_ready_keeps_the_mission_from_starting_and_shows_its_last_lines(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service(["sh", "-c", "echo loading the database; sleep 600"],
                                          "    ready:\n      timeout: 2s\n"))
    proc = om("run", "--name", name, "--worktree", "--cwd", str(repo), "sleep 300", check=False)
    assert proc.returncode == 1
    assert "service 'db' of worktree" in proc.stderr and "did not become ready" in proc.stderr
    assert "loading the database" in proc.stderr and "not ready after 2s" in proc.stderr
    assert name not in [m["name"] for m in om.json("ps")]
    assert not containers(om) or not [c for c in containers(om) if name in c]
    assert (repo / ".overmind" / "worktrees" / name).is_dir()  # the worktree stays


def test_an_unknown_image_or_a_broken_contract_is_one_file_line_error_and_creates_nothing(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, "  db:\n    docker: localhost/no-such-image:0\n    port: 5432\n")
    proc = om("run", "--name", name, "--worktree", "--cwd", str(repo), "true", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"overmind: {repo}/.overmind.yml:5: services.db.docker: image "
                                  "'localhost/no-such-image:0' is not on this machine")
    commit(repo, {".overmind.yml": "services:\n  db:\n    image: x\n"})
    proc = om("run", "--name", name, "--worktree", "--cwd", str(repo), "true", check=False)
    assert proc.stderr.splitlines()[0] == f"overmind: {repo}/.overmind.yml:3: services.db.image: unknown key"
    assert not (repo / ".overmind" / "worktrees" / name).exists()
    assert not om.systemctl("list-units", "--all", "--plain", f"*{name}*").stdout.count(name)


def test_setup_runs_once_before_the_agent_with_its_output_in_the_journal(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service(), "setup:\n  - echo installing on $DB_PORT\n  - echo done >> setup.log\n")
    om.run("cat setup.log > seen.txt; sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    path = Path(om.info(name)["worktree"]["path"])
    assert must(lambda: (path / "seen.txt").exists() and (path / "seen.txt").read_text()) == "done\n"
    port = om.info(name)["ports"]["DB_PORT"]
    assert must(lambda: {"+ echo installing on $DB_PORT", f"installing on {port}"} <= set(
        om.logs(name, "--service", "setup")))
    om.run("sleep 300", "--name", f"{name}-2", "--worktree-name", name, "--cwd", str(repo))
    om("stop", name, f"{name}-2")
    om.run("sleep 300", "--name", f"{name}-3", "--worktree-name", name, "--cwd", str(repo))  # all gone meanwhile
    assert (path / "setup.log").read_text() == "done\n"
    om("stop", f"{name}-3")


def test_ps_info_and_logs_show_the_worktree_its_ports_and_its_services(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service(["sh", "-c", "echo db says hello; exec httpd -f -p 8080 -h /www"]))
    om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    row = next(r for r in om.json("ps") if r["name"] == name)
    assert row["worktree"]["name"] == name and row["branch"] == f"overmind/{name}"
    assert set(row["ports"]) == {"DB_PORT", "PORT"}
    assert [(s["name"], s["kind"], s["state"]) for s in row["services"]] == [("db", "docker", "active")]
    human = om("info", name).stdout
    assert f"branch: overmind/{name} (from main)" in human and "services: db (active, port" in human
    assert "db says hello" in must(lambda: om.logs(name, "--service", "db"))
    listed = om.json("worktree", "ls")
    assert next(w for w in listed if w["name"] == name)["mission"] == name
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    units = om.systemctl("list-units", "--plain", "--no-legend", f"{prefix}*{name}*").stdout
    assert f"{prefix}@{name}.service" in units and f"{prefix}-svc@{name}.db.service" in units
    om("stop", name)


def test_a_named_volume_outlives_the_containers_and_goes_with_worktree_rm(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    keep = ["sh", "-c", "date >> /data/starts; cp /data/starts /www/index.html; exec httpd -f -p 8080 -h /www"]
    contract(repo, port_range, db_service(keep) + "    volumes: [data:/data]\n")
    agent = "busybox wget -qO- http://127.0.0.1:$DB_PORT/ > starts.txt; sleep 300"
    for _ in range(2):
        om.run(agent, "--name", name, "--worktree", "--cwd", str(repo))
        starts = Path(om.info(name)["worktree"]["path"]) / "starts.txt"
        must(lambda s=starts: s.exists() and s.read_text())
        om("stop", name)
    assert len(starts.read_text().splitlines()) == 2  # the second container saw the first one's data
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    assert subprocess.run(["podman", "volume", "exists", f"{prefix}-{name}-data"]).returncode == 0
    om("worktree", "rm", "--force", name)
    assert subprocess.run(["podman", "volume", "exists", f"{prefix}-{name}-data"]).returncode == 1


def test_worktree_rm_refuses_while_a_mission_works_in_it_and_a_plain_command_gets_no_worktree(
        om: Overmind, name: str, repo: Path) -> None:
    om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    proc = om("worktree", "rm", "--force", name, check=False)
    assert proc.returncode == 1 and f"is in use by {name}" in proc.stderr
    om("stop", name)
    om("worktree", "rm", name)
    plain = om.run("pwd", "--name", f"{name}-plain", "--cwd", str(repo))
    info = om.info(plain["name"])
    assert info["cwd"] == str(repo) and info["worktree"] is None and info["ports"] == {}


def test_the_prd_example_runs_unchanged_with_stand_in_images(om: Overmind, name: str, repo: Path,
                                                             tmp_path: Path) -> None:
    commit(repo, {".overmind.yml": (EXAMPLES / "overmind_prd.yml").read_text()})
    tagged = [stand_in("postgres:16", 5432), stand_in("redis:7", 6379)]
    try:
        if None in tagged:
            pytest.skip("real postgres:16 or redis:7 images are on this machine: they are not shadowed")
        tools = tmp_path / "bin"
        tools.mkdir()
        bundle = tools / "bundle"  # `bundle exec rails s -p $PORT` serves on that port
        bundle.write_text('#!/bin/sh\nexec busybox httpd -f -p "$5" -h .\n')
        bundle.chmod(0o755)
        ruby = Overmind({**om.env, "PATH": f"{tools}:{om.env['PATH']}"})
        ruby.run("env | grep -E '^[A-Z_]*PORT=' | sort > ports.txt; sleep 300", "--name", name, "--worktree",
                 "--cwd", str(repo))
        info = ruby.info(name)
        ports = info["ports"]
        assert set(ports) == {"PORT", "WEB_PORT", "DB_PORT", "CACHE_PORT"} and ports["PORT"] == ports["WEB_PORT"]
        assert all(3100 <= port <= 3999 for port in ports.values())
        assert [(s["name"], s["state"]) for s in info["services"]] == [
            ("web", "active"), ("db", "active"), ("cache", "active")]
        for port in set(ports.values()):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        seen = Path(info["worktree"]["path"]) / "ports.txt"
        assert must(lambda: seen.exists() and seen.read_text()).split() == sorted(
            f"{variable}={port}" for variable, port in ports.items())
        ruby("stop", name)
    finally:
        for image_name in tagged:
            if image_name:
                untag(image_name)


def test_without_podman_services_are_a_clear_error_and_missions_without_them_still_run(
        om: Overmind, name: str, repo: Path, tmp_path: Path, port_range: tuple[int, int]) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("git", "systemd-run", "systemctl", "journalctl", "sh", "sleep"):
        (tools / tool).symlink_to(shutil.which(tool) or tool)
    without = Overmind({**om.env, "PATH": f"{Path(sys.executable).parent}:{tools}"})
    contract(repo, port_range, db_service())
    proc = without("run", "--name", name, "--worktree", "--cwd", str(repo), "sleep 300", check=False)
    assert proc.returncode == 1 and "podman is not installed" in proc.stderr
    assert "scripts/install-podman.sh" in proc.stderr
    commit(repo, {".overmind.yml": f"isolation:\n  port_range: {port_range[0]}-{port_range[1]}\n"})
    without.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    assert without.info(name)["status"] == "running" and set(without.info(name)["ports"]) == {"PORT"}
    without("stop", name)


def test_a_container_on_host_loopback_reaches_what_listens_on_the_hosts_127_0_0_1(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    wait_for_db = ("n=0; until echo | nc -w 1 10.0.2.2 ${DB_PORT} >/dev/null 2>&1; do n=$$((n+1)); "
                   "[ $$n -gt 100 ] && break; sleep 0.1; done; "
                   "if [ $$n -le 100 ]; then echo reached; else echo missed; fi > /www/index.html; "
                   "exec httpd -f -p 8080 -h /www")
    probe = f"  probe:\n    docker: {image(['true'])}\n    port: 8080\n    network: host-loopback\n" \
            f"    command: {json.dumps(['sh', '-c', wait_for_db])}\n"
    contract(repo, port_range, db_service() + probe)
    om.run("busybox wget -qO- http://127.0.0.1:$PROBE_PORT/ > probe.txt; sleep 300", "--name", name, "--worktree",
           "--cwd", str(repo))
    seen = Path(om.info(name)["worktree"]["path"]) / "probe.txt"
    assert must(lambda: seen.exists() and seen.read_text(), 30, "the probe's answer").strip() == "reached"
    om("stop", name)


def test_a_mission_waiting_for_its_setup_runs_unchanged_by_a_reload_and_its_worktree_cannot_go(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    commit(repo, {".overmind.yml": f"isolation:\n  port_range: {port_range[0]}-{port_range[1]}\n"
                                   "setup: [sleep 2]\n"})
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = pool.submit(om.run, "echo port=$PORT; echo done > done.txt; sleep 300", "--name", name,
                              "--worktree", "--cwd", str(repo))
        must(lambda: om.systemctl("is-active", f"{om.env['OVERMIND_UNIT_PREFIX']}-setup@{name}.service").stdout
             .strip() == "activating", what="the setup to run")
        om.systemctl("daemon-reload")
        refused = om("worktree", "rm", "--force", name, check=False)  # the mission's start job is queued
        started.result()
    assert refused.returncode == 1 and "is in use by" in refused.stderr
    port = om.info(name)["ports"]["PORT"]
    assert must(lambda: om.logs(name), 30, "its line in the journal") == [f"port={port}"]
    om("stop", name)


def test_restart_of_a_stopped_mission_brings_it_back_in_its_worktree_with_its_ports_and_services(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service())
    om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    before = om.info(name)
    om("stop", name)
    assert om.info(name)["services"][0]["state"] == "inactive"
    om("restart", name)
    after = om.info(name)
    assert (after["status"], after["cwd"], after["ports"]) == ("running", before["cwd"], before["ports"])
    assert after["services"][0]["state"] == "active"
    om("stop", name)


def test_missions_started_at_once_in_one_named_worktree_share_it_its_ports_and_its_container(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service())
    names = [f"{name}-{i}" for i in range(3)]

    def start(mission: str) -> dict:
        return om.run("sleep 300", "--name", mission, "--worktree-name", name, "--cwd", str(repo))

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(start, names))
    infos = [om.info(mission) for mission in names]
    assert {info["worktree"]["name"] for info in infos} == {name}
    assert all(info["ports"] == infos[0]["ports"] for info in infos)
    assert [c for c in containers(om) if c.endswith(f"-{name}-db")] == [f"{om.env['OVERMIND_UNIT_PREFIX']}-{name}-db"]
    om("stop", names[0])
    assert om.info(names[1])["services"][0]["state"] == "active"  # the others still work with it
    om("stop", *names[1:])
    assert not [c for c in containers(om) if c.endswith(f"-{name}-db")]


def _manager_cgroups(om: Overmind, unit: str) -> str:
    """/proc/<user manager>/cgroup, found through a unit's process ($MANAGERPID in its environment)."""
    pid = om.unit_property(unit, "MainPID")
    with open(f"/proc/{pid}/environ", "rb") as f:
        manager = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)[b"MANAGERPID"]
    return Path(f"/proc/{manager.decode()}/cgroup").read_text()


def test_starting_containers_leaves_the_user_managers_own_cgroups_alone(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, db_service())
    prefix = om.env["OVERMIND_UNIT_PREFIX"]
    om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    before = _manager_cgroups(om, f"{prefix}@{name}.service")
    om("stop", name)
    for _ in range(2):
        om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
        assert _manager_cgroups(om, f"{prefix}@{name}.service") == before
        om("stop", name)
