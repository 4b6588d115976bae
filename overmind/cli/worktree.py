"""Worktree commands: ls, add, diff, merge, rm (each mission's own git worktree, ports and services).
Parse, call the control layer (`overmind.control.worktrees`), print."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from overmind import format as fmt
from overmind.cli.on_host import on_host
from overmind.cli.options import json_option
from overmind.control.host import ready

if TYPE_CHECKING:
    from overmind.control.worktrees import Removal


@click.group()
def worktree() -> None:
    """Missions' git worktrees: list, create, diff, merge and remove them (work is never lost)."""


@worktree.command("ls")
@click.argument("name", required=False)
@json_option
@on_host()
def ls(name: str | None, as_json: bool) -> None:
    """List worktrees: mission, branch, uncommitted and unmerged work, ports, services, size."""
    from overmind.control.worktrees import listing

    ready()
    found = listing(name)
    if as_json:
        fmt.print_json([w.to_json() for w in found])
        return
    if not found:
        click.echo("no worktrees (an agent started in a git repository gets one: overmind run --provider claude ...)")
        return
    headers = ("NAME", "MISSION", "BRANCH", "WORK", "PORTS", "SERVICES", "SIZE", "PATH")
    click.echo(fmt.table(headers, [(
        w.data["name"], w.data["mission"] or "-", w.data["branch"], w.work,
        " ".join(f"{variable}={port}" for variable, port in w.data["ports"].items()) or "-",
        " ".join(f"{s['name']}:{s['state']}" for s in w.data["services"]) or "-",
        fmt.size(w.data["size_bytes"]), w.data["path"]) for w in found], shrinkable=(0, 1, 2, 4, 5)))


@worktree.command("add")
@click.argument("name")
@click.option("--base", metavar="REF", help="Branch, tag or commit to start from (default: HEAD).")
@click.option("--cwd", default=".", show_default=True, help="A directory inside the repository.")
@json_option
@on_host()
def add(name: str, base: str | None, cwd: str, as_json: bool) -> None:
    """Create a named worktree (with its ports, and .overmind.yml's copy and link) for missions
    to share: overmind run --worktree-name NAME ..."""
    from overmind.control.worktrees import create

    made = create(name, base, cwd)
    for note in made.notes:
        click.echo(f"overmind: {note}", err=True)
    if as_json:
        fmt.print_json(made.to_json())
    else:
        click.echo(f"worktree {made.name} at {made.path} on {made.branch} (from {made.base})")


@worktree.command("diff")
@click.argument("name")
@click.option("--stat", is_flag=True, help="Only a summary of the changed files.")
@json_option
@on_host()
def diff(name: str, stat: bool, as_json: bool) -> None:
    """What the worktree changed since it started: commits, uncommitted and untracked files.
    With --json: each file with its added and removed lines, and the commits on its branch."""
    if as_json:
        from overmind.control.worktrees import review

        fmt.print_json(review(name).to_json())
        return
    from overmind.control.worktrees import diff as worktree_diff

    click.echo(worktree_diff(name, stat, color=sys.stdout.isatty()), nl=False)


@worktree.command("merge")
@click.argument("name")
@click.option("--into", metavar="BRANCH", help="Branch to merge into (default: the one it started from).")
@json_option
@on_host()
def merge(name: str, into: str | None, as_json: bool) -> None:
    """Merge the worktree's branch; with conflicts nothing changes and the files are listed."""
    from overmind.control.worktrees import merge as merge_branch

    result = merge_branch(name, into)
    if as_json:
        fmt.print_json(result.to_json())
    else:
        if result.already:
            click.echo(f"{result.branch} is already merged into {result.into}")
        elif result.commit:
            click.echo(f"merged {result.branch} into {result.into} ({result.commit[:12]})")
        if result.uncommitted:
            click.echo(f"overmind: {result.uncommitted} uncommitted change(s) in the worktree were not part of the "
                       "merge", err=True)
        if result.conflicts:
            click.echo(f"overmind: merging {result.branch} into {result.into} conflicts in:", err=True)
            for path in result.conflicts:
                click.echo(f"    {path}", err=True)
            click.echo(f"(nothing was changed: resolve it in the worktree, e.g. merge {result.into} there, then "
                       "merge again)", err=True)
    if result.conflicts:
        sys.exit(1)


@worktree.command("rm")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("--force", is_flag=True, help="Also with uncommitted or unmerged work: saved first as a ref.")
@json_option
@on_host()
def rm(names: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Remove worktrees, their branches, ports and volumes; refuses with unsaved work unless --force.
    Each is removed or refused on its own; the exit code is 1 if any was refused."""
    from overmind.control.worktrees import remove_each

    ready()
    done = remove_each(names, force)
    if as_json:
        fmt.print_json([removal.to_json() for removal in done])
    else:
        for removal in done:
            _say(removal)
    if any(removal.error for removal in done):
        sys.exit(1)


def _say(removal: Removal) -> None:
    """`removed worktree NAME` on stdout, or why it was not (with what to do) on stderr."""
    if removal.error is not None:
        click.echo(f"overmind: {removal.error.message}", err=True)
        if removal.error.hint:
            click.echo(f"({removal.error.hint})", err=True)
        return
    assert removal.removed is not None
    for note in removal.removed.notes:
        click.echo(f"overmind: {removal.name}: {note}", err=True)
    saved = removal.removed.saved
    click.echo(f"removed worktree {removal.name}" + (f"; its work is saved as {saved} (git checkout -b NAME {saved})"
                                                     if saved else ""))


COMMANDS = [worktree]
