"""The application: the view stack, command mode, the header, and the one change feed that keeps
every view live.

Startup shows the missions from one listing (ps's fast path), then opens the change feed; from
then on rows change when systemd signals (via the feed), not on a timer. Memory and CPU change
without any signal, so the running missions' figures are read again from cgroupfs every few
seconds (no systemd call).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import App
from textual.binding import Binding

from overmind.errors import OvermindError
from overmind.tui import commands
from overmind.tui.failures import one_line
from overmind.tui.screens.base import View as ViewScreen
from overmind.tui.widgets import CommandBar, HeaderBar, Help

if TYPE_CHECKING:
    from concurrent.futures import Future

    from overmind.control.feed import Change, Feed
    from overmind.control.missions import Row, View

T = TypeVar("T")
FLUSH_S = 0.03  # changes arriving within this are shown in one redraw
RESOURCES_S = 2.0  # how often the running missions' memory and CPU are read again (cgroupfs only)
EXIT_GRACE_S = 5.0  # after SIGTERM or SIGHUP, the process ends by then however the exit went
COSTS_S = 2.0  # after an agent's change, read what agents spent at most this often


class Nexus(App[None]):
    """`overmind tui`."""

    TITLE = "overmind"
    ENABLE_COMMAND_PALETTE = False
    CSS = "Screen { layers: base; } DataTable { height: 1fr; }"
    BINDINGS = [
        Binding("colon", "command", "command", key_display=":"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
        *(Binding(v.key, f"open('{v.name}')", v.name, show=False) for v in commands.VERBS if v.key),
    ]

    def __init__(self, start: str = "missions", first: Future[list[Row]] | None = None) -> None:
        super().__init__()
        self.start = start
        self.first = first  # the first listing, if it was started before the app
        self.views: dict[str, View] = {}  # every mission and blueprint, as last read or signalled
        self.usd: dict[str, float] = {}  # what each agent mission spent
        self.today: float | None = None
        self.host = "…"
        self.loaded = asyncio.Event()
        self.live = asyncio.Event()  # set once the change feed is followed
        self.command_bar_mode = ":"
        self.feed: Feed | None = None
        from overmind.tui.towers import Towers

        self.towers = Towers(self)
        self._dirty: set[str] | None = set()
        self._flush_pending = False
        self._costs_due = False
        self._drawn = asyncio.Event()  # set once the first listing has been drawn

    # -- startup ----------------------------------------------------------------------------------
    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):  # leave the terminal as it was found
            loop.add_signal_handler(signum, self._exit_on_signal, signum)
        from overmind.tui.screens.missions import Missions

        self.push_screen(Missions())
        if self.start != "missions":
            self.action_open(self.start)
        self.run_worker(self._follow(), name="feed", exit_on_error=False)
        self.run_worker(self._read_host(), name="host", exit_on_error=False)
        self.set_interval(RESOURCES_S, self._reread_running)

    def _exit_on_signal(self, signum: int) -> None:
        """Exit as `q` does; and if that has not ended the process a few seconds later, end it
        anyway: a terminal that went away (SIGHUP) can leave Textual's output thread waiting on
        writes that will never be read, and a TUI must not outlive its terminal."""
        import os
        import threading

        deadline = threading.Timer(EXIT_GRACE_S, os._exit, (128 + signum,))
        deadline.daemon = True  # an exit in time is not held up by it
        deadline.start()
        self.exit()

    async def _read_host(self) -> None:
        from overmind.control.host import context

        self.host = await self.attempt(context) or "?"
        self.show_header()

    async def _follow(self) -> None:
        from overmind.control.feed import Feed
        from overmind.control.missions import listing

        rows = await self.attempt(self._first_listing if self.first is not None else listing, True)
        self._replace([row.view for row in rows or []])
        self.loaded.set()
        await self._drawn.wait()  # the first frame before anything else takes the loop
        # dbus-fast takes ~100 ms to import: in a thread, so the app keeps drawing meanwhile.
        await asyncio.to_thread(import_module, "dbus_fast.aio")
        self.run_worker(self._read_costs(), exit_on_error=False)
        try:
            self.feed = Feed()
            await self.feed.start()
        except OvermindError as error:
            self.notify(f"not live: {one_line(error)}", severity="error", timeout=30)
            return
        changes = self.feed.subscribe()  # no await since start(): nothing published is missed
        self._replace(self.feed.snapshot())  # what changed while the feed started
        self.live.set()
        async for change in changes:
            self._apply(change)

    def _first_listing(self, include_killed: bool) -> list[Row]:
        assert self.first is not None
        return self.first.result()

    async def on_unmount(self) -> None:
        await self.towers.close()
        if self.feed is not None:
            await self.feed.close()

    # -- live state -------------------------------------------------------------------------------
    def _replace(self, views: list[View]) -> None:
        self.views = {v.id: v for v in views}
        self._dirty = None
        self._schedule_flush()

    def _apply(self, change: Change) -> None:
        if change.kind == "ritual":
            for screen in self._views():
                screen.rituals_changed()
            return
        if change.kind == "permission":  # its mission's row changes too, with a change of its own
            for screen in self._views():
                screen.permissions_changed()
            return
        view = self.feed.views.get(change.id) if self.feed is not None else None
        if change.event == "removed" or view is None:
            self.views.pop(change.id, None)
        else:
            self.views[change.id] = view
            if change.data and change.data.get("provider") not in ("raw", "-"):
                self._costs_due = True
        if self._dirty is not None:
            self._dirty.add(change.id)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_pending:
            self._flush_pending = True
            self.set_timer(FLUSH_S, self._show_changes)

    def _show_changes(self) -> None:
        dirty, self._dirty, self._flush_pending = self._dirty, set(), False
        if not self.is_running:  # shutting down: the screens' widgets are going or gone
            return
        for screen in self._views():
            if screen.is_mounted:  # one still composing draws everything once mounted
                screen.views_changed(dirty)
        self.show_header()
        if self.loaded.is_set() and not self._drawn.is_set():
            self.call_after_refresh(self._drawn.set)
        if self._costs_due:
            self._costs_due = False
            self.set_timer(COSTS_S, lambda: self.run_worker(self._read_costs(), exit_on_error=False))

    async def _read_costs(self) -> None:
        from overmind.control import costs

        self.usd = await self.attempt(costs.by_mission) or {}
        self.today = await self.attempt(costs.today)
        self._dirty = None
        self._schedule_flush()

    def _reread_running(self) -> None:
        running = [v for v in self.views.values() if not v.status.finished]
        if running and self.loaded.is_set():
            self.run_worker(self._reread(running), exit_on_error=False, group="reread", exclusive=True)

    async def _reread(self, running: list[View]) -> None:
        from overmind.control.usage import refresh

        for read, view in zip(running, await self.attempt(refresh, running) or [], strict=False):
            # Only over the view it was read from: a change the feed told meanwhile (the mission
            # ended) is newer than this reading, which must not put the old status back.
            if self.views.get(view.id) is read:
                self.views[view.id] = view
                if self._dirty is not None:
                    self._dirty.add(view.id)
        self._schedule_flush()

    def _views(self) -> list[ViewScreen]:
        return [s for s in self.screen_stack if isinstance(s, ViewScreen)]

    # -- header -----------------------------------------------------------------------------------
    def show_header(self, screen: ViewScreen | None = None) -> None:
        from overmind.control.missions import tally

        crumbs = [s.crumb for s in self._views()]
        counts = tally([v for v in self.views.values() if v.status.state != "killed"])
        for shown in [screen] if screen is not None else self._views():
            for header in shown.query(HeaderBar):
                header.show(self.host, counts, self.today, crumbs)

    # -- doing things -----------------------------------------------------------------------------
    async def attempt(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a control-layer call in a worker thread (they run systemctl and read the store);
        a failure becomes one line in the app, never a traceback. None if it failed."""
        try:
            return await asyncio.to_thread(function, *args, **kwargs)
        except Exception as error:  # its words may hold anyone's text (a file name): never markup
            self.notify(one_line(error), severity="error", timeout=10, markup=False)
            return None

    # -- navigation -------------------------------------------------------------------------------
    def run_command(self, text: str) -> str | None:
        """Do a `:command`; what went wrong in one line, if it did."""
        try:
            command = commands.parse(text)
        except OvermindError as error:
            return one_line(error)
        verb = command.verb.name
        if verb == "quit":
            self.exit()
        elif verb == "help":
            self.action_help()
        elif command.argument is not None:
            self.open_mission(verb, command.argument)
        else:
            self.action_open(verb)
        return None

    def action_open(self, verb: str) -> None:
        """Switch to a top-level view: back to the missions, then that view on top."""
        from overmind.tui.screens import blueprints, host, hosts, memory, missions, permissions, rituals, worktrees

        while len(self.screen_stack) > 2 or (len(self.screen_stack) == 2 and not isinstance(self.screen, ViewScreen)):
            self.pop_screen()
        base = self.screen
        if verb == "missions":
            if isinstance(base, missions.Missions):
                base.show_tree(False)
            return
        if verb == "tree" and isinstance(base, missions.Missions):
            base.show_tree(True)
            return
        screens: dict[str, Callable[[], ViewScreen]] = {
            "rituals": rituals.Rituals, "blueprints": blueprints.Blueprints, "host": host.Host,
            "worktrees": worktrees.Worktrees, "memory": memory.Memory, "hosts": hosts.Hosts,
            "permissions": permissions.Permissions}
        self.push_screen(screens[verb]())

    def open_mission(self, verb: str, ref: str) -> None:
        from overmind.tui.screens.describe import Describe
        from overmind.tui.screens.logs import Logs

        self.push_screen(Logs(ref) if verb == "logs" else Describe(ref))

    def action_command(self) -> None:
        if isinstance(self.screen, ViewScreen):
            self.screen.query_one(CommandBar).open(":")

    def action_help(self) -> None:
        screen = self.screen
        if not isinstance(screen, ViewScreen):
            return
        general = [(":", "command mode (Tab completes)"), ("/", "filter: a regex, ! for the inverse"),
                   ("esc", "back"), ("1-8", "missions, tree, rituals, blueprints, host, worktrees, memory, hosts"),
                   ("?", "this help"), ("q  ctrl+c", "quit")]
        self.push_screen(Help(f"{screen.crumb} view", screen.help_keys(), general))
