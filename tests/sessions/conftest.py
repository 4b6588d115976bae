"""The real Claude Code CLI, installed from npm into .tools/, against a fake Messages API.

Installing takes ~10 s the first time (scripts/install-claude.sh); the tests skip, saying why,
only if it cannot be installed. The fake API serves the whole test run; each test scripts its
own replies, and works in its own directory, which is the CLI's key for its conversations.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import FakeAnthropic
from tests.helpers import Overmind, must

REPO = Path(__file__).resolve().parents[2]
CLAUDE = REPO / ".tools" / "node_modules" / ".bin" / "claude"


def _works(binary: Path) -> bool:
    try:
        return subprocess.run([binary, "--version"], capture_output=True, timeout=60).returncode == 0
    except OSError:
        return False


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    if not _works(CLAUDE):
        proc = subprocess.run([REPO / "scripts" / "install-claude.sh"], capture_output=True, text=True, timeout=900)
        if proc.returncode != 0 or not _works(CLAUDE):
            detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"the claude CLI could not be installed from npm: {detail}")
    return CLAUDE


@pytest.fixture(scope="session")
def fake_api() -> Iterator[FakeAnthropic]:
    fake = FakeAnthropic().start()
    yield fake
    fake.stop()


def _set_up_home(home: Path, cwd: Path) -> None:
    """A HOME in which the CLI has been set up: no first-run screens, the test API key approved,
    the working directory trusted. One per test: every claude process rewrites this file."""
    config = {"hasCompletedOnboarding": True, "theme": "dark",
              "projects": {str(cwd): {"hasTrustDialogAccepted": True}},
              "customApiKeyResponses": {"approved": ["x"], "rejected": []}}
    (home / ".claude.json").write_text(json.dumps(config))


@dataclass
class Claude:
    om: Overmind
    fake: FakeAnthropic
    home: Path
    cwd: Path

    def run(self, name: str, prompt: str = "", *options: str, session: bool = False) -> dict[str, Any]:
        args = ["run", "--provider", "claude", "--name", name, "--cwd", str(self.cwd), "-e", f"HOME={self.home}",
                *(["--type", "session"] if session else []), *options, "--json", *([prompt] if prompt else [])]
        return json.loads(self.om(*args).stdout)

    def send(self, name: str, text: str, *options: str) -> Any:
        return self.om("send", name, "--wait", "--json", *options, text)

    def answer(self, name: str, text: str) -> dict[str, Any]:
        return json.loads(self.send(name, text).stdout)

    def agent_pid(self, name: str) -> int:
        """The claude process under the mission's wrapper."""
        main = must(lambda: self.om.info(name)["os_pid"])
        return must(lambda: _children(main), what="the claude process")[0]

    def gate(self, trigger: str, text: str) -> threading.Event:
        """A reply to `trigger` that waits until the returned event is set."""
        gate = threading.Event()
        self.fake.on(trigger, text=text, gate=gate)
        return gate


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


@pytest.fixture
def claude(om: Overmind, claude_bin: Path, fake_api: FakeAnthropic, tmp_path: Path) -> Iterator[Claude]:
    fake_api.reset()
    env = om.env | {
        "PATH": f"{claude_bin.parent}:{om.env['PATH']}",
        "ANTHROPIC_BASE_URL": fake_api.url, "ANTHROPIC_API_KEY": "x",
        "CLAUDE_CODE_MAX_RETRIES": "0", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    home, cwd = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    cwd.mkdir()
    _set_up_home(home, cwd)
    yield Claude(Overmind(env), fake_api, home, cwd)
    fake_api.reset()


@pytest.fixture
def in_process(claude: Claude, monkeypatch: pytest.MonkeyPatch) -> None:
    """Control-layer calls made in this process reach the test run's missions and store."""
    for key in ("OVERMIND_STATE_DIR", "OVERMIND_UNIT_PREFIX", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(key, claude.om.env[key])
