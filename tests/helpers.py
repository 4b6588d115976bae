"""Shared test helpers: the real CLI in a subprocess, and waiting on conditions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overmind.waiting import wait_until

__all__ = ["Overmind", "wait_until", "must", "blueprint_file", "debugging", "created_over_dbus", "reboot"]


def must(condition: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    result = wait_until(condition, timeout)
    assert result, f"timed out after {timeout}s waiting for {what}"
    return result


@dataclass
class Overmind:
    """Runs the real `overmind` command line with the test run's isolated environment."""

    env: dict[str, str]

    def __call__(self, *args: str, check: bool = True, timeout: float = 60,
                 cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "overmind", *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)
        if check:
            assert proc.returncode == 0, f"overmind {' '.join(args)} failed ({proc.returncode}): {proc.stderr}"
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def wide(self, *args: str) -> str:
        """A command's human output on a terminal wide enough for every column: the missions other
        tests left add columns (ACTIVITY, WORKTREE, PORTS) that would cut this test's cells at 80."""
        return Overmind(self.env | {"COLUMNS": "400"})(*args).stdout

    def info(self, ref: str) -> dict[str, Any]:
        return self.json("info", ref)

    def status(self, ref: str) -> str:
        return self.info(ref)["status"]

    def run(self, command: str, *options: str) -> dict[str, Any]:
        return json.loads(self("run", *options, "--json", command).stdout)

    def logs(self, ref: str, *options: str) -> list[str]:
        return [json.loads(line)["message"] for line in self("logs", ref, *options, "--json").stdout.splitlines()]

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["systemctl", "--user", "--no-pager", *args], env=self.env, capture_output=True,
                              text=True, timeout=60)

    def unit_property(self, unit: str, prop: str) -> str:
        return self.systemctl("show", "-p", prop, "--value", unit).stdout.strip()

    def pid_alive(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rpartition(") ")[2][:1] not in ("Z", "X")
        except OSError:
            return False

    def environ(self) -> dict[str, str]:
        return dict(os.environ) | self.env


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def blueprint_file(directory: Path, name: str, agents: dict[str, dict[str, Any]], example: str | None = None) -> str:
    """`<directory>/<name>.toml` (a blueprint named `name`): the agents of `examples/<example>`
    if given, then `agents`, each an [agents.<name>] table."""
    import tomlkit

    document = tomlkit.parse((EXAMPLES / example).read_text()) if example else tomlkit.document()
    tables = document.setdefault("agents", tomlkit.table(is_super_table=True))
    for agent, table in agents.items():
        tables[agent] = table
    path = directory / f"{name}.toml"
    path.write_text(tomlkit.dumps(document))
    return str(path)


_PATHS_WITHOUT: dict[str, str] = {}


def path_without(tool: str) -> str:
    """A PATH with every program this one has except `tool`: tests of a missing agent CLI must not
    depend on whether the machine has it installed (globally, by npm, as its users often do)."""
    if tool not in _PATHS_WITHOUT:
        import tempfile

        farm = Path(tempfile.mkdtemp(prefix=f"overmind-no-{tool}-"))
        for directory in os.environ.get("PATH", "").split(os.pathsep):
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                link = farm / entry.name
                if entry.name != tool and not link.exists() and os.access(entry.path, os.X_OK):
                    link.symlink_to(entry.path)
        _PATHS_WITHOUT[tool] = str(farm)
    return _PATHS_WITHOUT[tool]


def die_with_parent() -> None:
    """For Popen's preexec_fn: the child gets SIGTERM when the test process dies, so a killed test
    run leaves no follower (`overmind events`, `logs -f`) behind."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


DOCS = Path(__file__).resolve().parents[1] / "docs"


def documented_keys(section: str) -> set[str]:
    """The keys of the first JSON example under the docs/json.md heading that starts with
    `section` ("A mission", "A blueprint"): what every row of that shape must carry."""
    text = (DOCS / "json.md").read_text()
    start = text.index(f"\n## {section}")
    block = text[text.index("```json\n", start) + 8:]
    return set(json.loads(block[:block.index("```")]))


def debugging(om: Overmind) -> Overmind:
    """The same CLI with --debug on: every call it makes to systemd is listed on stderr."""
    return Overmind(om.env | {"OVERMIND_DEBUG": "1"})


def created_over_dbus(debug_lines: str | list[str], unit: str) -> bool:
    """What a --debug run printed says: `unit` was made by one StartTransientUnit call to the user
    manager, and no systemd-run was forked."""
    lines = debug_lines.splitlines() if isinstance(debug_lines, str) else debug_lines
    calls = [line for line in lines if line.startswith("overmind: debug: ")]
    assert not [line for line in calls if "systemd-run" in line], calls
    return len([line for line in calls if f"dbus StartTransientUnit {unit} " in line]) == 1


def reboot(om: Overmind) -> None:
    """`host down` and `host up`: the private host's reboot (the host is up again, pass or fail)."""
    try:
        om("host", "down", timeout=120)
    finally:
        om("host", "up", timeout=120)
