"""Every agent CLI overmind drives, installed for real (scripts/install-*.sh, into .tools/) and run
against its fake API on 127.0.0.1: claude (tests/fake_anthropic.py), codex and opencode
(tests/fake_openai.py), gemini (tests/fake_gemini.py).

An `Agent` is one CLI set up for one test: its own HOME (and CODEX_HOME) with the CLI's
configuration pointing at the fake, a working directory, and how that CLI's shell tool is called,
so the contract tests read the same for every provider.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import FakeAnthropic
from tests.fake_gemini import FakeGemini
from tests.fake_openai import FakeOpenAI
from tests.fake_server import ScriptedFake
from tests.helpers import Overmind, must
from tests.sessions.conftest import _children, _set_up_home

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools"
BINARIES = {"claude": TOOLS / "node_modules" / ".bin" / "claude",
            "codex": TOOLS / "codex" / "node_modules" / ".bin" / "codex",
            "gemini": TOOLS / "gemini" / "node_modules" / ".bin" / "gemini",
            "opencode": TOOLS / "opencode" / "node_modules" / ".bin" / "opencode"}
SHELL_TOOLS = {"claude": "Bash", "codex": "exec_command", "gemini": "run_shell_command", "opencode": "bash"}
CODEX_MODEL = "gpt-6-sol"  # a model codex knows, with no newer one to offer (its TUI would ask)
GEMINI_MODEL = "gemini-2.5-flash"  # named, so that gemini asks no router model first


def installed(provider: str) -> Path:
    """The CLI's binary, installed by its script if need be; the test is skipped, saying why, only
    if the npm registry cannot be reached."""
    binary = BINARIES[provider]
    package = binary.parent.parent
    if not binary.exists() or not package.exists():
        script = REPO / "scripts" / f"install-{provider}.sh"
        proc = subprocess.run([script], capture_output=True, text=True, timeout=900)
        if proc.returncode != 0 or not binary.exists():
            detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"the {provider} CLI could not be installed from npm: {detail}")
    return binary


@dataclass
class Agent:
    provider: str
    om: Overmind
    fake: ScriptedFake | FakeAnthropic
    home: Path
    cwd: Path
    options: list[str] = field(default_factory=list)  # what every run of this CLI is given

    def run(self, name: str, prompt: str = "", *options: str, session: bool = False) -> dict[str, Any]:
        args = ["run", "--provider", self.provider, "--name", name, "--cwd", str(self.cwd), "-e", f"HOME={self.home}",
                *(["--type", "session"] if session else []), *self.options, *options, "--json",
                *([prompt] if prompt else [])]
        return json.loads(self.om(*args).stdout)

    def answer(self, name: str, text: str) -> dict[str, Any]:
        return json.loads(self.om("send", name, "--wait", "--json", text, timeout=120).stdout)

    def shell_tool(self, trigger: str, command: str) -> None:
        """The fake answers `trigger` with a call of this CLI's shell tool running `command`."""
        tool = SHELL_TOOLS[self.provider]
        arguments = {"cmd": command} if self.provider == "codex" else {"command": command, "description": "run"}
        self.fake.on(trigger, tool=(tool, arguments))

    def kill_cli(self, name: str) -> None:
        """SIGKILL to the CLI under the mission's wrapper, all its processes (an npm-installed CLI is a
        node launcher and the program it starts)."""
        main = must(lambda: self.om.info(name)["os_pid"])
        must(lambda: _children(main), 30, what=f"the {self.provider} process")
        for pid in _descendants(main):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def user_texts(self) -> list[str]:
        """What a person said in the conversation, as the fake API saw it last."""
        return [text for text in self.fake.histories[-1] if text]


def _descendants(pid: int) -> list[int]:
    found = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


def agent_env(provider: str, fake_url: str, home: Path, cwd: Path) -> tuple[dict[str, str], list[str]]:
    """The environment (and run options) that point `provider`'s CLI at its fake API from `home`."""
    binary = installed(provider)
    env = {"PATH": str(binary.parent)}
    if provider == "claude":
        _set_up_home(home, cwd)
        return env | {"ANTHROPIC_BASE_URL": fake_url, "ANTHROPIC_API_KEY": "x", "CLAUDE_CODE_MAX_RETRIES": "0",
                      "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}, ["--allowed-tools", "Bash"]
    if provider == "codex":
        codex_home = home / ".codex"
        codex_home.mkdir(parents=True, exist_ok=True)
        (codex_home / "config.toml").write_text(
            f'model = "{CODEX_MODEL}"\nmodel_provider = "fake"\n'
            f'[model_providers.fake]\nname = "fake"\nbase_url = "{fake_url}/v1"\nwire_api = "responses"\n'
            'env_key = "OPENAI_API_KEY"\nrequest_max_retries = 0\nstream_max_retries = 0\n'
            f'[projects."{cwd}"]\ntrust_level = "trusted"\n')
        return env | {"CODEX_HOME": str(codex_home), "OPENAI_API_KEY": "x"}, []
    if provider == "gemini":
        settings = home / ".gemini"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "settings.json").write_text(json.dumps({
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
            "privacy": {"usageStatisticsEnabled": False}}))
        return env | {"GEMINI_API_KEY": "x", "GOOGLE_GEMINI_BASE_URL": fake_url, "GEMINI_CLI_TRUST_WORKSPACE": "true",
                      "GEMINI_CLI_NO_RELAUNCH": "true"}, ["--model", GEMINI_MODEL]
    if provider == "opencode":
        config = home / ".config" / "opencode"
        config.mkdir(parents=True, exist_ok=True)
        (config / "opencode.json").write_text(json.dumps({
            "model": f"openai/{CODEX_MODEL}", "autoupdate": False, "share": "disabled",
            "provider": {"openai": {"options": {"baseURL": f"{fake_url}/v1", "apiKey": "x"}}}}))
        return env | {"OPENCODE_DISABLE_AUTOUPDATE": "1", "OPENCODE_DISABLE_MODELS_FETCH": "1",
                      "OPENCODE_DISABLE_LSP_DOWNLOAD": "1"}, []
    return {}, []


FAKES = {"claude": FakeAnthropic, "codex": FakeOpenAI, "opencode": FakeOpenAI, "gemini": FakeGemini}


@pytest.fixture(scope="session")
def fakes() -> Iterator[dict[str, Any]]:
    """One fake of each API for the whole run (opencode talks to the same Responses API as codex)."""
    started: dict[str, Any] = {}
    for provider, kind in FAKES.items():
        shared = next((fake for other, fake in started.items() if FAKES[other] is kind), None)
        started[provider] = shared or kind().start()
    yield started
    for fake in {id(f): f for f in started.values()}.values():
        fake.stop()


def make_agent(provider: str, om: Overmind, fakes: dict[str, Any], tmp_path: Path) -> Agent:
    home, cwd = tmp_path / f"{provider}-home", tmp_path / f"{provider}-work"
    home.mkdir()
    cwd.mkdir()
    fake = fakes[provider]
    fake.reset()
    env, options = agent_env(provider, fake.url, home, cwd)
    if "PATH" in env:
        env["PATH"] = f"{env['PATH']}:{om.env['PATH']}"
    # Memory is tested on its own (test_memory.py): here it would only slow the CLIs' starts.
    return Agent(provider, Overmind(om.env | env), fake, home, cwd, [*options, "--no-memory"])


@pytest.fixture
def agent(request: pytest.FixtureRequest, om: Overmind, fakes: dict[str, Any], tmp_path: Path) -> Iterator[Agent]:
    """The CLI named by the test's `provider` parameter, set up against its fake API."""
    made = make_agent(request.param, om, fakes, tmp_path)
    yield made
    made.fake.reset()
