"""Remote text made harmless for a terminal: a host's output (mission names, log lines, errors)
may carry escape sequences that would move the cursor, retitle the window or worse."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, the C1 controls (0x80-0x9f, which some terminals read as
# escapes of their own), and the bidirectional overrides that make text read other than it is.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"^{chr(code + 64)}" if code < 0x20 else f"\\u{code:04x}" if code > 0xFF else f"\\x{code:02x}"


def printable(text: str) -> str:
    """`text` with every control character but tab and newline shown as visible characters
    (`^[` for ESC, `\\x9b` for a C1 control)."""
    return _CONTROLS.sub(_shown, text)


def printable_line(text: str) -> str:
    """One line of a table or a message: newlines too are shown, not obeyed."""
    return printable(text).replace("\n", "\\n").replace("\t", " ")
