"""Why a mission with services did not start: which of its units failed, and their last lines."""

from __future__ import annotations

import subprocess

from overmind import names
from overmind.errors import OvermindError
from overmind.isolation import images, naming
from overmind.isolation.start import Prepared, undo
from overmind.systemd import journal, manager

SHOWN_LINES = 6
_RESULTS = {"exit-code": "it exited with an error", "timeout": "it timed out", "signal": "it was killed by a signal",
            "core-dump": "it dumped core", "start-limit-hit": "it failed too often", "resources": "it lacked resources",
            "protocol": "it never said it was ready"}
_PROPERTIES = ["Id", "Result", "ActiveState", "ExecMainCode", "ExecMainStatus", "ExecMainExitTimestampMonotonic"]
_EXITED = "exited before it was ready"  # what the readiness check says when the service's process ends (ready.py)


def explain(prepared: Prepared, name: str, unit: str, stderr: str) -> OvermindError:
    """The error for a mission whose start job failed; the units this run created are undone
    (the worktree and its ports stay)."""
    units = [*prepared.services, *([prepared.setup] if prepared.setup else [])]
    shown = manager.show(units, _PROPERTIES)
    failed = [props for props in shown if props.get("Result", "success") not in ("success", "")]
    undo(prepared, unit)  # first: a failed service's Restart= would start it again meanwhile
    lines = last_lines(failed[0]["Id"]) if failed else []
    kept = f"the worktree stays at {prepared.worktree.path} (overmind worktree rm {prepared.worktree.name})"
    if not failed:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "unknown error"
        return OvermindError(f"systemd refused to start mission '{name}': {detail}", hint=kept)
    failed_unit = failed[0]["Id"]
    what = "the setup" if failed_unit == prepared.setup else \
        f"service '{failed_unit.removesuffix('.service').rpartition('.')[2]}'"
    reason, advice = _reason(prepared, failed[0], lines)
    message = f"{what} of worktree '{prepared.worktree.name}' did not become ready ({reason}), " \
              f"so mission '{name}' did not start"
    if lines:
        message += "; its last lines:\n" + "\n".join(f"    {line}" for line in lines)
    return OvermindError(message, hint=f"{advice}; {kept}" if advice else kept)


def _reason(prepared: Prepared, props: dict[str, str], lines: list[str]) -> tuple[str, str | None]:
    """Why the unit failed, in words, and what to do about it when that is known."""
    service = next((s for s in prepared.contract.services
                    if naming.service_unit(prepared.worktree.name, s.name) == props["Id"]), None)
    if service is not None and service.image and images.forget_if_missing(service.image):
        return f"its image {service.image!r} is not on this machine", f"podman pull {service.image} (or build it)"
    exited = props.get("ExecMainExitTimestampMonotonic", "0") not in ("", "0")
    if any(line.endswith(_EXITED) for line in lines) or (exited and props.get("ActiveState") != "active"):
        status = props.get("ExecMainStatus", "")
        how = f" with code {status}" if props.get("ExecMainCode") == "1" and status.isdigit() else ""
        return f"its process exited{how} before it was ready", None
    result = props.get("Result", "")
    return _RESULTS.get(result, result or "failed"), None


def last_lines(unit: str, count: int = SHOWN_LINES) -> list[str]:
    # journald may not have read the unit's last lines from its stream yet
    subprocess.run(["journalctl", "--sync"], capture_output=True, check=False)
    found = journal.records([f"--lines={count}"], [names.log_identifier(unit)])
    return [journal.message(record) for record in found]
