"""The `/` filter of a table or a log: a case-insensitive regular expression; `!` in front keeps
what does not match. A bad expression is a one-line error, never a traceback."""

from __future__ import annotations

import re
from typing import NamedTuple

from overmind.errors import OvermindError


class Filter(NamedTuple):
    text: str  # as typed, shown in the title
    pattern: re.Pattern[str] | None
    inverse: bool

    @classmethod
    def parse(cls, text: str) -> Filter:
        inverse = text.startswith("!")
        body = text[1:] if inverse else text
        if "\0" in body:
            raise OvermindError("the filter contains a NUL byte")
        try:
            pattern = re.compile(body, re.IGNORECASE) if body else None
        except re.error as error:
            raise OvermindError(f"not a regular expression: {error}", hint="e.g. /build, /^om-, /!crashed") from None
        return cls(text, pattern, inverse)

    def keeps(self, *texts: str) -> bool:
        if self.pattern is None:
            return True
        found = any(self.pattern.search(text) for text in texts)
        return found != self.inverse


NONE = Filter("", None, False)
