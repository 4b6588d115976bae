"""Which worktrees changed, as it happens, while a control tower shows them.

Nothing loops over every worktree running `git status`. A worktree's git state is read again:
- when the change feed says one of its missions started, reported activity or ended;
- when git writes its administrative folder (`.git/worktrees/NAME`: a commit, `git add`, a
  checkout), or a branch of its repository moves (its base among them: `.git/logs/refs/heads`),
  seen by inotify;
- every FOCUS_EVERY_S while a page or view shows that one worktree (`focus`), for edits nobody
  reports;
and never more often than REFRESH_GAP_S. Its services' states come from the manager's D-Bus
signals, and worktrees made or removed from the store's writes (inotify again).

    watch = WorktreeWatch(board, feed)
    await watch.start()
    async for names in watch.subscribe():  # names whose row changed; EVERYTHING: the set itself
        ...
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from overmind.control.fanout import Fanout
from overmind.control.worktree_board import Board

if TYPE_CHECKING:
    from overmind.control.feed import Feed
    from overmind.store.watch import Inotify
    from overmind.systemd.signals import UnitSignals

EVERYTHING = "*"
REFRESH_GAP_S = 1.0
FOCUS_EVERY_S = 2.0
SETTLE_S = 0.1  # what arrives within this is read once


class WorktreeWatch:
    def __init__(self, board: Board, feed: Feed) -> None:
        self.board = board
        self.feed = feed
        self.focused: dict[str, int] = {}
        self._git: set[str] = set()  # worktrees whose git state is to be read again
        self._rows: set[str] = set()  # worktrees whose row is to be shown again
        self._last_read: dict[str, float] = {}
        self._known: dict[str, str] = {}  # worktree -> its repository
        # inotify watch -> what it watches: ("store", ""), ("worktree", name) or ("repo", repository)
        self._watches: dict[int, tuple[str, str]] = {}
        self._of_mission: dict[str, str] = {}  # mission id -> its worktree
        self._wake = asyncio.Event()
        self._told: Fanout[set[str]] = Fanout()
        self._tasks: list[asyncio.Task[None]] = []
        self._inotify: Inotify | None = None
        self._signals: UnitSignals | None = None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        from overmind.store import state_dir
        from overmind.store.watch import Inotify

        changes = self.feed.subscribe()  # before the snapshot: nothing falls between the two
        for view in self.feed.snapshot():
            worktree = (view.to_json().get("worktree") or {}).get("name") if view.kind == "mission" else None
            if worktree:
                self._of_mission[view.id] = worktree
        self._inotify = Inotify(state_dir())
        self._watches[self._inotify.first] = ("store", "")
        self._inotify.attach(self._on_written)
        await asyncio.to_thread(self._sync_worktrees)
        self.board.forget()  # read before the watch: perhaps no longer so
        self.board.kept = True
        self._tasks = [asyncio.create_task(self._follow_feed(changes)), asyncio.create_task(self._follow_units()),
                       asyncio.create_task(self._focus()), asyncio.create_task(self._work())]

    async def close(self) -> None:
        self.board.kept = False
        self.board.forget()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._inotify is not None:
            self._inotify.close()
        if self._signals is not None:
            self._signals.close()
        self._told.close()

    def subscribe(self) -> AsyncIterator[set[str]]:
        """The names of the worktrees whose rows changed, a set at a time, from now on."""
        return self._told.subscribe()

    def focus(self, name: str) -> None:
        """A page or view shows this worktree alone: its edits are looked for every few seconds."""
        self.focused[name] = self.focused.get(name, 0) + 1
        self.changed(name)

    def unfocus(self, name: str) -> None:
        left = self.focused.get(name, 0) - 1
        if left > 0:
            self.focused[name] = left
        else:
            self.focused.pop(name, None)

    def changed(self, name: str) -> None:
        """Read this worktree's git state again now, and its repository's other worktrees' (after an
        action: a merge moves their base too)."""
        repo = self._known.get(name)
        for other in [name, *(n for n, r in self._known.items() if r == repo)]:
            self._last_read.pop(other, None)
            self._git.add(other)
            self._rows.add(other)
        self._wake.set()

    # -- sources ---------------------------------------------------------------------------
    async def _follow_feed(self, changes: AsyncIterator[Any]) -> None:
        async for change in changes:
            if change.kind != "mission":
                continue
            worktree = ((change.data or {}).get("worktree") or {}).get("name") or self._of_mission.get(change.id)
            if change.data is None:
                self._of_mission.pop(change.id, None)
            elif worktree:
                self._of_mission[change.id] = worktree
            if worktree:
                self._git.add(worktree)  # activity, a start or an end: the work may have moved
                self._rows.add(worktree)
                self._wake.set()

    async def _follow_units(self) -> None:
        """The worktrees' services and setups: the manager's signals about their units."""
        from overmind.names import unit_prefix
        from overmind.systemd.signals import RELOADED, UnitSignals

        prefix = unit_prefix()
        kinds = (f"{prefix}-svc@", f"{prefix}-setup@")
        try:
            self._signals = UnitSignals()
            await self._signals.connect()
        except Exception as error:  # noqa: BLE001 - rows stay right, only services' states are read later
            print(f"overmind: services' states are not followed: {error}", file=sys.stderr)
            return
        async for units in self._signals.batches():
            for unit in units:
                if unit.startswith(kinds) or unit == RELOADED:
                    self.board.services_changed()
                    worktree = self._worktree_of_unit(unit.partition("@")[2].removesuffix(".service"))
                    self._rows.update([worktree] if worktree else self._known)
                    self._wake.set()

    def _worktree_of_unit(self, instance: str) -> str | None:
        """`NAME` (a setup) or `NAME.SERVICE`: the longest known worktree name it starts with."""
        fitting = [name for name in self._known if instance == name or instance.startswith(name + ".")]
        return max(fitting, key=len) if fitting else None

    def _on_written(self) -> None:
        if self._inotify is None:
            return
        for wd in self._inotify.written():
            kind, which = self._watches.get(wd, ("", ""))
            if kind == "store":
                self._rows.add(EVERYTHING)  # a worktree made or removed, perhaps
            elif kind == "worktree":
                self._git.add(which)
                self._rows.add(which)
            elif kind == "repo":  # a branch moved (a base among them): its worktrees' ahead and behind
                names = [name for name, repo in self._known.items() if repo == which]
                self._git.update(names)
                self._rows.update(names)
            self._wake.set()

    async def _focus(self) -> None:
        while True:
            await asyncio.sleep(FOCUS_EVERY_S)
            if self.focused:
                self._git.update(self.focused)
                self._wake.set()

    # -- reading and telling ---------------------------------------------------------------
    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            await asyncio.sleep(SETTLE_S)
            self._wake.clear()
            wanted, rows = self._git, self._rows
            self._git, self._rows = set(), set()
            now = time.monotonic()
            due = {name for name in wanted if now - self._last_read.get(name, 0.0) >= REFRESH_GAP_S}
            for name in wanted - due:  # read lately: once more when the gap is over
                loop.call_later(REFRESH_GAP_S - (now - self._last_read[name]), self._again, name)
            try:
                told = await asyncio.to_thread(self._read, due, EVERYTHING in rows)
            except Exception as error:  # noqa: BLE001 - a long-lived watch outlives one failed read
                print(f"overmind: worktrees could not be read: {type(error).__name__}: {error}", file=sys.stderr)
                continue
            told |= {name for name in rows if name in self._known}
            if told:
                self._told.publish(told)

    def _again(self, name: str) -> None:
        self._git.add(name)
        self._wake.set()

    def _read(self, due: set[str], store_written: bool) -> set[str]:
        """Read the due worktrees' git state (and, after a store write, which worktrees exist);
        the names whose row changed."""
        told: set[str] = set()
        if store_written and self._sync_worktrees():
            told.add(EVERYTHING)
        due &= set(self._known)
        if due:
            stamp = time.monotonic()
            told |= self.board.refresh(sorted(due))
            self._last_read.update(dict.fromkeys(due, stamp))
        return told

    def _sync_worktrees(self) -> bool:
        """Watch the git folders of every worktree there is (and no other), and the branches of
        their repositories; True if the set of worktrees changed."""
        from overmind.store import shared
        from overmind.store.worktrees import WorktreeStore

        assert self._inotify is not None
        records = {r.name: r for r in WorktreeStore(shared()).all()}
        if set(records) == set(self._known):
            return False
        for name in set(self._known) - set(records):
            self._unwatch(("worktree", name))
            del self._known[name]
        for name, record in records.items():
            if name not in self._known:
                self._watch(("worktree", name), _git_folders(record.path))
        repos = {record.repo for record in records.values()}
        for repo in set(self._known.values()) - repos:
            self._unwatch(("repo", repo))
        for repo in repos - set(self._known.values()):
            self._watch(("repo", repo), [os.path.join(repo, ".git", "logs", "refs", "heads")])
        self._known = {name: record.repo for name, record in records.items()}
        return True

    def _watch(self, what: tuple[str, str], folders: list[str]) -> None:
        assert self._inotify is not None
        for folder in folders:
            wd = self._inotify.add(folder) if os.path.isdir(folder) else -1
            if wd >= 0:
                self._watches[wd] = what

    def _unwatch(self, what: tuple[str, str]) -> None:
        assert self._inotify is not None
        for wd in [wd for wd, of in self._watches.items() if of == what]:
            self._inotify.remove(wd)
            del self._watches[wd]


def _git_folders(worktree: str) -> list[str]:
    """The worktree's administrative folder in its repository (`.git` in a worktree is a file
    naming it), and its reflog's folder: a commit, an add or a checkout writes there."""
    try:
        with open(os.path.join(worktree, ".git"), encoding="utf-8", errors="replace") as f:
            pointer = f.read().strip()
    except OSError:
        return []
    if not pointer.startswith("gitdir: "):
        return []
    folder = os.path.join(worktree, pointer.removeprefix("gitdir: "))
    return [path for path in (folder, os.path.join(folder, "logs")) if os.path.isdir(path)]
