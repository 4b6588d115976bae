"""Persisted missions: `run --persist` against a transient `run`, and a boot bringing back 50
persisted missions (10 of them claude sessions, the real CLI against the tests' fake API,
resumed with their conversation) against the same manager starting 50 plain enabled units.

The boot is the private host's (`host down` / `host up`), which every mission on the machine
shares: it runs only where overmind runs the private host, with OVERMIND_TEST_HOST_RECOVERY=1
(under the exclusive host lock, as the disruptive tests). Each side gets a boot of its own; the
time is the manager's start to the last of the 50 units' ActiveEnterTimestamp, as systemd
recorded them (no polling in the measure).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from benchmarks.common import cleanup, environment, median_ms, overmind_argv, report, run

STARTS = 10
BOOTED = 50
SESSIONS = 10  # of the BOOTED: claude sessions resumed with their conversation


def persist_start(env: dict[str, str]) -> None:
    counter = iter(range(10**6))

    def start(*flags: str) -> None:
        run(overmind_argv("run", "--name", f"p{next(counter)}", *flags, "exec sleep 600"), env)

    transient = median_ms(lambda: start(), STARTS)
    persisted = median_ms(lambda: start("--persist"), STARTS)
    report("run --persist (unit file, enabled, started)", persisted, transient, "run (transient unit)")
    run(overmind_argv("stop", "--all"), env)


def _plain_units(env: dict[str, str], count: int) -> list[str]:
    """`count` plain unit files (sleep), enabled under default.target: what systemd starts at boot."""
    from overmind.systemd.unitfiles import unit_dir

    directory, wants = unit_dir(), unit_dir() / "default.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    names = [f"{env['OVERMIND_UNIT_PREFIX']}-plain{n}.service" for n in range(count)]
    for name in names:
        (directory / name).write_text("[Service]\nExecStart=/bin/sleep 600\n\n[Install]\nWantedBy=default.target\n")
        (wants / name).symlink_to(f"../{name}")
    return names


def _remove_plain(names: list[str]) -> None:
    from overmind.systemd.unitfiles import unit_dir

    for name in names:
        (unit_dir() / "default.target.wants" / name).unlink(missing_ok=True)
        (unit_dir() / name).unlink(missing_ok=True)


def _boot_ms(env: dict[str, str], units: list[str]) -> float:
    """A private host's reboot; the manager's start to the last of `units` active (ms)."""
    run(overmind_argv("host", "down"), env)
    run(overmind_argv("host", "up"), env)
    # Monotonic microseconds: the wall-clock forms are whole seconds.
    shown = subprocess.run(["systemctl", "--user", "show", "--property=ActiveEnterTimestampMonotonic", "--", *units],
                           env=env, capture_output=True, text=True, check=True).stdout
    started = subprocess.run(["systemctl", "--user", "show", "--property=UserspaceTimestampMonotonic"],
                             env=env, capture_output=True, text=True, check=True).stdout
    stamps = [int(value) for line in shown.splitlines() if line.startswith("ActiveEnterTimestampMonotonic=")
              and (value := line.split("=", 1)[1]) not in ("", "0")]
    if len(stamps) != len(units):
        raise SystemExit(f"only {len(stamps)} of {len(units)} units came back at the boot")
    return (max(stamps) - int(started.strip().split("=", 1)[1])) / 1000


class Sessions(NamedTuple):
    names: list[str]
    env: dict[str, str]  # the claude CLI's environment (the fake API's address)
    home: str
    cwd: str


def _sessions(env: dict[str, str], count: int, url: str) -> Sessions:
    """`count` persisted claude sessions (the real CLI, the fake API at `url`), each told a fact
    and one more turn, so a boot has a conversation to resume; none without the CLI."""
    from benchmarks.sessions import CLAUDE, claude_env

    if not CLAUDE.exists():
        return Sessions([], env, "", "")
    env, home, cwd = claude_env(env, url)
    names = [f"s{n}" for n in range(count)]
    passed = ("PATH", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "CLAUDE_CODE_MAX_RETRIES",
              "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC")
    given = ["-e", f"HOME={home}", *(arg for key in passed for arg in ("-e", f"{key}={env[key]}"))]
    for name in names:
        run(overmind_argv("run", "--provider", "claude", "--type", "session", "--name", name, "--cwd", cwd, *given,
                          f"the fact of {name}"), env)
        run(overmind_argv("send", name, "--wait", "note it down"), env)
    return Sessions(names, env, home, cwd)


def _clis_alone(sessions: Sessions) -> float:
    """The sessions' own CLIs resuming their conversations at once, started here directly (no
    systemd, no overmind): until each answers the handshake the wrapper waits for (ms)."""
    from overmind.providers import AgentOptions, get

    provider = get("claude")
    ids = [json.loads(subprocess.run(overmind_argv("info", name, "--json"), env=sessions.env, capture_output=True,
                                     text=True, check=True).stdout)["session_id"] for name in sessions.names]

    def resumed(session_id: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(provider.session_argv(AgentOptions(), session_id, resume=True), cwd=sessions.cwd,
                                env=sessions.env | {"HOME": sessions.home}, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdin is not None and proc.stdout is not None
        request_id, line = provider.handshake(AgentOptions(), session_id, True) or ("", b"")
        proc.stdin.write(line)
        proc.stdin.flush()
        while json.loads(proc.stdout.readline() or b'{"type": "end"}').get("type") not in ("control_response", "end"):
            pass
        return proc

    start = time.perf_counter()
    with ThreadPoolExecutor(len(ids)) as pool:
        procs = list(pool.map(resumed, ids))
    took = (time.perf_counter() - start) * 1000
    for proc in procs:
        proc.kill()
        proc.wait()
    return took


def _resumed(env: dict[str, str], name: str, histories: list[list[str]]) -> None:
    """The session answers after the boot, and the API is sent the turns from before it."""
    run(overmind_argv("send", name, "--wait", "what was the fact"), env)
    if histories[-1] != [f"the fact of {name}", "note it down", "what was the fact"]:
        raise SystemExit(f"session {name} did not resume its conversation: the API was sent {histories[-1]}")


def boot(env: dict[str, str]) -> None:
    from overmind.host import pid1_is_systemd
    from tests.fake_anthropic import FakeAnthropic

    if pid1_is_systemd() or os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1":
        print(f"  {'boot: 50 persisted missions back':<44} skipped (needs the private host and"
              " OVERMIND_TEST_HOST_RECOVERY=1)")
        return
    plain = _plain_units(env, BOOTED)
    try:
        theirs = _boot_ms(env, plain)
    finally:
        _remove_plain(plain)
        subprocess.run(["systemctl", "--user", "stop", *plain], env=env, capture_output=True)
        subprocess.run(["systemctl", "--user", "daemon-reload"], env=env, capture_output=True)
    report(f"boot: {BOOTED} persisted tasks running", _tasks_boot_ms(env, BOOTED, [], "t"), theirs,
           f"{BOOTED} plain enabled units")
    fake = FakeAnthropic().start()
    try:
        # A session's unit is active once its CLI took the resumed conversation and waits for input.
        sessions = _sessions(env, SESSIONS, fake.url)
        if not sessions.names:
            print(f"  {'boot: with sessions':<44} skipped (the claude CLI is not installed: scripts/install-claude.sh)")
            return
        clis = _clis_alone(sessions)
        ours = _tasks_boot_ms(env, BOOTED - len(sessions.names), sessions.names, "b")
        _resumed(env, sessions.names[0], fake.histories)
    finally:
        run(overmind_argv("stop", "--all"), env)
        fake.stop()
    title = f"boot: {BOOTED} persisted, {len(sessions.names)} sessions resumed"
    report(title, ours, theirs, f"{BOOTED} plain enabled units")
    report(title, ours, clis, f"{len(sessions.names)} claude CLIs resumed directly")


def _tasks_boot_ms(env: dict[str, str], count: int, also: list[str], prefix: str) -> float:
    """`count` persisted tasks (and the missions `also` named), booted back; the tasks are stopped
    again, unless there are others (their caller stops everything)."""
    tasks = [f"{prefix}{n}" for n in range(count)]
    for name in tasks:
        run(overmind_argv("run", "--name", name, "--persist", "exec sleep 600"), env)
    try:
        return _boot_ms(env, [f"{env['OVERMIND_UNIT_PREFIX']}@{name}.service" for name in [*tasks, *also]])
    finally:
        if not also:
            run(overmind_argv("stop", *tasks), env)


def main() -> None:
    print("persisted missions (ratio: overmind / the baseline)")
    env = environment()
    try:
        persist_start(env)
        boot(env)
    finally:
        cleanup(env)


if __name__ == "__main__":
    main()
