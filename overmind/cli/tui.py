"""`overmind tui`: the terminal control tower (Textual is imported by this command only)."""

from __future__ import annotations

import os

import click

from overmind.control.host import ready
from overmind.errors import OvermindError

VIEWS = ("missions", "tree", "rituals", "blueprints", "host", "worktrees", "memory", "hosts")


@click.command()
@click.option("--view", type=click.Choice(VIEWS), default="missions", show_default=True, help="The view to open with.")
def tui(view: str) -> None:
    """A k9s-like terminal UI: missions, trees, logs, rituals, blueprints, the host, worktrees and the
    memory, live.

    Keys: j/k move, / filters, Enter logs, d describes, s sends, a attaches, r restarts,
    ctrl+s stops, ctrl+k kills, n starts a mission, : runs a command, ? helps, q quits."""
    from concurrent.futures import ThreadPoolExecutor

    from overmind.control.missions import listing

    ready()
    # The first listing (systemctl and cgroupfs) runs while Textual is imported and set up.
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(listing, True)
        try:
            from overmind.tui.app import Nexus
        except ImportError as error:
            raise OvermindError(f"the TUI needs Textual, which is not installed ({error.name})",
                                hint="pip install 'overmind-agents[tui]'") from None
        # The terminal tells its own size (and its changes); a COLUMNS or LINES a shell exported
        # once would pin it (Textual prefers them).
        for variable in ("COLUMNS", "LINES"):
            os.environ.pop(variable, None)
        Nexus(start=view, first=first).run()


COMMANDS = [tui]
