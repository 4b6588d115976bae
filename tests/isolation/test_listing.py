"""What `ps`, `info` and `logs --service` show of a mission's worktree, ports and services is what
its run recorded: `.overmind.yml` is not read (nor validated, with pydantic and PyYAML) again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Overmind, must
from tests.isolation.test_missions import contract

pytestmark = [pytest.mark.systemd, pytest.mark.usefixtures("containers_cleaned")]

HEAVY = ("pydantic", "yaml")


def _imports(om: Overmind, *args: str) -> set[str]:
    """The top-level modules `overmind ARGS` imported."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "overmind", *args], env=om.env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return {line.rpartition("|")[2].strip().split(".")[0] for line in proc.stderr.splitlines()
            if line.startswith("import time:")}


def test_ps_info_and_logs_show_what_run_recorded_without_reading_overmind_yml_again(
        om: Overmind, name: str, repo: Path, port_range: tuple[int, int]) -> None:
    contract(repo, port_range, "  web:\n    command: echo serving; exec sleep 300\n    ready: false\n")
    om.run("sleep 300", "--name", name, "--worktree", "--cwd", str(repo))
    (repo / ".overmind.yml").write_text("services: [a file broken since the run\n")
    row = next(r for r in om.json("ps") if r["name"] == name)
    port = row["ports"]["WEB_PORT"]
    assert row["ports"] == {"PORT": port, "WEB_PORT": port}
    assert [(s["name"], s["kind"], s["image"], s["port"], s["state"]) for s in row["services"]] == [
        ("web", "command", None, port, "active")]
    assert om.info(name)["services"] == row["services"]
    must(lambda: "serving" in om.logs(name, "--service", "web"), 20, "the service's line")
    for command in (("ps", "--json"), ("info", name, "--json"), ("logs", name, "--service", "web")):
        assert not _imports(om, *command) & set(HEAVY), command
    om("stop", name)
