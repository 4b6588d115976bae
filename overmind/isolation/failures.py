"""Why a mission with services did not start: which of its units failed, and their last lines."""

from __future__ import annotations

import subprocess

from overmind import names
from overmind.errors import OvermindError
from overmind.isolation.start import Prepared, undo
from overmind.systemd import journal, manager

SHOWN_LINES = 6
_RESULTS = {"exit-code": "it exited with an error", "timeout": "it timed out", "signal": "it was killed by a signal",
            "core-dump": "it dumped core", "start-limit-hit": "it failed too often", "resources": "it lacked resources",
            "protocol": "it never said it was ready"}


def explain(prepared: Prepared, name: str, unit: str, stderr: str) -> OvermindError:
    """The error for a mission whose start job failed; the units this run created are undone
    (the worktree and its ports stay)."""
    units = [*prepared.services, *([prepared.setup] if prepared.setup else [])]
    shown = manager.show(units, ["Id", "Result", "ActiveState"])
    failed = [props for props in shown if props.get("Result", "success") not in ("success", "")]
    lines = last_lines(failed[0]["Id"]) if failed else []
    undo(prepared, unit)
    kept = f"the worktree stays at {prepared.worktree.path} (overmind worktree rm {prepared.worktree.name})"
    if not failed:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "unknown error"
        return OvermindError(f"systemd refused to start mission '{name}': {detail}", hint=kept)
    failed_unit = failed[0]["Id"]
    what = "the setup" if failed_unit == prepared.setup else \
        f"service '{failed_unit.removesuffix('.service').rpartition('.')[2]}'"
    reason = _RESULTS.get(failed[0].get("Result", ""), failed[0].get("Result", "failed"))
    message = f"{what} of worktree '{prepared.worktree.name}' did not become ready ({reason}), " \
              f"so mission '{name}' did not start"
    if lines:
        message += "; its last lines:\n" + "\n".join(f"    {line}" for line in lines)
    return OvermindError(message, hint=kept)


def last_lines(unit: str, count: int = SHOWN_LINES) -> list[str]:
    # journald may not have read the unit's last lines from its stream yet
    subprocess.run(["journalctl", "--sync"], capture_output=True, check=False)
    found = journal.records([f"--lines={count}"], [names.log_identifier(unit)])
    return [journal.message(record) for record in found]
