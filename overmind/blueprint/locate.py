"""Where each key of a TOML document is, by line: tomlkit keeps no positions, so scan the text.

The document has already been parsed by tomlkit, so this only has to follow TOML's structure
(tables, dotted keys, strings, arrays, inline tables) well enough to know which line each key
path starts on; it never interprets values.
"""

from __future__ import annotations

import re

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}\r\n#]*")
_ESCAPE = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class KeyLines:
    """The first line of every key path, e.g. ("agents", "build", "depends_on", 0) -> 12."""

    def __init__(self, text: str) -> None:
        scanner = _Scanner(text)
        try:
            scanner.document()
        except (IndexError, ValueError):
            pass  # keep what was found; callers fall back to the nearest enclosing key
        self._lines = scanner.lines

    def line(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor that was found, or 1."""
        for end in range(len(path), 0, -1):
            if path[:end] in self._lines:
                return self._lines[path[:end]]
        return 1


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[Path, int] = {}
        self.array_tables: dict[Path, int] = {}

    # -- characters ---------------------------------------------------------------------
    def at(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def advance(self, count: int = 1) -> str:
        chunk = self.text[self.pos:self.pos + count]
        self.line += chunk.count("\n")
        self.pos += count
        return chunk

    def skip_blank(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def note(self, path: Path) -> None:
        for end in range(1, len(path) + 1):
            self.lines.setdefault(path[:end], self.line)

    # -- structure ----------------------------------------------------------------------
    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.at("[["):
                self.advance(2)
                name = tuple(self.key())
                self.advance(2)
                index = self.array_tables.get(name, 0)
                self.array_tables[name] = index + 1
                table = (*name, index)
                self.note(table)
            elif self.at("["):
                self.advance()
                table = tuple(self.key())
                self.advance()
                self.note(table)
            else:
                path = (*table, *self.key())
                self.note(path)
                self.advance()  # =
                self.skip_blank(newlines=False)
                self.value(path)

    def key(self) -> list[str]:
        parts = []
        while True:
            self.skip_blank(newlines=False)
            if self.at('"'):
                parts.append(self.basic_string())
            elif self.at("'"):
                parts.append(self.literal_string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    raise ValueError(f"no key at offset {self.pos}")
                parts.append(self.advance(match.end() - self.pos))
            self.skip_blank(newlines=False)
            if not self.at("."):
                return parts
            self.advance()

    def value(self, path: Path) -> None:
        if self.at('"""') or self.at("'''"):
            self.multiline_string(self.text[self.pos])
        elif self.at('"'):
            self.basic_string()
        elif self.at("'"):
            self.literal_string()
        elif self.at("["):
            self.array(path)
        elif self.at("{"):
            self.inline_table(path)
        else:
            match = _SCALAR.match(self.text, self.pos)
            assert match is not None
            self.advance(match.end() - self.pos)

    def array(self, path: Path) -> None:
        self.advance()
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.at("]"):
                self.advance()
                return
            self.note((*path, index))
            self.value((*path, index))
            index += 1
            self.skip_blank(newlines=True)
            if self.at(","):
                self.advance()

    def inline_table(self, path: Path) -> None:
        self.advance()
        while True:
            self.skip_blank(newlines=False)
            if self.at("}"):
                self.advance()
                return
            inner = (*path, *self.key())
            self.note(inner)
            self.advance()  # =
            self.skip_blank(newlines=False)
            self.value(inner)
            self.skip_blank(newlines=False)
            if self.at(","):
                self.advance()

    # -- strings ------------------------------------------------------------------------
    def basic_string(self) -> str:
        self.advance()
        out = []
        while not self.at('"'):
            char = self.advance()
            if char == "\\":
                escaped = self.advance()
                if escaped in "uU":
                    out.append(chr(int(self.advance(4 if escaped == "u" else 8), 16)))
                else:
                    out.append(_ESCAPE.get(escaped, escaped))
            else:
                out.append(char)
        self.advance()
        return "".join(out)

    def literal_string(self) -> str:
        self.advance()
        end = self.text.index("'", self.pos)
        text = self.advance(end - self.pos)
        self.advance()
        return text

    def multiline_string(self, quote: str) -> None:
        delimiter = quote * 3
        self.advance(3)
        while not self.at(delimiter):
            if quote == '"' and self.at("\\"):
                self.advance()
            self.advance()
        self.advance(3)
        # Up to two quotes right before the closing delimiter belong to the string.
        for _ in range(2):
            if self.at(quote):
                self.advance()
