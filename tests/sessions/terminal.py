"""A real terminal for tests: a private tmux server, driven with send-keys and read with capture-pane."""

from __future__ import annotations

import secrets
import shlex
import subprocess
import sys
from dataclasses import dataclass

from tests.helpers import wait_until


@dataclass
class Tmux:
    env: dict[str, str]
    server: str = ""

    def __post_init__(self) -> None:
        self.server = f"omtest-{secrets.token_hex(4)}"

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(["tmux", "-L", self.server, *args], env=self.env, capture_output=True, text=True,
                              timeout=30)
        return proc.stdout

    def start(self, *argv: str, columns: int = 120, rows: int = 40) -> None:
        """Run argv in a new window; the window stays (with the exit status) after it ends."""
        command = shlex.join(argv) + "; echo \"[exit $?]\"; sleep 600"
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", str(columns), "-y", str(rows), command)

    def overmind(self, *args: str) -> None:
        self.start(sys.executable, "-m", "overmind", *args)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J")

    def wait_for(self, text: str, timeout: float = 20) -> str:
        found = wait_until(lambda: screen if text in (screen := self.screen()) else None, timeout)
        assert found, f"timed out after {timeout}s waiting for {text!r} on screen:\n{self.screen()}"
        return found

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)
        self.tmux("send-keys", "Enter")

    def size(self) -> tuple[int, int]:
        rows, columns = self.tmux("display", "-p", "#{pane_height} #{pane_width}").split()
        return int(rows), int(columns)

    def close(self) -> None:
        self.tmux("kill-server")
