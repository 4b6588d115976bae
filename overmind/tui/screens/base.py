"""What every view has: the header, its body, the command bar and the footer with its keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from overmind.tui.failures import one_line
from overmind.tui.widgets import CommandBar, HeaderBar

if TYPE_CHECKING:
    from overmind.tui.app import Nexus


class View(Screen[None]):
    """A view: `crumb` names it in the breadcrumbs; `body()` yields what it shows."""

    crumb = "view"
    BINDINGS = [Binding("escape", "back", "back")]

    @property
    def nexus(self) -> Nexus:
        return cast("Nexus", self.app)

    def compose(self) -> ComposeResult:
        yield HeaderBar()
        yield from self.body()
        yield CommandBar()
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.nexus.show_header(self)

    def action_back(self) -> None:
        if self.nexus.screen_stack.index(self) > 1:
            self.app.pop_screen()

    def on_command_bar_submitted(self, message: CommandBar.Submitted) -> None:
        bar = self.query_one(CommandBar)
        if message.mode == "/":
            try:
                self.set_filter(message.value)
            except Exception as error:  # a bad expression: said inline, the bar stays open
                bar.fail(one_line(error))
                return
            bar.close()
        else:
            # A command that cannot run closes the bar all the same, saying why in its place.
            bar.close(self.nexus.run_command(message.value))
        self.focus_body()

    def focus_body(self) -> None:
        self.focus_next()

    def set_filter(self, text: str) -> None:
        """`/` in this view (views without a filter say so)."""
        from overmind.errors import OvermindError

        raise OvermindError(f"the {self.crumb} view has no filter")

    # -- what the app tells every view ----------------------------------------------------------
    def views_changed(self, ids: set[str] | None) -> None:
        """Missions or blueprints changed (`ids`; None: any of them)."""

    def rituals_changed(self) -> None:
        """A ritual fired or changed."""

    def permissions_changed(self) -> None:
        """An agent asked a person for a permission, or was answered."""

    def help_keys(self) -> list[tuple[str, str]]:
        """This view's keys for `?`: from its bindings."""
        found: dict[str, str] = {}
        ours = [cls for cls in reversed(type(self).__mro__) if cls.__module__.startswith("overmind.")]
        for cls in ours:
            for item in vars(cls).get("BINDINGS", []):
                if isinstance(item, Binding) and item.description:
                    found[item.key_display or item.key.replace(",", " ")] = item.description
        return list(found.items())

    def __rich_repr__(self) -> Any:
        yield self.crumb
