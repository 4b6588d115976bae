"""The Vagrantfile is valid for Vagrant (checked without a provider: CI has no VirtualBox)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("vagrant") is None, reason="vagrant is not installed "
                                "(scripts/install-packaging.sh)")


def _validate(directory: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, VAGRANT_HOME=str(tmp_path / "vagrant.d"), VAGRANT_CHECKPOINT_DISABLE="1")
    return subprocess.run(["vagrant", "validate", "--ignore-provider"], cwd=directory, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_the_vagrantfile_validates(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(ROOT / "Vagrantfile", copy / "Vagrantfile")
    proc = _validate(copy, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Vagrantfile validated successfully" in proc.stdout


def test_validation_catches_a_broken_vagrantfile(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    copy.mkdir()
    text = (ROOT / "Vagrantfile").read_text().replace('config.vm.hostname = "overmind"', 'config.vm.hostnam = "x"')
    (copy / "Vagrantfile").write_text(text)
    proc = _validate(copy, tmp_path)
    assert proc.returncode != 0 and "hostnam" in proc.stdout + proc.stderr
