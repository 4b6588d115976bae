"""The real-host rig: Debian 12 containers where systemd is PID 1 and a normal user `dev` has their
own user manager (user@1000.service, lingering), driven from outside with `podman exec`.

Containers are named omrig-<pid of the test run>-<role>; a run first removes the containers of
runs whose process is gone (a killed run), never another live run's.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from overmind.waiting import wait_until

PREFIX = "omrig-"
ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT = 60.0
USERS = {"dev": 1000, "nolinger": 1001}


class RigUnavailable(Exception):
    """Podman (or the image) cannot be had here: the rig's tests are skipped with this reason."""


def podman(*args: str, check: bool = True, timeout: float = 120, input_text: str | None = None,
           ) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, input=input_text,
                          stdin=None if input_text is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def cgroup_options() -> list[str]:
    """What systemd as PID 1 needs from this host's cgroup layout.

    On a hybrid host (v1 controllers plus /sys/fs/cgroup/unified) the container must see the
    unified tree, or its systemd falls back to legacy v1 and never learns that a cgroup emptied:
    stopping a unit of several processes then hangs. No private cgroup namespace there: systemd
    would escape into the host's name=systemd hierarchy.
    """
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():  # pure v2: podman's defaults work
        return []
    if (root / "unified" / "cgroup.procs").exists():
        return ["-v", "/sys/fs/cgroup/unified:/sys/fs/cgroup/unified:rw", "--cgroupns=host"]
    return ["--cgroupns=host"]  # legacy v1 only


def remove_orphans() -> None:
    """Containers (and networks) of earlier runs whose test process is gone."""
    names = podman("ps", "-a", "--format", "{{.Names}}", "--filter", f"name=^{PREFIX}").stdout.split()
    for name in names:
        match = re.fullmatch(rf"{PREFIX}(\d+)-[\w-]+", name)
        if match and not _alive(int(match.group(1))):
            podman("rm", "-f", "-v", "-t", "5", name, check=False)
    for name in podman("network", "ls", "--format", "{{.Name}}", check=False).stdout.split():
        match = re.fullmatch(rf"{PREFIX}(\d+)-[\w-]+", name)
        if match and not _alive(int(match.group(1))):
            podman("network", "rm", "-f", name, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def image() -> str:
    """The rig's base image, built (or found in podman's store) by scripts/realhost-image.sh."""
    proc = subprocess.run([str(ROOT / "scripts" / "realhost-image.sh")], capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RigUnavailable(f"the rig's image could not be built: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout.strip().splitlines()[-1]


# What a user's rootless Podman inside the container needs (tried one by one here): newuidmap may
# map the user's subordinate ids only with CAP_SYS_ADMIN; each container mounts a fresh /proc,
# which the kernel refuses while paths of the outer /proc are masked; slirp4netns needs a tun
# device (the image's tmpfiles rule opens it to dev).
NESTED_PODMAN = ("--cap-add=SYS_ADMIN", "--security-opt=unmask=ALL", "--device=/dev/net/tun")


@dataclass
class Host:
    """One systemd-as-PID-1 container."""

    name: str
    image: str
    env: dict[str, str] = field(default_factory=dict)
    network: str = "none"  # or a private network of the rig's (see Network)
    volumes: tuple[str, ...] = ()  # podman -v arguments
    nested_podman: bool = False  # dev runs containers of its own inside (see NESTED_PODMAN)

    def boot(self) -> Host:
        mounts = [arg for volume in self.volumes for arg in ("-v", volume)]
        nested = NESTED_PODMAN if self.nested_podman else ()
        podman("run", "-d", "--name", self.name, "--hostname", self.name.split("-", 2)[-1], "--network", self.network,
               "--systemd", "always", "--stop-timeout", "30", *cgroup_options(), *mounts, *nested,
               "-v", "/var/log/journal",  # podman mounts a tmpfs there otherwise: the journal must survive a reboot
               self.image, "/sbin/init")
        self.wait_booted()
        return self

    def wait_booted(self) -> None:
        """Until the system and dev's user manager report `running` (or `degraded`, then fail)."""

        def settled() -> str:  # empty while systemd's own bus is not up yet
            proc = self.root("systemctl", "is-system-running", "--wait", check=False, timeout=BOOT_TIMEOUT)
            state = proc.stdout.strip()
            # `offline`: systemctl reached no manager (PID 1 not listening yet on a busy machine): not an answer
            return "" if state == "offline" else state

        state = wait_until(settled, BOOT_TIMEOUT) or "unreachable"
        failed = self.root("systemctl", "--failed", "--no-legend", check=False).stdout
        assert state == "running", f"{self.name} booted {state}: {failed}"
        assert wait_until(lambda: self.user("systemctl", "--user", "is-system-running", check=False).stdout.strip()
                          == "running", BOOT_TIMEOUT), "dev's user manager did not come up"

    def remove(self) -> None:
        podman("rm", "-f", "-v", "-t", "10", self.name, check=False)

    @property
    def ip(self) -> str:
        """Its address on its network."""
        template = f'{{{{(index .NetworkSettings.Networks "{self.network}").IPAddress}}}}'
        return podman("inspect", self.name, "--format", template).stdout.strip()

    def link(self, up: bool) -> None:
        """Cut (or restore) its network, as a pulled cable would: its interface goes down inside it."""
        pid = podman("inspect", self.name, "--format", "{{.State.Pid}}").stdout.strip()
        subprocess.run(["nsenter", "-t", pid, "-n", "ip", "link", "set", "eth0", "up" if up else "down"], check=True,
                       capture_output=True, timeout=30)

    def reboot(self) -> None:
        """`podman restart`: systemd gets SIGRTMIN+3 and shuts down as on a real reboot, then boots."""
        podman("restart", "-t", "30", self.name, timeout=90)
        self.wait_booted()

    def exec(self, argv: Sequence[str], user: str = "root", env: dict[str, str] | None = None, check: bool = True,
             timeout: float = 90, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        options = ["-i"] if input_text is not None else []
        for key, value in (env or {}).items():
            options += ["-e", f"{key}={value}"]
        proc = podman("exec", *options, "-u", user, "-w", "/" if user == "root" else f"/home/{user}", self.name,
                      *argv, check=False, timeout=timeout, input_text=input_text)
        if check:
            assert proc.returncode == 0, f"{shlex.join(argv)} as {user} failed ({proc.returncode}): {proc.stderr}"
        return proc

    def root(self, *argv: str, check: bool = True, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return self.exec(argv, check=check, timeout=timeout)

    def user(self, *argv: str, user: str = "dev", check: bool = True, timeout: float = 90,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """argv as `user`, through that user's own manager (what a login session would give)."""
        uid = USERS[user]
        base = {"HOME": f"/home/{user}", "USER": user, "LOGNAME": user, "SHELL": "/bin/bash", "LANG": "C.UTF-8",
                "COLUMNS": "200", "PATH": f"/home/{user}/.local/bin:/usr/local/bin:/usr/bin:/bin",
                "XDG_RUNTIME_DIR": f"/run/user/{uid}", "DBUS_SESSION_BUS_ADDRESS": f"unix:path=/run/user/{uid}/bus"}
        return self.exec(argv, user=user, env=base | (env or {}), check=check, timeout=timeout)

    def completions(self, *words: str) -> set[str]:
        """What bash-completion offers `dev` after `overmind WORDS...` (the last word being typed),
        loading overmind's script the way an interactive shell does: on first use."""
        line = " ".join(shlex.quote(word) for word in ("overmind", *words))
        probe = (f"source /usr/share/bash-completion/bash_completion; _completion_loader overmind; "
                 f"COMP_WORDS=({line}); COMP_CWORD={len(words)}; _overmind_completion overmind; "
                 "printf '%s\\n' \"${COMPREPLY[@]}\"")
        return set(self.user("bash", "-c", probe).stdout.split())

    def copy_in(self, source: Path, target: str) -> None:
        podman("cp", str(source), f"{self.name}:{target}")
