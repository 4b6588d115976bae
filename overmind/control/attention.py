"""What needs a person: a permission request, a session waiting for a message, a crashed mission,
a tripped breaker.

Front ends list these first (the dashboard's "needs you", the TUI's highlight), so the rule is
written once, here.
"""

from __future__ import annotations

from collections.abc import Sequence

from overmind.control.missions import Row, View

WAITING = "waiting for input"  # what a session's wrapper tells systemd (STATUS=) while it waits


def needs_you(view: View) -> str | None:
    """Why the mission or blueprint needs a person now, in a few words; None if it does not."""
    status = view.status
    asking = getattr(view, "permissions", ())  # a mission's pending permission requests (blueprints have none)
    if asking:
        more = len(asking) - 1
        return f"permission for {asking[0].label}" + (f" and {more} more" if more else "")
    if view.type == "session" and status.state == "running" and (view.activity or "").startswith(WAITING):
        return "waiting for your message"
    if status.state == "crashed":
        if tripped(status.reason):
            return f"breaker tripped: {status.reason}"
        return f"crashed: {status.reason}" if status.reason else "crashed"
    if status.state == "failed":
        return f"failed: {status.reason}" if status.reason else "failed"
    return None


def tripped(reason: str | None) -> bool:
    """Whether a crash's reason says the breaker tripped: systemd refused to restart it again."""
    return bool(reason) and (str(reason).startswith("gave up after") or reason == "crash loop")


def first(rows: Sequence[Row]) -> list[Row]:
    """The rows that need a person first, each group in its listing order."""
    return sorted(rows, key=lambda row: needs_you(row.view) is None)
