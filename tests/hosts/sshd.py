"""Loopback sshd servers standing in for other hosts: each its own OpenSSH server on 127.0.0.1
with a private config (its own host key, the test's client key, its own port), and through
`SetEnv` its own overmind state directory and unit prefix, so each is a separate host for
overmind while all share this machine's systemd (the private host, as root).

The server dies with the test process (PR_SET_PDEATHSIG), so a killed run leaves none behind.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from overmind.waiting import wait_until

SSHD = "/usr/sbin/sshd"
_PR_SET_PDEATHSIG = 1


def available() -> str | None:
    """Why loopback sshd tests cannot run here, or None."""
    if not os.path.exists(SSHD) or shutil.which("ssh") is None:
        return "OpenSSH's server is not installed (scripts/install-ssh.sh)"
    if os.geteuid() != 0:
        return "the loopback hosts share the private systemd host, which is root's"
    return None


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def keygen(path: Path) -> Path:
    if not path.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "overmind-test", "-f", str(path)],
                       check=True, capture_output=True)
    return path


@dataclass
class Keys:
    """The client side: a key, known hosts, an ssh config (OVERMIND_SSH_CONFIG) naming both."""

    directory: Path

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.identity = keygen(self.directory / "id_ed25519")
        self.known_hosts = self.directory / "known_hosts"
        self.known_hosts.touch()
        self.config = self.directory / "ssh_config"
        self.config.write_text(f"Host *\n  IdentityFile {self.identity}\n  UserKnownHostsFile {self.known_hosts}\n"
                               "  StrictHostKeyChecking yes\n")


@dataclass
class Sshd:
    """One loopback host: `ssh://root@127.0.0.1:PORT`, its overmind on the PATH ssh gives it."""

    name: str
    directory: Path
    keys: Keys
    prefix: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    @property
    def state_dir(self) -> Path:
        return self.directory / "state"

    def start(self, trusted: bool = True) -> Sshd:
        self.directory.mkdir(parents=True, exist_ok=True)
        host_key = keygen(self.directory / "host_ed25519")
        authorized = self.directory / "authorized_keys"
        authorized.write_text(Path(f"{self.keys.identity}.pub").read_text())
        self.port = self.port or free_port()
        environment = {"OVERMIND_STATE_DIR": str(self.state_dir), "OVERMIND_UNIT_PREFIX": self.prefix,
                       # SHLVL: bash skips ~/.bashrc for a command run by sshd (this machine's is slow)
                       "SHLVL": "1", "XDG_RUNTIME_DIR": "/run/user/0",
                       "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", **self.env}
        (self.directory / "sshd_config").write_text("\n".join([
            "ListenAddress 127.0.0.1", f"Port {self.port}", f"HostKey {host_key}",
            f"AuthorizedKeysFile {authorized}", f"PidFile {self.directory / 'sshd.pid'}", "StrictModes no",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "PermitRootLogin prohibit-password", "LogLevel ERROR",
            "SetEnv " + " ".join(f"{key}={value}" for key, value in environment.items()), ""]))
        Path("/run/sshd").mkdir(exist_ok=True)
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.directory / "sshd_config")],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.directory / "sshd.log", "ab"), preexec_fn=_die_with_parent)
        assert wait_until(self._listening, 10), f"sshd {self.name} did not start: {self.log()}"
        if trusted:
            self.trust()
        return self

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def trust(self) -> None:
        """Its host key in the client's known_hosts (what `hosts check` tells a person to do)."""
        key = Path(self.directory / "host_ed25519.pub").read_text().split()
        with self.keys.known_hosts.open("a") as known:
            known.write(f"[127.0.0.1]:{self.port} {key[0]} {key[1]}\n")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        path = self.directory / "sshd.log"
        return path.read_text() if path.exists() else ""

    def stop_missions(self) -> None:
        """What this host's missions left in the shared manager."""
        env = {**os.environ, "XDG_RUNTIME_DIR": "/run/user/0"}
        slices = self.prefix.replace("-", "\\x2d") + "*.slice"
        for action in (["stop", f"{self.prefix}@*.service", f"{self.prefix}-*", slices],
                       ["reset-failed", f"{self.prefix}@*.service"]):
            subprocess.run(["systemctl", "--user", *action], env=env, capture_output=True, timeout=60)
