"""What the worktrees view and a worktree's diff share: a row's work in words and colour, and
merge, remove and logs of the worktree shown (each through the control layer, as the CLI does)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from overmind import format as fmt
from overmind.tui.screens.base import View


def work(row: dict[str, Any]) -> Text:
    """Ahead/behind its base and what is uncommitted, coloured."""
    if row["missing"]:
        return Text("folder gone", style="bold red")
    if row.get("error"):
        return Text(fmt.caret(row["error"]), style="red")
    if row["dirty"] is None:
        return Text("…", style="dim")
    text = Text.assemble((f"+{row['ahead']}", "green"), "/", (f"-{row['behind']}", "red"))
    if row["changes"]:
        text.append(f" {len(row['changes'])} uncommitted", style="yellow")
    else:
        text.append(" clean", style="dim")
    return text


class WorktreeActions(View):
    """Merge, remove and logs of a worktree, for the list and the diff alike."""

    def current(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def _chosen(self) -> dict[str, Any] | None:
        row = self.current()
        if row is None:
            self.notify("no worktree selected", severity="warning")
        return row

    def action_merge(self) -> None:
        from overmind.tui.widgets import Confirm

        row = self._chosen()
        if row is None:
            return
        question = f"Merge {row['branch']} into {row['base']}?\nWith a conflict nothing is changed."

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._merge(row["name"]), exit_on_error=False)

        self.app.push_screen(Confirm(question), answered)

    async def _merge(self, name: str) -> None:
        from overmind.control.worktrees import merge

        result = await self.nexus.attempt(merge, name)
        self._changed(name)
        if result is None:
            return
        if result.conflicts:
            self.notify(f"merging {result.branch} into {result.into} conflicts in: {', '.join(result.conflicts)} "
                        "(nothing was changed: resolve it in the worktree, then merge again)", severity="error",
                        timeout=20, markup=False)
        elif result.already:
            self.notify(f"{result.branch} is already merged into {result.into}", markup=False)
        else:
            uncommitted = f"; {result.uncommitted} uncommitted change(s) stay in the worktree" \
                if result.uncommitted else ""
            self.notify(f"merged {result.branch} into {result.into} ({(result.commit or '')[:12]}){uncommitted}",
                        markup=False)

    def action_remove(self, force: bool) -> None:
        from overmind.tui.widgets import Confirm

        row = self._chosen()
        if row is None:
            return
        question = (f"Remove worktree {row['name']} even with unsaved work?\nIts work is saved as a ref first."
                    if force else f"Remove worktree {row['name']}?\nRefused while it has uncommitted or unmerged work.")

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._remove(row["name"], force), exit_on_error=False)

        self.app.push_screen(Confirm(question), answered)

    async def _remove(self, name: str, force: bool) -> None:
        from overmind.control.worktrees import remove

        result = await self.nexus.attempt(remove, name, force)
        self._changed(name)
        if result is not None:
            saved = f"; its work is saved as {result.saved} (git checkout -b NAME {result.saved})" \
                if result.saved else ""
            self.notify(f"removed worktree {name}{saved}", timeout=20 if saved else 5, markup=False)
            self.removed(name)

    def removed(self, name: str) -> None:
        """The worktree is gone (the diff view then goes back)."""

    def _changed(self, name: str) -> None:
        watch = self.nexus.towers.watching
        if watch is not None:
            watch.changed(name)

    def action_logs(self) -> None:
        row = self._chosen()
        if row is None:
            return
        if not row["mission"]:
            self.notify(f"no mission has worked in {row['name']}", severity="warning", markup=False)
            return
        self.nexus.open_mission("logs", row["mission"])
