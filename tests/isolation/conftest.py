"""Isolation tests: real git repositories, a tiny local Podman image, real ports."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.com",
                "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.com"}


@pytest.fixture(autouse=True)
def private_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process code (the store, the contract cache, unit names) has a state directory and a
    unit prefix of its own."""
    monkeypatch.setenv("OVERMIND_STATE_DIR", str(tmp_path_factory.mktemp("isolation-state")))
    monkeypatch.setenv("OVERMIND_UNIT_PREFIX", f"omtest-{secrets.token_hex(3)}")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_IDENTITY}).stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def repository(path: Path) -> Path:
    """A git repository at `path` with one commit on main."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    commit(path, {"README.md": "hello\n", "src/app.txt": "v1\n"}, "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    """A git repository with one commit on main."""
    yield repository(tmp_path / "repo")


@pytest.fixture(scope="session")
def port_range() -> tuple[int, int]:
    """A range of ports of this test run's own, away from the default 3100-3999."""
    base = 30000 + secrets.randbelow(150) * 200
    return base, base + 199


@pytest.fixture(scope="session")
def containers_cleaned(run_env: dict[str, str]) -> Iterator[None]:
    """Whatever this run's services left (units, containers, volumes) goes at the end."""
    yield
    prefix = run_env["OVERMIND_UNIT_PREFIX"]
    for pattern in (f"{prefix}-svc@*.service", f"{prefix}-setup@*.service", f"{prefix}-hold@*.service"):
        for action in ("stop", "reset-failed"):
            subprocess.run(["systemctl", "--user", action, pattern], env=run_env, capture_output=True)
    label = f"label=io.overmind.prefix={prefix}"
    for kind in ("container", "volume"):
        listed = subprocess.run(["podman", kind, "ls", "--all" if kind == "container" else "--quiet", "--quiet",
                                 f"--filter={label}"], capture_output=True, text=True)
        if listed.stdout.split():
            subprocess.run(["podman", kind, "rm", "--force", *listed.stdout.split()], capture_output=True)
