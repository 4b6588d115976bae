"""Whether MemoryMax= would be enforced, read from a cgroup tree laid out like the real ones."""

from __future__ import annotations

from pathlib import Path

from overmind.host.limits import memory_unenforced_reason

MANAGER = "/user.slice/user-1000.slice/user@1000.service"


def _dir(root: Path, relative: str, controllers: str | None = None) -> Path:
    path = root / relative.lstrip("/")
    path.mkdir(parents=True, exist_ok=True)
    if controllers is not None:
        (path / "cgroup.controllers").write_text(controllers + "\n")
    return path


def test_pure_v2_with_the_memory_controller_delegated_enforces(tmp_path: Path) -> None:
    _dir(tmp_path, "", "cpu memory pids")
    _dir(tmp_path, MANAGER, "memory pids")
    assert memory_unenforced_reason(MANAGER, tmp_path) is None


def test_pure_v2_without_the_memory_controller_says_so(tmp_path: Path) -> None:
    _dir(tmp_path, "", "cpu memory pids")
    _dir(tmp_path, MANAGER, "pids")
    assert "not delegated" in (memory_unenforced_reason(MANAGER, tmp_path) or "")


def test_hybrid_enforces_only_with_a_writable_v1_memory_cgroup(tmp_path: Path) -> None:
    _dir(tmp_path, "unified" + MANAGER)
    assert "cgroup v1" in (memory_unenforced_reason(MANAGER, tmp_path) or "")
    _dir(tmp_path, "memory" + MANAGER)
    assert memory_unenforced_reason(MANAGER, tmp_path) is None
