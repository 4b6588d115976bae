"""Worktree commands: ls, add, diff, merge, rm (each mission's own git worktree, ports and services)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from overmind import format as fmt
from overmind.cli.options import json_option

if TYPE_CHECKING:
    from overmind.store import Store


def _store() -> Store:
    from overmind.host import ensure_user_manager
    from overmind.store import Store

    ensure_user_manager()
    return Store()


@click.group()
def worktree() -> None:
    """Missions' git worktrees: list, create, diff, merge and remove them (work is never lost)."""


@worktree.command("ls")
@click.argument("name", required=False)
@json_option
def ls(name: str | None, as_json: bool) -> None:
    """List worktrees: mission, branch, uncommitted and unmerged work, ports, services, size."""
    from overmind.isolation.listing import rows

    found = rows(_store(), name)
    if as_json:
        fmt.print_json(found)
        return
    if not found:
        click.echo("no worktrees (an agent started in a git repository gets one: overmind run --provider claude ...)")
        return
    headers = ("NAME", "MISSION", "BRANCH", "WORK", "PORTS", "SERVICES", "SIZE", "PATH")
    click.echo(fmt.table(headers, [(
        r["name"], r["mission"] or "-", r["branch"], _work(r),
        " ".join(f"{variable}={port}" for variable, port in r["ports"].items()) or "-",
        " ".join(f"{s['name']}:{s['state']}" for s in r["services"]) or "-",
        fmt.size(r["size_bytes"]), r["path"]) for r in found], shrinkable=(0, 1, 2, 4, 5)))


def _work(row: dict[str, Any]) -> str:
    if row["missing"]:
        return "missing"
    if row["dirty"] is None:
        return "?"
    parts = [f"{len(row['changes'])} uncommitted" if row["dirty"] else "clean"]
    if row["ahead"] or row["behind"]:
        parts.append(f"+{row['ahead']}/-{row['behind']}")
    return " ".join(parts)


@worktree.command("add")
@click.argument("name")
@click.option("--base", metavar="REF", help="Branch, tag or commit to start from (default: HEAD).")
@click.option("--cwd", default=".", show_default=True, help="A directory inside the repository.")
@json_option
def add(name: str, base: str | None, cwd: str, as_json: bool) -> None:
    """Create a named worktree (with its ports, and .overmind.yml's copy and link) for missions
    to share: overmind run --worktree-name NAME ..."""
    import os

    from overmind.isolation import cache, git
    from overmind.isolation.paths import check_worktree_name
    from overmind.isolation.worktrees import provide

    check_worktree_name(name)
    checkout = git.checkout_of(os.path.abspath(cwd))
    record, leases, notes = provide(checkout, cache.contract_of(checkout.repo), name, base, _store())
    for note in notes:
        click.echo(f"overmind: {note}", err=True)
    if as_json:
        fmt.print_json({"name": record.name, "path": record.path, "branch": record.branch, "base": record.base,
                        "ports": leases})
    else:
        click.echo(f"worktree {record.name} at {record.path} on {record.branch} (from {record.base})")


@worktree.command("diff")
@click.argument("name")
@click.option("--stat", is_flag=True, help="Only a summary of the changed files.")
def diff(name: str, stat: bool) -> None:
    """What the worktree changed since it started: commits, uncommitted and untracked files."""
    from overmind.isolation import keeping
    from overmind.isolation.describe import contract_or_none
    from overmind.isolation.lifecycle import record_of

    record = record_of(_store(), name)
    click.echo(keeping.diff(record, contract_or_none(record.repo), stat, color=sys.stdout.isatty()), nl=False)


@worktree.command("merge")
@click.argument("name")
@click.option("--into", metavar="BRANCH", help="Branch to merge into (default: the one it started from).")
@json_option
def merge(name: str, into: str | None, as_json: bool) -> None:
    """Merge the worktree's branch; with conflicts nothing changes and the files are listed."""
    from overmind.isolation.lifecycle import merge as merge_branch
    from overmind.isolation.lifecycle import record_of

    record = record_of(_store(), name)
    result = merge_branch(record, into)
    if as_json:
        fmt.print_json({"name": name, "into": result.into, "merged": result.commit is not None,
                        "already_merged": result.already, "commit": result.commit, "conflicts": result.conflicts,
                        "uncommitted": result.uncommitted})
    elif result.already:
        click.echo(f"{record.branch} is already merged into {result.into}")
    elif result.commit:
        click.echo(f"merged {record.branch} into {result.into} ({result.commit[:12]})")
    if result.uncommitted and not as_json:
        click.echo(f"overmind: {result.uncommitted} uncommitted change(s) in the worktree were not part of the merge",
                   err=True)
    if result.conflicts:
        if not as_json:
            click.echo(f"overmind: merging {record.branch} into {result.into} conflicts in:", err=True)
            for path in result.conflicts:
                click.echo(f"    {path}", err=True)
            click.echo("(nothing was changed: resolve it in the worktree, e.g. merge "
                       f"{result.into} there, then merge again)", err=True)
        sys.exit(1)


@worktree.command("rm")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("--force", is_flag=True, help="Also with uncommitted or unmerged work: saved first as a ref.")
@json_option
def rm(names: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Remove worktrees, their branches, ports and volumes; refuses with unsaved work unless --force."""
    from overmind.isolation.lifecycle import record_of, remove

    store = _store()
    done = []
    for name in names:
        result = remove(store, record_of(store, name), force)
        done.append({"name": result.name, "saved": result.saved, "notes": result.notes})
        if not as_json:
            for note in result.notes:
                click.echo(f"overmind: {name}: {note}", err=True)
            saved = f"; its work is saved as {result.saved} (git checkout -b NAME {result.saved})" \
                if result.saved else ""
            click.echo(f"removed worktree {name}{saved}")
    if as_json:
        fmt.print_json(done)


def collect_worktrees(as_json: bool) -> list[dict[str, Any]]:
    """For `gc --worktrees`: remove the merged, unused ones; say which were kept and why."""
    from overmind.isolation.lifecycle import collect

    removed, kept = collect(_store())
    if not as_json:
        for name, reason in kept:
            click.echo(f"kept worktree {name}: {reason}")
        click.echo(f"removed {len(removed)} worktree{'s' if len(removed) != 1 else ''}")
    return [{"name": r.name, "notes": r.notes} for r in removed]


COMMANDS = [worktree]
