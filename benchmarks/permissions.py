"""Permission requests, with the real claude CLI against the tests' fake API: how soon a request is
seen by a person, and how soon the tool runs once a person answers.

- request → visible: from the wrapper taking the CLI's `can_use_tool` line (the request's
  `asked_at`) to the end of a `ps --json` started as soon as the request is in the store (seen
  here by reading the store every 2 ms), and to the dashboard's change stream (`/api/v1/events`)
  carrying it;
- approve → tool runs: from `overmind approve` starting (and from the control layer's call, as
  the dashboard and the TUI make it) to the tool's effect (a file the Bash call touches), against
  the same CLI answered straight on its stdin by this script, with `overmind --version` (the floor
  of any command line) measured beside.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import cleanup, environment, overmind_argv
from benchmarks.sessions import CLAUDE, claude_env

ROUNDS = 10
NAME = "bench-permissions"


def _wait_file(path: Path, timeout: float = 30.0) -> float:
    deadline = time.time() + timeout
    while not path.exists():
        if time.time() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.001)
    return time.time()


def direct_answers(env: dict[str, str], home: str, cwd: str) -> list[float]:
    """The CLI answered straight on its stdin: from the answer written to the tool's effect."""
    from overmind.providers import AgentOptions, get

    provider: Any = get("claude")
    argv = provider.session_argv(AgentOptions(), str(uuid.uuid4()), resume=False)
    proc = subprocess.Popen(argv, cwd=cwd, env=env | {"HOME": home}, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps({"type": "control_request", "request_id": "init",
                                 "request": {"subtype": "initialize"}}).encode() + b"\n")
    samples = []
    for n in range(ROUNDS):
        proc.stdin.write(provider.user_message(f"permit direct{n}", str(uuid.uuid4())))
        proc.stdin.flush()
        while (line := json.loads(proc.stdout.readline())).get("type") != "control_request" or \
                line["request"].get("subtype") != "can_use_tool":
            pass
        ask = provider.parse(json.dumps(line)).permission
        start = time.time()
        proc.stdin.write(provider.permission_answer(ask, True, "", ()))
        proc.stdin.flush()
        samples.append((_wait_file(Path(cwd) / f"direct{n}") - start) * 1000)
        while json.loads(proc.stdout.readline()).get("type") != "result":
            pass
    proc.stdin.close()
    proc.wait()
    return samples


class Stream:
    """The dashboard's change stream, read in a thread: when each permission request was told."""

    def __init__(self, url: str, token: str) -> None:
        self.asked: dict[int, float] = {}
        request = urllib.request.Request(f"{url}/api/v1/events", headers={"Authorization": f"Bearer {token}"})
        self.response = urllib.request.urlopen(request, timeout=120)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self.response:
            line = raw.decode().strip()
            if line.startswith("data: "):
                change = json.loads(line[6:])
                if change.get("type") == "permission" and change.get("event") == "asked":
                    self.asked.setdefault(change["permission"]["request"], time.time())


def _ps_shows_it(env: dict[str, str]) -> float:
    """One `ps --json`: when it ended, having shown the mission needing a person."""
    out = subprocess.run(overmind_argv("ps", "--json"), env=env, capture_output=True, text=True).stdout
    ended = time.time()
    assert any(row["name"] == NAME and (row["status_text"] or "").startswith("needs you") for row in json.loads(out))
    return ended


def _floor(env: dict[str, str]) -> float:
    start = time.time()
    subprocess.run(overmind_argv("--version"), env=env, check=True, stdout=subprocess.DEVNULL)
    return (time.time() - start) * 1000


def _dashboard(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(overmind_argv("dashboard", "--port", "0"), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    found = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", proc.stdout.readline())
    assert found, "the dashboard printed no URL"
    return proc, found[1], found[2]


def through_overmind(env: dict[str, str], home: str, cwd: str) -> dict[str, list[float]]:
    from overmind.control import permissions
    from overmind.store import Store
    from overmind.store.permissions import PermissionStore
    from overmind.wrapper.channel import request

    subprocess.run(overmind_argv("run", "--provider", "claude", "--type", "session", "--name", NAME, "--no-memory",
                                 "--cwd", cwd, "-e", f"HOME={home}"), env=env, check=True, stdout=subprocess.DEVNULL)
    os.environ.update({k: env[k] for k in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR")})
    store = Store()
    mission = store.get(NAME)
    assert mission is not None
    dashboard, url, token = _dashboard(env)
    stream = Stream(url, token)
    found: dict[str, list[float]] = {"ps": [], "page": [], "approve": [], "control": [], "floor": []}
    try:
        for n in range(ROUNDS):
            request(mission.id, NAME, "send", text=f"permit round{n}")
            while not (asking := [r for r in PermissionStore(store).of_mission(mission.id) if r.pending]):
                time.sleep(0.002)
            record = asking[0]
            found["ps"].append((_ps_shows_it(env) - record.asked_at) * 1000)
            deadline = time.time() + 30
            while record.number not in stream.asked and time.time() < deadline:
                time.sleep(0.002)
            found["page"].append((stream.asked[record.number] - record.asked_at) * 1000)
            start = time.time()
            if n % 2:  # every other answer as the dashboard and the TUI give it: the control layer's call
                permissions.approve(NAME, str(record.number), by="api")
                found["control"].append((_wait_file(Path(cwd) / f"round{n}") - start) * 1000)
            else:
                approving = subprocess.Popen(overmind_argv("approve", NAME, str(record.number)), env=env,
                                             stdout=subprocess.DEVNULL)
                found["approve"].append((_wait_file(Path(cwd) / f"round{n}") - start) * 1000)
                approving.wait()
            while len(store.events(mission.id, type="result")) < n + 1:
                time.sleep(0.01)
            found["floor"].append(_floor(env))
    finally:
        dashboard.terminate()
        dashboard.wait(30)
    return found


def _summary(samples: list[float]) -> str:
    return f"median {statistics.median(samples):6.0f} ms, max {max(samples):6.0f} ms"


def main() -> None:
    if not CLAUDE.exists():
        print("permissions: skipped (the claude CLI is not installed: scripts/install-claude.sh)")
        return
    from tests.fake_anthropic import FakeAnthropic

    fake = FakeAnthropic().start()
    env = environment()
    try:
        env, home, cwd = claude_env(env, fake.url)
        for n in range(ROUNDS):
            for which in ("round", "direct"):
                fake.on(f"permit {which}{n}", tool=("Bash", {"command": f"touch {which}{n}", "description": "t"}))
        direct = direct_answers(env, home, cwd)
        found = through_overmind(env, home, cwd)
        added = statistics.median(found["approve"]) - statistics.median(direct)
        print(f"permissions ({ROUNDS} requests, real claude CLI, fake API):")
        print(f"  request -> shown by a ps --json run then      {_summary(found['ps'])}   target <= 300 ms")
        print(f"  request -> the dashboard's change stream       {_summary(found['page'])}   target <= 300 ms")
        print(f"  overmind approve -> the tool's effect          {_summary(found['approve'])}   target <= 300 ms")
        print(f"  control-layer approve -> the tool's effect     {_summary(found['control'])}   (dashboard, TUI)")
        print(f"  the answer on the CLI's stdin -> its effect    {_summary(direct)}   (overmind approve adds"
              f" {added:.0f} ms; overmind --version alone: {statistics.median(found['floor']):.0f} ms)")
    finally:
        cleanup(env)
        fake.stop()


if __name__ == "__main__":
    main()
