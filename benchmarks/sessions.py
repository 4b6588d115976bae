"""M1: what the session machinery costs, with the real claude CLI against the tests' fake API.

- send --wait against writing the same message to the CLI's stdin and reading its result: the
  round trip through the control socket and the wrapper, and the whole `overmind send --wait`
  process (interpreter start and CLI import included);
- the wrapper's resident memory per session mission;
- subscribe latency: from the wrapper reading an event off the agent's stdout to a subscriber
  receiving it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.common import cleanup, environment, overmind_argv

ROUNDS = 15
CLAUDE = Path(__file__).resolve().parents[1] / ".tools" / "node_modules" / ".bin" / "claude"


def claude_env(env: dict[str, str], url: str) -> tuple[dict[str, str], str, str]:
    home, cwd = tempfile.mkdtemp(prefix="om-bench-home-"), tempfile.mkdtemp(prefix="om-bench-work-")
    config = {"hasCompletedOnboarding": True, "customApiKeyResponses": {"approved": ["x"], "rejected": []}}
    Path(home, ".claude.json").write_text(json.dumps(config))
    return env | {"PATH": f"{CLAUDE.parent}:{env['PATH']}", "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": "x",
                  "CLAUDE_CODE_MAX_RETRIES": "0", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}, home, cwd


def direct_round_trips(env: dict[str, str], home: str, cwd: str) -> list[float]:
    """The same CLI and arguments the wrapper uses, fed and read here directly."""
    from overmind.providers import AgentOptions, get

    provider = get("claude")
    argv = provider.session_argv(AgentOptions(), str(uuid.uuid4()), resume=False)
    proc = subprocess.Popen(argv, cwd=cwd, env=env | {"HOME": home}, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    samples = []
    for n in range(ROUNDS + 1):
        start = time.perf_counter()
        proc.stdin.write(provider.user_message(f"direct {n}", str(uuid.uuid4())))
        proc.stdin.flush()
        while json.loads(proc.stdout.readline()).get("type") != "result":
            pass
        samples.append((time.perf_counter() - start) * 1000)
    proc.stdin.close()
    proc.wait()
    return samples[1:]  # the first turn also loads the conversation


def overmind_round_trips(env: dict[str, str], home: str, cwd: str) -> tuple[list[float], list[float], str]:
    from overmind.store import Store
    from overmind.wrapper.channel import request

    subprocess.run(overmind_argv("run", "--provider", "claude", "--type", "session", "--name", "bench",
                                 "--cwd", cwd, "-e", f"HOME={home}"), env=env, check=True, stdout=subprocess.DEVNULL)
    os.environ.update({k: env[k] for k in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR")})
    mission = Store().get("bench")
    assert mission is not None
    socket_samples, process_samples = [], []
    for n in range(ROUNDS + 1):
        start = time.perf_counter()
        request(mission.id, mission.name, "send", text=f"socket {n}", wait=True)
        socket_samples.append((time.perf_counter() - start) * 1000)
    for n in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run(overmind_argv("send", "bench", "--wait", f"process {n}"), env=env, check=True,
                       stdout=subprocess.DEVNULL)
        process_samples.append((time.perf_counter() - start) * 1000)
    return socket_samples[1:], process_samples, mission.id


def wrapper_rss_mb(env: dict[str, str]) -> float:
    from overmind.control.missions import get

    view = get("bench")
    with open(f"/proc/{view.to_json()['os_pid']}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def subscribe_latencies(mission_id: str) -> list[float]:
    """Wall-clock time from the wrapper storing an event (its `at`) to a subscriber reading it."""
    from overmind.store import Store
    from overmind.wrapper.channel import Channel, request

    store = Store()
    latencies: list[float] = []
    with Channel(mission_id, "bench") as channel:
        channel.write({"op": "subscribe", "after": store.last_seq(mission_id)})
        for n in range(ROUNDS):
            request(mission_id, "bench", "send", text=f"subscribed {n}")
            while True:
                seq, _, line = channel.read_line().partition(b"\t")
                arrived = time.time()
                event = store.event(mission_id, int(seq))
                assert event is not None
                latencies.append((arrived - event.at) * 1000)
                if json.loads(line).get("type") == "result":
                    break
    return latencies


def main() -> None:
    if not CLAUDE.exists():
        print("sessions: skipped (the claude CLI is not installed: scripts/install-claude.sh)")
        return
    from tests.fake_anthropic import FakeAnthropic

    fake = FakeAnthropic().start()
    env = environment()
    try:
        env, home, cwd = claude_env(env, fake.url)
        direct = statistics.median(direct_round_trips(env, home, cwd))
        via_socket, via_process, mission_id = overmind_round_trips(env, home, cwd)
        socket_ms, process_ms = statistics.median(via_socket), statistics.median(via_process)
        print(f"sessions (medians of {ROUNDS}, real claude CLI, fake API):")
        print(f"  send --wait round trip, control socket     {socket_ms:8.1f} ms   straight to the CLI's stdin"
              f"      {direct:8.1f} ms   added {socket_ms - direct:6.1f} ms")
        print(f"  overmind send --wait, whole process        {process_ms:8.1f} ms   straight to the CLI's stdin"
              f"      {direct:8.1f} ms   added {process_ms - direct:6.1f} ms")
        print(f"  wrapper resident memory per session        {wrapper_rss_mb(env):8.1f} MB")
        latencies = subscribe_latencies(mission_id)
        print(f"  subscribe: event stored -> subscriber      {statistics.median(latencies):8.2f} ms   "
              f"(p95 {sorted(latencies)[int(len(latencies) * 0.95)]:.2f} ms over {len(latencies)} events)")
    finally:
        cleanup(env)
        fake.stop()


if __name__ == "__main__":
    main()
