"""The state directory on a full file system (a 1 MiB tmpfs): reads go on, a write fails with one
line naming the file system and leaves nothing half-done, running missions run on, and all is
well again once there is room."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Overmind, must

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small(tmp_path: Path, om: Overmind) -> Iterator[tuple[Overmind, Path]]:
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(mount)], check=True)
    on_it = Overmind(om.env | {"OVERMIND_STATE_DIR": str(mount / "state")})
    try:
        yield on_it, mount
    finally:
        (mount / "filler").unlink(missing_ok=True)
        on_it("stop", "--all", check=False)
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 4096) > 0:
            pass
    except OSError:
        pass  # no space left: that was the point
    finally:
        os.close(fd)


def test_a_full_state_file_system_fails_writes_in_one_line_and_nothing_else(small: tuple[Overmind, Path],
                                                                           name: str) -> None:
    om, mount = small
    ticker = om.run("i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done", "--name", f"{name}-ticker")
    om.run("echo done", "--name", f"{name}-done")
    om("wait", f"{name}-done")
    _fill(mount / "filler")
    # Reads work.
    rows = {row["name"]: row for row in om.json("ps", "--all")}
    assert (rows[f"{name}-ticker"]["status"], rows[f"{name}-done"]["status"]) == ("running", "stopped")
    assert om.info(ticker["id"])["status"] == "running"
    assert om.logs(f"{name}-done") == ["done", "--- exited with code 0 ---"]
    # A write fails with one line (and a hint) naming the file system, and leaves nothing behind.
    refused = om("run", "--name", f"{name}-refused", "echo never", check=False)
    assert refused.returncode == 1
    first, hint = refused.stderr.splitlines()
    assert first.startswith(f"overmind: no space left for the state store on tmpfs at {mount} (1.0 MiB")
    assert hint == "(free some space there; overmind works again at once)"
    assert om.unit_property(f"{om.env['OVERMIND_UNIT_PREFIX']}@{name}-refused.service", "LoadState") == "not-found"
    doctor = om("doctor", "--json", check=False)
    assert doctor.returncode == 1
    checks = {check["name"]: check for check in json.loads(doctor.stdout)}
    assert checks["free space"]["state"] == "fail" and str(mount) in checks["free space"]["detail"]
    # The running mission runs on and its output is kept (the journal is elsewhere).
    ticks = len(om.logs(ticker["id"], "-n", "10000"))
    must(lambda: len(om.logs(ticker["id"], "-n", "10000")) > ticks + 2, what="more ticks")
    # Room again: everything works, and the refused mission was never recorded.
    (mount / "filler").unlink()
    assert f"{name}-refused" not in {row["name"] for row in om.json("ps", "--all")}
    om.run("echo now", "--name", f"{name}-now")
    assert om("wait", f"{name}-now").returncode == 0
    om("stop", ticker["id"])
    assert om.status(ticker["id"]) == "stopped"
