"""M4: isolation. A worktree, a run with a worktree and ports, a mission with a Podman service,
and stopping a mission with two services, each against the raw git / systemd / podman calls
they stand on, measured in turns so that both sides see the same machine."""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import cleanup, environment, overmind_argv, report, run
from overmind.isolation import ready
from overmind.systemd import unit_exec
from tests.isolation.images import image

BIG = 10_000  # files in the repository worktree creation is measured on
REPEAT = 9
HTTPD = ["httpd", "-f", "-p", "8080", "-h", "/www"]
IDENTITY = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "b",
            "GIT_COMMITTER_EMAIL": "b@example.com"}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env={**os.environ, **IDENTITY})


def _repo(path: Path, files: int, contract: str = "") -> Path:
    path.mkdir(parents=True)
    _git(path, "init", "--quiet", "--initial-branch=main")
    for index in range(files):
        folder = path / f"d{index // 100}"
        folder.mkdir(exist_ok=True)
        (folder / f"f{index % 100}.txt").write_text(f"line {index}\n")
    if contract:
        (path / ".overmind.yml").write_text(contract)
    _git(path, "add", "--all")
    _git(path, "commit", "--quiet", "-m", "initial")
    return path


def _timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _turns(ours: Callable[[int], None], theirs: Callable[[int], None], repeat: int,
           between: Callable[[int], None] | None = None) -> tuple[float, float]:
    """Medians of both, measured one after the other, `repeat` times; `between` tidies up untimed."""
    mine, raw = [], []
    for turn in range(repeat):
        mine.append(_timed(lambda t=turn: ours(t)))
        raw.append(_timed(lambda t=turn: theirs(t)))
        if between:
            between(turn)
    return statistics.median(mine), statistics.median(raw)


def _answers(port: int) -> None:
    socket.create_connection(("127.0.0.1", port), timeout=5).close()


def _free_port(start: int) -> int:
    from overmind.isolation.ports import is_free

    return next(port for port in range(start, start + 1000) if is_free(port))


def creation(env: dict[str, str], root: Path) -> None:
    repo = _repo(root / "big", BIG)
    ours, theirs = _turns(lambda t: run(overmind_argv("worktree", "add", f"o{t}", "--cwd", str(repo)), env),
                          lambda t: _git(repo, "worktree", "add", "--quiet", "-b", f"g{t}",
                                         str(repo / ".overmind" / "worktrees" / f"g{t}"), "HEAD"), REPEAT)
    report(f"worktree add ({BIG} files)", ours, theirs, "git worktree add")


def agent_run(env: dict[str, str], root: Path, port_range: str) -> None:
    repo = _repo(root / "small", 100, f"ports: [api]\nisolation:\n  port_range: {port_range}\n")

    def ours(turn: int) -> None:
        run(overmind_argv("run", "--worktree", "--name", f"r{turn}", "--cwd", str(repo), "sleep 60"), env)

    def theirs(turn: int) -> None:
        _git(repo, "worktree", "add", "--quiet", "-b", f"p{turn}", str(repo / ".overmind" / "worktrees" / f"p{turn}"))
        run(overmind_argv("run", "--no-worktree", "--name", f"p{turn}", "--cwd", str(repo), "sleep 60"), env)

    def tidy(turn: int) -> None:
        run(overmind_argv("stop", f"r{turn}", f"p{turn}"), env)

    mine, raw = _turns(ours, theirs, REPEAT, tidy)
    report("run --worktree, 2 ports (100 files)", mine, raw, "git worktree add + run --no-worktree")


def service(env: dict[str, str], root: Path, port_range: str, busybox: str) -> None:
    contract = (f"isolation:\n  port_range: {port_range}\nservices:\n  db:\n    docker: {busybox}\n"
                "    port: 8080\n")
    repo = _repo(root / "service", 10, contract)
    prefix = env["OVERMIND_UNIT_PREFIX"]
    probe = [sys.executable, "-I", "-S", os.path.abspath(ready.__file__)]

    def ours(turn: int) -> None:
        started = subprocess.run(overmind_argv("run", "--json", "--worktree", "--name", f"s{turn}", "--cwd", str(repo),
                                               "sleep 60"), env=env, capture_output=True, text=True, check=True)
        _answers(json.loads(started.stdout)["ports"]["DB_PORT"])

    def theirs(turn: int) -> None:
        port = _free_port(int(port_range.split("-")[1]) + 1)
        unit, mission = f"{prefix}-rawsvc-{turn}.service", f"{prefix}-rawmission-{turn}.service"
        container = ["podman", "run", "--detach", "--rm", "--replace", "--init", "--pull=never", "--sdnotify=conmon",
                     "--cgroups=split", "--log-driver=passthrough", f"--name={prefix}-raw-{turn}",
                     f"--publish=127.0.0.1:{port}:8080", busybox]
        # Started the way overmind starts it (unit_exec), or podman's split would move the user
        # manager on a hybrid host: the same ~10 ms on both sides.
        subprocess.run(["systemd-run", "--user", "--quiet", "--no-block", f"--unit={unit}", "-p", "Type=notify",
                        "-p", "NotifyAccess=all", "-p", "KillMode=mixed", "-p", "Delegate=yes", "-p",
                        "SuccessExitStatus=143", "-p", "StopWhenUnneeded=yes", "-p",
                        f"ExecStartPost={' '.join(probe)} --service db --timeout 60 --tcp {port}", "-p",
                        f"ExecStopPost={' '.join(unit_exec.helper('unless-clean', 'true'))}",
                        f"--setenv={unit_exec.ARGV_VARIABLE}={json.dumps(container)}",
                        f"--setenv={unit_exec.OWN_CGROUP}={unit}", "--", *unit_exec.helper("exec")],
                       env=env, check=True)
        subprocess.run(["systemd-run", "--user", "--quiet", f"--unit={mission}", "-p", f"BindsTo={unit}", "-p",
                        f"After={unit}", "--", "sleep", "60"], env=env, check=True)
        _answers(port)

    def tidy(turn: int) -> None:
        run(overmind_argv("stop", f"s{turn}"), env)
        subprocess.run(["systemctl", "--user", "stop", f"{prefix}-rawmission-{turn}.service",
                        f"{prefix}-rawsvc-{turn}.service"], env=env, capture_output=True)

    mine, raw = _turns(ours, theirs, REPEAT, tidy)
    report("run with a podman service, port answering", mine, raw, "systemd-run service + mission")


def stopping(env: dict[str, str], root: Path, port_range: str, busybox: str) -> None:
    contract = (f"isolation:\n  port_range: {port_range}\nservices:\n  web:\n    command: exec busybox httpd -f "
                f"-p $PORT -h .\n  db:\n    docker: {busybox}\n    port: 8080\n")
    repo = _repo(root / "stop", 10, contract)
    prefix = env["OVERMIND_UNIT_PREFIX"]

    def start(name: str) -> None:
        started = subprocess.run(overmind_argv("run", "--worktree", "--name", name, "--cwd", str(repo), "sleep 60"),
                                 env=env, capture_output=True, text=True)
        if started.returncode != 0:
            raise RuntimeError(f"run {name} failed: {started.stderr}")

    def ours(turn: int) -> None:
        run(overmind_argv("stop", f"x{turn}"), env)

    def theirs(turn: int) -> None:
        stopped = subprocess.run(["systemctl", "--user", "stop", f"{prefix}@y{turn}.service",
                                  f"{prefix}-svc@y{turn}.db.service", f"{prefix}-svc@y{turn}.web.service"],
                                 env=env, capture_output=True, text=True)
        if stopped.returncode != 0 and "not loaded" not in stopped.stderr:  # a service gone already is stopped
            lines = subprocess.run(["journalctl", "--no-pager", "-n", "40", "-o", "short-precise",
                                    f"SYSLOG_IDENTIFIER={prefix}-svc@y{turn}.web", "+",
                                    f"SYSLOG_IDENTIFIER={prefix}-svc@y{turn}.db", "+",
                                    f"SYSLOG_IDENTIFIER={prefix}@y{turn}"], capture_output=True, text=True).stdout
            raise RuntimeError(f"raw stop of y{turn} failed: {stopped.stderr.strip()}\n{lines}")

    mine, raw = [], []
    for turn in range(REPEAT):
        start(f"x{turn}")
        mine.append(_timed(lambda t=turn: ours(t)))
        start(f"y{turn}")
        raw.append(_timed(lambda t=turn: theirs(t)))
    report("stop, mission with 2 services", statistics.median(mine), statistics.median(raw),
           "systemctl stop of its 3 units")


LISTED = 200  # running missions in the listing benchmark, each in a worktree with 2 services
LISTING_SHELLS = 4
# Cheap services, so that 400 of them fit a 2-core machine: a sleeping process each, ready once
# it runs. What `ps` reads about them (units, leases, the run's record) is the same for any service.
SLEEPERS = "services:\n  web:\n    command: exec sleep 3600\n    ready: false\n" \
           "  worker:\n    command: exec sleep 3600\n    ready: false\n"


def _started(env: dict[str, str], argvs: list[list[str]]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def start(argv: list[str]) -> None:
        started = subprocess.run(argv, env=env, capture_output=True, text=True)
        if started.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[1:])} failed: {started.stderr}")

    with ThreadPoolExecutor(LISTING_SHELLS) as pool:
        list(pool.map(start, argvs))


def listing(env: dict[str, str], root: Path, port_range: str) -> None:
    """`ps --json` and `info` with 200 missions in worktrees (2 services each) against the same with
    200 plain missions, each fleet under a unit prefix and state directory of its own."""
    repo = _repo(root / "listing", 10, f"isolation:\n  port_range: {port_range}\n{SLEEPERS}")
    plain = environment()
    try:
        _started(env, [overmind_argv("run", "--worktree", "--name", f"w{n}", "--cwd", str(repo), "sleep 3600")
                       for n in range(LISTED)])
        _started(plain, [overmind_argv("run", "--no-worktree", "--name", f"p{n}", "--cwd", str(repo), "sleep 3600")
                         for n in range(LISTED)])
        mine, raw = _turns(lambda _: run(overmind_argv("ps", "--json"), env),
                           lambda _: run(overmind_argv("ps", "--json"), plain), REPEAT)
        report(f"ps --json, {LISTED} in worktrees, 2 services each", mine, raw, f"ps --json, {LISTED} plain")
        mine, raw = _turns(lambda _: run(overmind_argv("info", "--json", "w7"), env),
                           lambda _: run(overmind_argv("info", "--json", "p7"), plain), REPEAT)
        report("info --json of one in a worktree", mine, raw, "info --json of a plain one")
    finally:
        for fleet in (env, plain):
            subprocess.run(overmind_argv("stop", "--all"), env=fleet, capture_output=True)
        cleanup(plain)


def _remove_containers(prefix: str) -> None:
    listed = subprocess.run(["podman", "ps", "--all", "--quiet", f"--filter=name={prefix}-"], capture_output=True,
                            text=True)
    if listed.stdout.split():
        subprocess.run(["podman", "rm", "--force", *listed.stdout.split()], capture_output=True)


def main() -> None:
    print("isolation: worktrees, ports and Podman services")
    env = environment()
    busybox = image(HTTPD)
    base = 40000 + os.getpid() % 50 * 400  # each run leases ~80 ports; the raw pairs use those above
    port_range = f"{base}-{base + 199}"
    listed_base = 52000 + os.getpid() % 10 * 1000  # 2 ports for each of the listing's 200 worktrees
    with tempfile.TemporaryDirectory(prefix="overmind-bench-isolation-") as directory:
        root = Path(directory)
        try:
            creation(env, root)
            agent_run(env, root, port_range)
            service(env, root, port_range, busybox)
            stopping(env, root, port_range, busybox)
            listing(env, root, f"{listed_base}-{listed_base + 2 * LISTED + 99}")
        finally:
            cleanup(env)
            prefix = env["OVERMIND_UNIT_PREFIX"]
            for pattern in (f"{prefix}-svc@*.service", f"{prefix}-hold@*.service", f"{prefix}-raw*.service"):
                subprocess.run(["systemctl", "--user", "stop", pattern], env=env, capture_output=True)
            _remove_containers(prefix)


if __name__ == "__main__":
    main()
