"""The one exception type that reaches the user as a single line."""

from __future__ import annotations


class OvermindError(Exception):
    """A failure the user can act on: printed as one line (plus a hint), never a traceback."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


class NotFound(OvermindError):
    """What was named does not exist (a mission, a ritual): a front end's 404."""


class MissionNotFound(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no mission named '{ref}'", hint="see 'overmind ps --all'")
