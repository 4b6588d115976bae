"""A worktree's diff against its base (what `overmind worktree diff` prints), in colour, with its
commits above: `n`/`p` go to the next or previous file, `/` finds text (again: the next match),
`m` merges, `ctrl+d` removes, `l` shows its mission's logs. Live: read again when its work
changes (its missions' activity, a commit, and every few seconds while shown)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding

from overmind import format as fmt
from overmind.tui.filtering import Filter
from overmind.tui.lines import Lines
from overmind.tui.screens.worktree_actions import WorktreeActions, work

if TYPE_CHECKING:
    from overmind.control.worktrees import Review

LINE_STYLES = {"add": "green", "del": "red", "hunk": "cyan", "note": "dim italic", "ctx": ""}
SIGNS = {"add": "+", "del": "-", "ctx": " ", "note": "\\"}


def render(row: dict[str, Any], review: Review) -> tuple[list[Text], list[int]]:
    """The pane's lines, and where each file starts among them."""
    lines = [Text.assemble((fmt.caret(row["name"]), "bold"), "  ", fmt.caret(row["branch"]), " → ",
                           fmt.caret(row["base"]), "  ", work(row))]
    lines.append(Text(f"commits ({len(review.commits)} not in {fmt.caret(row['base'])})", style="bold"))
    for commit in review.commits:
        lines.append(Text.assemble("  ", (commit.sha[:12], "yellow"), "  ", fmt.caret(commit.subject), "  ",
                                   (f"{fmt.caret(commit.author)}, {fmt.relative(commit.at)}", "dim")))
    if not review.commits:
        lines.append(Text("  none yet", style="dim"))
    added = sum(f.added or 0 for f in review.files)
    removed = sum(f.removed or 0 for f in review.files)
    lines.append(Text.assemble((f"files ({len(review.files)}) ", "bold"), (f"+{added}", "green"), " ",
                               (f"-{removed}", "red")))
    starts = []
    for file in review.files:
        lines.append(Text(""))
        starts.append(len(lines))
        header = Text.assemble((f" {file.status} ", "reverse"), " ", (fmt.caret(file.path), "bold"))
        if file.old_path:
            header.append(f" (from {fmt.caret(file.old_path)})", style="dim")
        if file.binary:
            header.append("  binary", style="dim")
        else:
            header.append_text(Text.assemble("  ", (f"+{file.added}", "green"), " ", (f"-{file.removed}", "red")))
        lines.append(header)
        for line in file.lines:
            if line.kind == "hunk":
                lines.append(Text(fmt.caret(line.text), style=LINE_STYLES["hunk"]))
                continue
            numbers = f"{line.old if line.old is not None else '':>5} {line.new if line.new is not None else '':>5} "
            lines.append(Text.assemble((numbers, "dim"), (SIGNS[line.kind] + fmt.caret(line.text).expandtabs(4),
                                                          LINE_STYLES[line.kind])))
    if not review.files:
        lines.append(Text("  no changes", style="dim"))
    return lines, starts


class WorktreeDiff(WorktreeActions):
    BINDINGS = [
        Binding("n", "file(1)", "next file"), Binding("p", "file(-1)", "previous file"),
        Binding("slash", "search", "search", key_display="/"), Binding("m", "merge", "merge"),
        Binding("ctrl+d", "remove(False)", "remove"), Binding("D", "remove(True)", "remove, saving work", show=False),
        Binding("l", "logs", "logs"),
        Binding("j,down", "scroll(1)", "down", show=False), Binding("k,up", "scroll(-1)", "up", show=False),
        Binding("g", "edge(False)", "top", show=False), Binding("G", "edge(True)", "bottom", show=False),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.worktree = name
        self.crumb = f"diff({name})"
        self.row: dict[str, Any] | None = None
        self.starts: list[int] = []
        self.at_file = 0  # the file n/p went to last (0: none yet), or the one scrolled to
        self.search = ""

    def body(self) -> ComposeResult:
        yield Lines(id="diff")

    @property
    def pane(self) -> Lines:
        return self.query_one(Lines)

    def on_mount(self) -> None:
        self.pane.show([Text("reading the diff…", style="dim")])
        self.run_worker(self._follow(), exit_on_error=False, group="follow")

    async def _follow(self) -> None:
        from overmind.control.worktree_watch import EVERYTHING
        from overmind.tui.towers import read_and_follow

        await self._read()
        watch = await self.nexus.towers.worktrees()
        if watch is not None:
            watch.focus(self.worktree)  # its edits are looked for every few seconds while shown
        try:
            await read_and_follow(self._read, watch, lambda names: self.worktree in names or EVERYTHING in names)
        finally:
            if watch is not None:
                watch.unfocus(self.worktree)

    async def _read(self) -> None:
        from overmind.control.worktrees import review

        def read() -> tuple[dict[str, Any], Review]:
            row = self.nexus.towers.board.rows(self.worktree)[0]
            return row, review(self.worktree) if not row["missing"] else _empty(self.worktree)

        found = await self.nexus.attempt(read)
        if found is None:
            return
        self.row, review_of = found
        lines, self.starts = render(self.row, review_of)
        self.pane.show(lines)
        self._title()

    def _title(self, scrolled: bool = False) -> None:
        if scrolled:
            self.at_file = sum(1 for start in self.starts if start <= self.pane.top)
        file = min(self.at_file, len(self.starts))
        searched = f" /{self.search}" if self.search else ""
        self.crumb = f"diff({self.worktree}) file {file}/{len(self.starts)}{searched}"
        self.nexus.show_header(self)

    def current(self) -> dict[str, Any] | None:
        return self.row

    def removed(self, name: str) -> None:
        self.action_back()

    def action_file(self, step: int) -> None:
        """The next or previous file (a diff shorter than the screen has files to go to, too)."""
        target = self.at_file + step
        if not 1 <= target <= len(self.starts):
            self.notify("no next file" if step > 0 else "this is the first file", severity="warning")
            return
        self.at_file = target
        self.pane.jump(self.starts[target - 1])
        self._title()

    def action_search(self) -> None:
        from overmind.tui.widgets import CommandBar

        self.query_one(CommandBar).open("/", self.search)

    def set_filter(self, text: str) -> None:
        """`/TEXT`: mark every match, and show the next one after the top line (again: the one after)."""
        found = Filter.parse(text)
        self.search = text
        self.pane.highlight(found.pattern)
        matches = self.pane.matches()
        if text and not matches:
            self.notify(f"no line matches {text}", severity="warning", markup=False)
        elif matches:
            top = self.pane.top
            following = [index for index in matches if index > top] or matches
            self.pane.jump(following[0])
        self._title(scrolled=True)

    def action_scroll(self, step: int) -> None:
        self.pane.scroll_relative(y=step, animate=False, immediate=True)
        self._title(scrolled=True)

    def action_edge(self, bottom: bool) -> None:
        if bottom:
            self.pane.scroll_end(animate=False, immediate=True)
        else:
            self.pane.scroll_home(animate=False, immediate=True)
        self._title(scrolled=True)

    def action_back(self) -> None:
        if self.search:
            self.search = ""
            self.pane.highlight(None)
            self._title()
        else:
            super().action_back()

    def focus_body(self) -> None:
        self.pane.focus()


def _empty(name: str) -> Review:
    from overmind.control.worktrees import Review

    return Review(name, [], [])
