"""`overmind host` (the private systemd host) and `overmind status` (the host at a glance)."""

from __future__ import annotations

import os
from collections import Counter

import click


@click.group()
def host() -> None:
    """Boot or tear down a private systemd user manager where systemd is not PID 1."""


@host.command()
def up() -> None:
    """Boot journald and a systemd user manager (idempotent)."""
    from overmind.host import pid1_is_systemd, private

    if pid1_is_systemd():
        click.echo("systemd is PID 1 here: missions use your own user manager; no private host needed")
        return
    booted = private.up()
    click.echo("private systemd host started" if booted else "private systemd host already running")


@host.command()
def down() -> None:
    """Stop the private host and every mission running in it."""
    from overmind.host import private

    if not private.in_use() and private.journald_pid() is None:
        click.echo("private systemd host is not running")
        return
    private.down()
    click.echo("private systemd host stopped")


@host.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def host_status(as_json: bool) -> None:
    """Show whether the private host runs, and its processes."""
    click.echo(_render(_host_facts(), as_json))


def _host_facts() -> dict[str, object]:
    from overmind.host import manager_socket_present, pid1_is_systemd, pids, private
    from overmind.systemd.manager import runtime_dir

    return {
        "mode": "system" if pid1_is_systemd() else ("private" if pids.in_use() else "none"),
        "user_manager_reachable": manager_socket_present() and not pids.stale(),
        "runtime_dir": runtime_dir(),
        **{f"private_{key}": value for key, value in private.status().items()},
    }


def _render(facts: dict[str, object], as_json: bool) -> str:
    if as_json:
        import json

        return json.dumps(facts, indent=2)
    width = max(len(key) for key in facts)
    return "\n".join(f"{key.replace('_', ' '):>{width}}: {'-' if v is None else v}" for key, v in facts.items())


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """The systemd version, the host in use, journald, and missions by status."""
    from overmind.host import ensure_user_manager
    from overmind.missions import Missions
    from overmind.systemd import manager

    facts = _host_facts()
    facts["systemd_version"] = manager.version()
    facts["journald_reachable"] = os.path.exists("/run/systemd/journal/socket")
    counts: Counter[str] = Counter()
    if facts["user_manager_reachable"]:
        ensure_user_manager()
        missions = Missions()
        counts.update(view.status.state for view in missions.views(missions.store.all()))
    facts["missions"] = dict(sorted(counts.items())) if as_json else (
        ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none")
    click.echo(_render(facts, as_json))


COMMANDS = [host, status]
