"""What the wrapper costs per agent CLI (claude, codex, gemini), the real CLIs against the tests' fake APIs.

- per event: the wrapper's own work on each line the CLI prints (the provider reads it, the event
  is stored, its lines go to the journal, subscribers are handed it), on recorded sessions;
- the wrapper's resident memory while it holds a session of each CLI;
- `send --wait` through the control socket against the same message written straight to the
  CLI's stdin in its own protocol (the provider's encoding, read back until the turn ends).

Targets (docs/benchmarks.md): <= 1 ms per event, <= 25 MB, <= 20 ms added to a turn.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import cleanup, environment, overmind_argv

ROUNDS = 10
DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
RECORDED = {"claude": "claude-session.jsonl", "codex": "codex-app-session.jsonl", "gemini": "gemini-acp-session.jsonl"}


def per_event_us(provider_name: str, store_dir: str) -> float:
    """Median microseconds of the wrapper's work on one line, over a recorded session's lines."""
    from overmind.providers import get
    from overmind.store import Mission, Store
    from overmind.wrapper.journald import JournalWriter

    os.environ["OVERMIND_STATE_DIR"] = store_dir
    store = Store()
    mission_id = uuid.uuid4().hex[:8]
    store.add(Mission(mission_id, f"bench-{mission_id}", "u", "session", provider_name, "", "/", None, {},
                      time.time(), None, None))
    journal = JournalWriter(f"overmind-bench-{provider_name}")
    lines = (DATA / RECORDED[provider_name]).read_text().splitlines()
    samples = []
    for _ in range(20):
        provider = get(provider_name)
        for n in range(1, 4):  # the recording's messages, as if sent
            provider.user_message("x", f"aaaaaaaa-0000-4000-8000-00000000000{n}")
        for line in lines:
            start = time.perf_counter()
            event = provider.parse(line)
            if event is not None and event.keep:
                stored = event.stored(line)
                seq = store.add_event(mission_id, time.time(), event.type, stored)
                for text in event.lines:
                    journal.write(text, OVERMIND_EVENT=seq)
            samples.append((time.perf_counter() - start) * 1e6)
    return statistics.median(samples)


class Direct:
    """The wrapper's command for the CLI, driven here in its own protocol (the provider's encoding)."""

    def __init__(self, provider_name: str, env: dict[str, str], agent: Any) -> None:
        from overmind.providers import AgentOptions, get

        self.provider = provider = get(provider_name)
        options = AgentOptions(model="gemini-2.5-flash") if provider_name == "gemini" else AgentOptions()
        session_id = provider.new_session_id() or ""
        self.proc = subprocess.Popen(provider.session_argv(options, session_id, resume=False), cwd=agent.cwd,
                                     env=env | {"HOME": str(agent.home)}, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        here = os.getcwd()
        os.chdir(agent.cwd)  # the handshake names the working directory, as in the unit
        try:
            handshake = provider.handshake(options, session_id or None, False)
        finally:
            os.chdir(here)
        if handshake is not None:
            self.write(handshake[1])
            while (event := self.read()) is None or event.reply_to != handshake[0]:
                pass

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read(self) -> Any:
        assert self.proc.stdout is not None
        event = self.provider.parse(self.proc.stdout.readline().decode())
        if event is not None and event.respond:
            self.write(event.respond)
        return event

    def turn(self, text: str) -> None:
        self.write(self.provider.user_message(text, str(uuid.uuid4())))
        while (event := self.read()) is None or event.result is None:
            pass

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def round_trips(provider_name: str, env: dict[str, str], agent: Any) -> tuple[list[float], list[float], float]:
    """send --wait through the control socket and the same turn straight to a CLI of our own, taken
    in turns (a busy machine slows both alike), and the wrapper's resident memory after."""
    from overmind.control.missions import get
    from overmind.store import Store
    from overmind.wrapper.channel import request

    name = f"bench-{provider_name}"
    subprocess.run(overmind_argv("run", "--provider", provider_name, "--type", "session", "--name", name,
                                 "--no-memory", "--cwd", str(agent.cwd), "-e", f"HOME={agent.home}", *agent.options),
                   env=env, check=True, stdout=subprocess.DEVNULL)
    os.environ.update({k: env[k] for k in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR")})
    mission = Store().get(name)
    assert mission is not None
    direct = Direct(provider_name, env, agent)
    via_socket, straight = [], []
    try:
        for n in range(ROUNDS + 1):  # the first turn of each warms its CLI up
            start = time.perf_counter()
            request(mission.id, mission.name, "send", text=f"socket {n}", wait=True)
            via_socket.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            direct.turn(f"direct {n}")
            straight.append((time.perf_counter() - start) * 1000)
    finally:
        direct.close()
    pid = get(name).to_json()["os_pid"]
    with open(f"/proc/{pid}/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    return via_socket[1:], straight[1:], rss


def main() -> None:
    from tests.helpers import Overmind
    from tests.providers.conftest import BINARIES, FAKES, make_agent

    installed = [p for p in ("claude", "codex", "gemini") if BINARIES[p].exists()]
    if not installed:
        print("providers: skipped (no agent CLI installed: scripts/install-*.sh)")
        return
    print(f"providers (medians; real CLIs against fake APIs; {ROUNDS} turns each):")
    print(f"  {'':<8} {'per event':>10} {'wrapper RSS':>12} {'send --wait':>12} {'direct':>10} {'added':>9}")
    store_dir = tempfile.mkdtemp(prefix="overmind-bench-events-")
    env = environment()
    fakes = {p: FAKES[p]().start() for p in installed}
    try:
        for provider in installed:
            event_us = per_event_us(provider, store_dir)
            agent = make_agent(provider, Overmind(env), fakes, Path(tempfile.mkdtemp(prefix=f"om-bench-{provider}-")))
            agent_env = agent.om.env
            via_socket, straight, rss = round_trips(provider, agent_env, agent)
            socket_ms, direct = statistics.median(via_socket), statistics.median(straight)
            print(f"  {provider:<8} {event_us / 1000:8.3f} ms {rss:9.1f} MB {socket_ms:9.1f} ms {direct:7.1f} ms "
                  f"{socket_ms - direct:6.1f} ms")
    finally:
        cleanup(env)
        for fake in fakes.values():
            fake.stop()


if __name__ == "__main__":
    main()
