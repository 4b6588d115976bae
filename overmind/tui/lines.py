"""A scrollable pane of styled lines that draws only the lines on screen: a diff of thousands of
lines opens at once and scrolls without delay. The lines are rich `Text` (never markup), so
what they hold is shown as it is."""

from __future__ import annotations

import re

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

MATCH_STYLE = "reverse"


class Lines(ScrollView, can_focus=True):
    DEFAULT_CSS = "Lines { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Text] = []
        self.pattern: re.Pattern[str] | None = None
        self._strips: dict[int, Strip] = {}  # rendered lines, until the lines or the search change

    def show(self, lines: list[Text], keep_position: bool = True) -> None:
        y = self.scroll_y
        self.lines = lines
        self._strips.clear()
        width = max((line.cell_len for line in lines), default=0)
        self.virtual_size = Size(width, len(lines))
        if keep_position:
            self.scroll_to(y=min(y, max(len(lines) - self.size.height, 0)), animate=False)
        self.refresh()

    def highlight(self, pattern: re.Pattern[str] | None) -> None:
        self.pattern = pattern
        self._strips.clear()
        self.refresh()

    def matches(self) -> list[int]:
        if self.pattern is None:
            return []
        return [index for index, line in enumerate(self.lines) if self.pattern.search(line.plain)]

    def jump(self, index: int) -> None:
        """Show line `index` at the top."""
        self.scroll_to(y=index, animate=False, immediate=True)

    @property
    def top(self) -> int:
        return int(self.scroll_y)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(index)
        if strip is None:
            line = self.lines[index]
            if self.pattern is not None and self.pattern.search(line.plain):
                line = line.copy()
                for found in self.pattern.finditer(line.plain):
                    line.stylize(MATCH_STYLE, found.start(), found.end())
            segments = [Segment(s.text, (self.rich_style + s.style) if s.style else self.rich_style, s.control)
                        for s in line.render(self.app.console, end="")]
            strip = Strip(segments, line.cell_len)
            self._strips[index] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)
