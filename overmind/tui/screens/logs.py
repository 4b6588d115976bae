"""`:logs NAME`: a mission's output, followed live. Only what is shown is read: the last page
opens at once however long the output is, and earlier pages are read on demand (`b`, or `g` at
the top), walking back from the first line shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import RichLog

from overmind.tui.filtering import NONE, Filter
from overmind.tui.screens.base import View

if TYPE_CHECKING:
    from overmind.control.logs import Entry, Selection

PAGE = 500  # lines read at a time
KEEP = 20_000  # lines kept in memory; a long follow drops the oldest


class Logs(View):
    crumb = "logs"
    BINDINGS = [
        Binding("f", "toggle_follow", "follow"), Binding("w", "toggle_wrap", "wrap"),
        Binding("slash", "filter", "search", key_display="/"), Binding("b", "earlier", "earlier lines"),
        Binding("g", "top", "top"), Binding("G", "bottom", "bottom"),
        Binding("j", "scroll(1)", "down", show=False), Binding("k", "scroll(-1)", "up", show=False),
        Binding("d", "describe", "describe"),
    ]

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref
        self.crumb = f"logs({ref})"
        self.name_shown = ref
        self.entries: list[Entry] = []
        self.selection: Selection | None = None
        self.follow = True
        self.wrap = False
        self.filter = NONE
        self.exhausted = False  # no earlier lines left

    def body(self) -> ComposeResult:
        yield RichLog(id="log", max_lines=KEEP, wrap=False, markup=False, highlight=False, auto_scroll=True)

    @property
    def log_view(self) -> RichLog:
        return self.query_one(RichLog)

    def on_mount(self) -> None:
        self.run_worker(self._read(), exit_on_error=False, group="follow")

    async def _read(self) -> None:
        from overmind.control import logs

        def first_page() -> tuple[Selection, list[Entry]]:
            selection = logs.select(self.ref)
            return selection, list(logs.lines(selection, count=PAGE))

        found = await self.nexus.attempt(first_page)
        if found is None:
            return
        self.selection, self.entries = found
        if len(self.selection.missions) == 1:
            self.name_shown = self.selection.missions[0].name
        self.exhausted = len(self.entries) < PAGE
        self._redraw()
        after = self.entries[-1].cursor if self.entries else None
        async for entry in logs.follow(self.selection, after_cursor=after, count=0):
            self.entries.append(entry)
            if len(self.entries) > KEEP:
                del self.entries[: len(self.entries) - KEEP]
                self.exhausted = False
            if self.filter.keeps(entry.message):
                self.log_view.write(self._line(entry), scroll_end=self.follow)

    def _line(self, entry: Entry) -> str:
        from overmind.control.logs import format_entry

        assert self.selection is not None
        return format_entry(entry, with_name=self.selection.with_names, name_width=self.selection.name_width)

    def _redraw(self, keep_top: int | None = None) -> None:
        """Write the kept lines again (after a filter, wrap or an earlier page); `keep_top` lines
        were added above, so the view stays on what was shown."""
        log = self.log_view
        log.clear()
        log.wrap = self.wrap
        shown = [self._line(e) for e in self.entries if self.filter.keeps(e.message)]
        for line in shown:
            log.write(line, scroll_end=False)
        if keep_top is not None:
            log.scroll_to(y=keep_top, animate=False, immediate=True)
        elif self.follow:
            log.scroll_end(animate=False, immediate=True)
        self._title()

    def _title(self) -> None:
        state = [f"follow {'on' if self.follow else 'off'}", f"wrap {'on' if self.wrap else 'off'}",
                 f"{len(self.entries)} lines" + ("" if self.exhausted else ", b for earlier")]
        if self.filter.text:
            state.append(f"/{self.filter.text}")
        self.crumb = f"logs({self.name_shown}) " + " · ".join(state)
        self.nexus.show_header(self)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.log_view.auto_scroll = self.follow
        if self.follow:
            self.log_view.scroll_end(animate=False)
        self._title()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self._redraw()

    def action_filter(self) -> None:
        from overmind.tui.widgets import CommandBar

        self.query_one(CommandBar).open("/", self.filter.text)

    def set_filter(self, text: str) -> None:
        self.filter = Filter.parse(text)
        self._redraw()

    def action_back(self) -> None:
        if self.filter.text:
            self.set_filter("")
        else:
            super().action_back()

    async def action_earlier(self) -> None:
        from overmind.control.logs import earlier

        if self.selection is None or not self.entries or self.exhausted:
            if self.exhausted:
                self.notify("this is the first line")
            return
        cursor = self.entries[0].cursor
        if cursor is None:
            return
        found = await self.nexus.attempt(earlier, self.selection, cursor, PAGE)
        if found is None:
            return
        self.exhausted = len(found) < PAGE
        self.entries[:0] = found
        self.follow = False
        self.log_view.auto_scroll = False
        self._redraw(keep_top=sum(1 for e in found if self.filter.keeps(e.message)))

    async def action_top(self) -> None:
        if self.log_view.scroll_y == 0 and not self.exhausted:
            await self.action_earlier()
        self.log_view.scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.follow = True
        self.log_view.auto_scroll = True
        self.log_view.scroll_end(animate=False)
        self._title()

    def action_scroll(self, step: int) -> None:
        self.log_view.scroll_relative(y=step, animate=False)

    def action_describe(self) -> None:
        self.nexus.open_mission("describe", self.ref)

    def focus_body(self) -> None:
        self.log_view.focus()
