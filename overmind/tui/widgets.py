"""The pieces every view shares: the header, the command bar, and the confirm and help dialogs."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, Static

from overmind.tui import commands
from overmind.tui.cells import STATUS_STYLES

if TYPE_CHECKING:
    from overmind.tui.app import Nexus


class HeaderBar(Static):
    """Host and manager, missions by status, today's agent cost; then where you are."""

    DEFAULT_CSS = "HeaderBar { height: 2; background: $panel; padding: 0 1; }"

    def show(self, host: str, counts: dict[str, int], today: float | None, crumbs: list[str]) -> None:
        line = Text.assemble(("overmind", "bold"), " ", host, "  ")
        for state, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            line.append(f"{count} {state}", style=STATUS_STYLES.get(state, ""))
            line.append("  ")
        if not counts:
            line.append("no missions  ", style="dim")
        line.append(f"today ${today:.2f}" if today is not None else "today $…", style="bold")
        trail = Text(" > ".join(crumbs), style="bold cyan")
        width = max(self.size.width - 2, 20)  # one line each, cut to the width: the view stays put
        for part in (line, trail):
            part.truncate(width, overflow="ellipsis")
        self.update(Text("\n").join([line, trail]))


class CommandSuggester(Suggester):
    """Completes command words, and mission names after a command that takes one."""

    def __init__(self, app: Nexus) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.nexus = app

    async def get_suggestion(self, value: str) -> str | None:
        if self.nexus.command_bar_mode != ":":
            return None
        return commands.complete(value, [v.name for v in self.nexus.views.values()])


class CommandBar(Vertical):
    """`:` for a command, `/` for a filter: one input line, and one line for what went wrong."""

    DEFAULT_CSS = """
    CommandBar { height: auto; display: none; }
    CommandBar.open, CommandBar.failed { display: block; }
    CommandBar Horizontal { height: 1; display: none; }
    CommandBar.open Horizontal { display: block; }
    CommandBar #prompt { width: 2; color: $accent; text-style: bold; }
    CommandBar Input, CommandBar Input:focus { border: none; height: 1; padding: 0; width: 1fr; }
    CommandBar #error { color: $error; height: auto; display: none; }
    CommandBar #error.shown { display: block; }
    """
    BINDINGS = [Binding("tab", "accept", "complete", show=False), Binding("escape", "close", "close", show=False)]

    class Submitted(Message):
        def __init__(self, mode: str, value: str) -> None:
            super().__init__()
            self.mode = mode
            self.value = value

    mode = ":"

    @property
    def nexus(self) -> Nexus:
        return cast("Nexus", self.app)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(":", id="prompt")
            yield Input(id="command-input", suggester=CommandSuggester(self.nexus))
        yield Static(id="error")

    def open(self, mode: str, value: str = "") -> None:
        self.mode = self.nexus.command_bar_mode = mode
        self.query_one("#prompt", Label).update(mode)
        field = self.query_one(Input)
        field.value = value
        field.cursor_position = len(value)
        self.fail(None)
        self.add_class("open")
        field.focus()

    def close(self, failure: str | None = None) -> None:
        """Close the input line; a `failure` stays shown in its place (until the bar opens again),
        so the keys after it act on the view instead of piling up in a bar left open."""
        self.remove_class("open")
        self.fail(failure)

    def fail(self, message: str | None) -> None:
        error = self.query_one("#error", Static)
        error.update(message or "")
        error.set_class(bool(message), "shown")
        self.set_class(bool(message), "failed")

    def action_accept(self) -> None:
        self.query_one(Input).action_cursor_right()  # takes the suggestion shown after the cursor

    def action_close(self) -> None:
        self.close()
        self.screen.focus_next()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self.mode, event.value))


class Confirm(ModalScreen[bool]):
    """A yes/no question: `y` or Enter acts, `n` or Esc does not."""

    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: auto; max-width: 90%; height: auto; border: thick $error; padding: 1 2;
                         background: $surface; }
    Confirm #keys { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("y,enter", "answer(True)", "yes"), Binding("n,escape", "answer(False)", "no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.question), id="question")  # names and file names are not markup
            yield Label("y / Enter: yes    n / Esc: no", id="keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class Help(ModalScreen[None]):
    """`?`: the current view's keys, the keys every view has, and the commands."""

    DEFAULT_CSS = """
    Help > VerticalScroll { width: 1fr; height: 1fr; margin: 1 2; border: thick $accent; padding: 0 1;
                            background: $surface; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close"),
                Binding("j,down", "scroll(1)", "down", show=False), Binding("k,up", "scroll(-1)", "up", show=False)]

    def __init__(self, title: str, keys: list[tuple[str, str]], general: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.keys = keys
        self.general = general

    def compose(self) -> ComposeResult:
        text = Text()
        sections = [(f"{self.title_text}", self.keys), ("every view", self.general),
                    ("commands (:)", [(f":{v.name}" + (f" {v.takes}" if v.takes else ""),
                                      f"{v.help} (aliases: {', '.join(v.aliases)})") for v in commands.VERBS])]
        for heading, rows in sections:
            text.append(f"{heading}\n", style="bold underline")
            width = max((len(key) for key, _ in rows), default=0)
            for key, what in rows:
                text.append(f"  {key:<{width}}  ", style="bold cyan")
                text.append(f"{what}\n")
            text.append("\n")
        with VerticalScroll():
            yield Static(text)

    def action_scroll(self, step: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=step, animate=False)
