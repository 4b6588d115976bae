"""`n`: a new mission from a form: command or prompt, provider, type, name, working directory,
restart policy. The strings go to the same parser as `overmind run`'s options, so a mistake is
the same one-line error, shown in the form."""

from __future__ import annotations

import os

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from overmind.providers import PROVIDERS
from overmind.tui.failures import one_line


class NewMission(ModalScreen[None]):
    DEFAULT_CSS = """
    NewMission { align: center middle; }
    NewMission > VerticalScroll { width: 90%; max-width: 100; height: auto; max-height: 100%;
                                  border: thick $accent; padding: 0 1; background: $surface; }
    NewMission Horizontal { height: auto; margin-top: 1; }
    NewMission Select { width: 1fr; margin-right: 1; }
    NewMission #error { color: $error; height: auto; }
    NewMission #buttons { margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "dismiss", "cancel"), Binding("ctrl+r", "start", "start")]
    # The first key goes into the command line (else into the scrolling frame, lost).
    AUTO_FOCUS = "#command"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label("[b]new mission[/b]   Enter or ctrl+r starts it, Esc cancels")
            yield Label("command (or the agent's prompt), then provider, type and restart policy")
            yield Input(placeholder="e.g. make test", id="command", compact=True)
            with Horizontal():
                yield Select([(p, p) for p in PROVIDERS], value="raw", allow_blank=False,
                             id="provider", compact=True)
                yield Select([(t, t) for t in ("task", "session")], value="task", allow_blank=False, id="type",
                             compact=True)
                yield Select([(r, r) for r in ("never", "on-failure", "always")], value="never", allow_blank=False,
                             id="restart", compact=True)
            yield Label("name (empty: a generated one)")
            yield Input(placeholder="e.g. build", id="name", compact=True)
            yield Label("working directory")
            yield Input(value=os.getcwd(), id="cwd", compact=True)
            yield Static(id="error")
            with Horizontal(id="buttons"):
                yield Button("start", variant="primary", id="start", compact=True)
                yield Button("cancel", id="cancel", compact=True)

    def on_input_submitted(self) -> None:
        self.run_worker(self.action_start(), exit_on_error=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.run_worker(self.action_start(), exit_on_error=False)
        else:
            self.dismiss()

    def _value(self, widget_id: str) -> str:
        widget = self.query_one(f"#{widget_id}")
        return str(widget.value) if isinstance(widget, (Input, Select)) else ""

    async def action_start(self) -> None:
        import asyncio

        from overmind.control.launch import launch
        from overmind.mission.build import build_spec
        from overmind.names import validate_name

        command, name = self._value("command"), self._value("name").strip()

        def start() -> str:
            if name or "\0" in self._value("name"):
                validate_name(self._value("name"))
            spec = build_spec([command] if command else [], name=name or None, cwd=self._value("cwd") or ".",
                              provider=self._value("provider"), type=self._value("type"),
                              restart=self._value("restart"))
            launched = launch(spec)
            mission = launched.mission
            return "; ".join([f"started {mission.id} ({mission.name})", *launched.warnings])

        error = self.query_one("#error", Static)
        error.update("starting…")
        try:
            said = await asyncio.to_thread(start)
        except Exception as failure:
            error.update(one_line(failure))
            return
        self.notify(said)
        self.dismiss()
