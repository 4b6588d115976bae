"""The quick commands stay quick: `run`, `ps` and `logs` import none of the heavy libraries
(each costs 30-300 ms to import, more than the whole command should take)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Overmind

HEAVY = ("pydantic", "yaml", "jinja2", "aiohttp", "textual", "chromadb", "dbus_fast")
# The real command line in a fresh interpreter; what it imported is written out as it exits.
PROBE = """
import atexit, json, sys
path = sys.argv[1]
def written():
    with open(path, "w") as out:
        json.dump(sorted(sys.modules), out)
atexit.register(written)
sys.argv = ["overmind", *sys.argv[2:]]
from overmind.cli import main
main()
"""


def _imported(om: Overmind, tmp_path: Path, *args: str) -> set[str]:
    found = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(found), *args], env=om.env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return {module.partition(".")[0] for module in json.loads(found.read_text())}


@pytest.mark.parametrize("command", [("run", "--name", "{name}", "echo hello"), ("ps",), ("ps", "--json"),
                                     ("logs", "{name}", "-n", "5"), ("run", "--name", "{name}-w", "--wait", "true")],
                         ids=["run", "ps", "ps --json", "logs", "run --wait"])
def test_run_ps_and_logs_import_nothing_heavy(om: Overmind, name: str, tmp_path: Path,
                                              command: tuple[str, ...]) -> None:
    name = re.sub(r"[^A-Za-z0-9-]", "-", name)
    if "logs" in command:
        om.run("echo hello", "--name", name)
        om("wait", name)
    heavy = _imported(om, tmp_path, *(word.format(name=name) for word in command)) & set(HEAVY)
    if "--wait" in command:  # waiting is on systemd's signals: dbus-fast is what it needs
        heavy.discard("dbus_fast")
    assert not heavy, f"overmind {' '.join(command)} imported {sorted(heavy)}"
