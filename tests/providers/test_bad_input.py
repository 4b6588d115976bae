"""What goes wrong with agent CLIs is said in one line, before anything starts where it can be, and
never stops the wrapper: a CLI that is not installed, an option it has no flag for, a CLI that
prints events overmind does not know."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers import Overmind, path_without

INSTALL = {"codex": "npm install -g @openai/codex", "gemini": "npm install -g @google/gemini-cli",
           "opencode": "npm install -g opencode-ai"}


@pytest.mark.parametrize("provider", ["codex", "gemini", "opencode"])
def test_a_cli_that_is_not_installed_is_named_with_its_install_command(om: Overmind, name: str,
                                                                       provider: str) -> None:
    proc = om("run", "--provider", provider, "--name", name, "-e", f"PATH={path_without(provider)}", "do it",
              check=False)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"overmind: {provider} is not installed (not found on PATH)",
                                        f"({INSTALL[provider]})"]
    assert all(mission["name"] != name for mission in om.json("ps", "--all"))


@pytest.mark.parametrize("provider,options,message", [
    ("codex", ["--allowed-tools", "Bash"], "--allowed-tools does not apply to codex missions"),
    ("gemini", ["--max-turns", "3"], "--max-turns does not apply to gemini missions"),
    ("opencode", ["--type", "session"], "opencode has no long-lived sessions"),
    ("codex", ["--permission-mode", "plan"], "invalid --permission-mode 'plan' for codex"),
])
def test_an_option_the_cli_lacks_is_refused_before_anything_starts(om: Overmind, name: str, provider: str,
                                                                  options: list[str], message: str) -> None:
    proc = om("run", "--provider", provider, "--name", name, *options, "do it", check=False)
    assert (proc.returncode, proc.stderr.splitlines()[0]) == (1, f"overmind: {message}")
    assert all(mission["name"] != name for mission in om.json("ps", "--all"))


def test_events_a_newer_cli_prints_are_skipped_and_the_session_goes_on(om: Overmind, name: str,
                                                                       tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    codex = bin_dir / "codex"
    codex.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).with_name('newer_codex.py')}\n")
    codex.chmod(0o755)
    newer = Overmind(om.env | {"PATH": f"{bin_dir}:{om.env['PATH']}"})
    newer("run", "--provider", "codex", "--type", "session", "--name", name, "--no-memory", "--cwd", str(tmp_path),
          "hello")
    for text in ("one", "two"):
        reply = json.loads(newer("send", name, "--wait", "--json", text).stdout)
        assert (reply["text"], reply["is_error"], reply["session_id"]) == (f"echo: {text}", False, "newer-thread")
    lines = newer.logs(name)
    assert lines.count("[overmind] skipped codex's 'thread/hologram/updated' events: not known to overmind") == 1
    assert "not json at all" in lines
    assert any(line.startswith("[overmind] could not read a item/completed event") for line in lines)
    assert newer.info(name)["status"] == "running" and os.path.exists(codex)
    newer("stop", name)
