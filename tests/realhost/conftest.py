"""The real-host rig's fixtures: the project's .deb installed on a systemd-as-PID-1 host, and its
wheel installed with pipx by `dev` on a second one.

Everything expensive is cached outside the run: debootstrap's .debs and the image
(scripts/realhost-image.sh), the .deb (rebuilt only when the project's files change) and pip's
downloads. Hosts live as long as their test module; OVERMIND_RIG_KEEP=1 leaves them running for
a look (`podman exec -it ...`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realhost.rig import PREFIX, ROOT, Host, RigUnavailable, image, podman, remove_orphans

CLAUDE = ROOT / ".tools" / "node_modules" / "@anthropic-ai" / "claude-code"


def _podman_works() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (scripts/install-podman.sh)"
    proc = subprocess.run(["podman", "info"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return f"podman cannot run here: {proc.stderr.strip().splitlines()[-1:]}"
    if os.geteuid() != 0:
        return "the rig runs containers with systemd as PID 1, which needs root's podman here"
    return None


@pytest.fixture(scope="session")
def rig_image() -> str:
    reason = _podman_works()
    if reason:
        pytest.skip(reason)
    remove_orphans()
    try:
        return image()
    except RigUnavailable as unavailable:
        pytest.skip(str(unavailable))


def _built(argv: list[str], what: str) -> str:
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{what} failed: {proc.stderr[-2000:]}"
    return proc.stdout.strip()


@pytest.fixture(scope="session")
def deb() -> Path:
    """The project's .deb: OVERMIND_RIG_DEB, or `make deb`'s (reused while the files are unchanged)."""
    given = os.environ.get("OVERMIND_RIG_DEB")
    if given:
        return Path(given)
    return ROOT / _built([str(ROOT / "scripts" / "build-deb.sh"), "--if-changed"], "make deb").splitlines()[-1]


def _host(role: str, rig_image: str, volumes: tuple[str, ...] = (), nested_podman: bool = False) -> Iterator[Host]:
    host = Host(f"{PREFIX}{os.getpid()}-{role}", rig_image, volumes=volumes, nested_podman=nested_podman)
    host.remove()  # a leftover of this very pid (a recycled one) is ours as well
    try:
        yield host.boot()
    finally:
        if os.environ.get("OVERMIND_RIG_KEEP") != "1":
            host.remove()


def agent_volumes() -> tuple[str, ...]:
    """The claude CLI the tests run (scripts/install-claude.sh: one self-contained binary) and its
    fake API, read-only: the reboot check resumes a real claude session on the host."""
    if not (CLAUDE / "bin" / "claude.exe").exists():
        return ()
    return (f"{CLAUDE}:/opt/claude-code:ro", f"{ROOT / 'tests' / 'fake_anthropic.py'}:/opt/fake_anthropic.py:ro")


@pytest.fixture(scope="module")
def host(rig_image: str, deb: Path) -> Iterator[Host]:
    """A systemd host with the .deb installed: the Debian user's path (one per test module). dev
    runs Podman containers there (a worktree's service)."""
    for booted in _host("deb", rig_image, volumes=agent_volumes(), nested_podman=True):
        booted.copy_in(deb, "/tmp/overmind.deb")
        booted.root("dpkg", "-i", "/tmp/overmind.deb")
        yield booted


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel and every wheel it needs, so pipx installs offline in the rig."""
    out = tmp_path_factory.mktemp("wheelhouse")
    _built([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)], "building the wheel")
    wheel = next(out.glob("overmind_agents-*.whl"))
    _built([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--wheel-dir", str(out),
            str(wheel)], "collecting its dependencies")
    return out


@pytest.fixture(scope="module")
def pipx_host(rig_image: str, wheelhouse: Path) -> Iterator[Host]:
    """A systemd host where `dev` installed overmind with pipx: the PyPI user's path."""
    for booted in _host("pipx", rig_image):
        podman("cp", str(wheelhouse), f"{booted.name}:/tmp/wheels")
        booted.root("chmod", "-R", "a+rX", "/tmp/wheels")
        wheel = next(wheelhouse.glob("overmind_agents-*.whl")).name
        booted.user("pipx", "install", "--pip-args=--no-index --find-links=/tmp/wheels", f"/tmp/wheels/{wheel}",
                    timeout=300)
        yield booted
