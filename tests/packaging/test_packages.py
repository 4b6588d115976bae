"""What `make deb` and `make dist` produce: the files, dependencies and size a user gets."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_INSTALLED_MB = 80  # the core and its virtualenv; Akasha's extras are opt-in for this reason


@pytest.fixture(scope="session")
def deb() -> Path:
    if shutil.which("dh_virtualenv") is None:
        pytest.skip("dh-virtualenv is not installed (scripts/install-packaging.sh)")
    proc = subprocess.run([str(ROOT / "scripts" / "build-deb.sh"), "--if-changed"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return ROOT / proc.stdout.strip().splitlines()[-1]


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


def test_the_deb_declares_what_overmind_runs_on(deb: Path) -> None:
    depends = {dependency.split()[0] for dependency in _field(deb, "Depends").split(", ")}
    assert {"systemd", "dbus-user-session", "git", "python3"} <= depends
    assert _field(deb, "Recommends") == "podman, chromium"
    assert int(_field(deb, "Installed-Size")) < MAX_INSTALLED_MB * 1024


def test_the_deb_carries_the_command_completions_man_page_skill_and_templates(deb: Path) -> None:
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    assert {"/usr/bin/overmind", "/usr/share/man/man1/overmind.1.gz", "/usr/share/doc/overmind/install.md.gz",
            "/usr/share/bash-completion/completions/overmind", "/usr/share/zsh/vendor-completions/_overmind",
            "/usr/share/fish/vendor_completions.d/overmind.fish",
            "/opt/venvs/overmind/share/overmind/skills/overmind/SKILL.md"} <= paths
    assert any(path.endswith("/overmind/unit_templates/ritual.timer.j2") for path in paths)
    site = "/opt/venvs/overmind/lib/python3.11/site-packages/"
    assert not [path for path in paths if path.startswith(site) and path[len(site):].split("/")[1:2] == ["tests"]]


def test_make_dist_builds_a_wheel_and_sdist_with_the_shipped_files(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path), str(ROOT)], capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = zipfile.ZipFile(next(tmp_path.glob("overmind_agents-*.whl"))).namelist()
    assert "overmind_agents-0.1.0.data/data/share/overmind/skills/overmind/SKILL.md" in wheel
    assert {"overmind/unit_templates/ritual.service.j2", "overmind/cli/setup.py"} <= set(wheel)
    with tarfile.open(next(tmp_path.glob("overmind_agents-*.tar.gz"))) as sdist:
        names = sdist.getnames()
    assert "overmind_agents-0.1.0/skills/overmind/SKILL.md" in names
    assert "overmind_agents-0.1.0/overmind/unit_templates/ritual.timer.j2" in names
