"""How a failure reads in the app: one line (with the hint), never a traceback."""

from __future__ import annotations

from overmind.errors import OvermindError


def one_line(error: BaseException) -> str:
    if isinstance(error, OvermindError):
        return error.message + (f" ({error.hint})" if error.hint else "")
    return f"unexpected error: {type(error).__name__}: {error}"
