"""What kinds of missions there are, and the rules that follow from a mission's kind."""

from __future__ import annotations

MISSION_TYPES = ("task", "session", "quest")  # a blueprint is not a mission: it has its own records
RESTART_POLICIES = {"never": "no", "on-failure": "on-failure", "always": "always"}  # -> Restart=
ON_BOOT = ("run", "skip")  # what the next boot does with a persisted mission (docs/reboots.md)


def runs_under_wrapper(provider: str, type: str) -> bool:
    """Agent CLIs and sessions run under the in-unit wrapper that parses their events, reports
    STATUS= to systemd and serves the control socket (send, subscribe, attach); plain commands
    run as they are."""
    return provider != "raw" or type == "session"
