"""`s`: a message to a session, and its reply as the agent streams it (tool calls, text, then the
turn's result). The dialog stays open for the next message; Esc closes it."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RichLog

from overmind.tui.failures import one_line

PART_STYLES = {"tool": "cyan", "tool output": "dim", "tool error": "red", "denied": "bold red", "session": "dim"}


class Send(ModalScreen[None]):
    DEFAULT_CSS = """
    Send { align: center middle; }
    Send > Vertical { width: 95%; height: 80%; border: thick $accent; padding: 0 1; background: $surface; }
    Send RichLog { height: 1fr; border: solid $panel; }
    Send #error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "dismiss", "close")]

    def __init__(self, ref: str, name: str) -> None:
        super().__init__()
        self.ref = ref
        self.name_shown = name
        self.listening: asyncio.Task[None] | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"[b]send to {self.name_shown}[/b]   Enter sends, Esc closes")
            yield Input(placeholder="message", id="message")
            yield Label("", id="error")
            yield RichLog(id="reply", wrap=True, markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        from overmind.control import agents

        error = self.query_one("#error", Label)
        error.update("")
        text = event.value
        try:
            # The stream starts after the last event recorded now: the reply cannot slip in before it.
            after = await asyncio.to_thread(agents.cursor, self.ref)
            if self.listening is None or self.listening.done():
                self.listening = asyncio.create_task(self._listen(after))
            await asyncio.to_thread(agents.send, self.ref, text)
        except Exception as failure:
            error.update(one_line(failure))
            return
        event.input.value = ""
        self.query_one(RichLog).write(Text(f"> {text}", style="bold cyan"))

    async def _listen(self, after: int) -> None:
        from overmind.control.timeline import follow_timeline

        reply = self.query_one(RichLog)
        try:
            async for step in follow_timeline(self.ref, after):
                for kind, text in step.parts:
                    if kind == "you":
                        continue  # shown as it was sent
                    if kind == "exit":
                        reply.write(Text(f"the session has ended: {text}", style="bold red"))
                        return
                    reply.write(Text(f"[{kind}] {text}", style=PART_STYLES.get(kind, "")) if kind != "text" else text)
                if step.result is not None:
                    reply.write(Text(step.result.summary(), style="red" if step.result.is_error else "green"))
        except Exception as failure:
            self.query_one("#error", Label).update(one_line(failure))

    def on_unmount(self) -> None:
        if self.listening is not None:
            self.listening.cancel()
