"""`overmind hosts` (the machines overmind drives over ssh) and the hidden `remote-exec`, the far
side of every command sent to a host."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from overmind.cli.options import json_option
from overmind.errors import OvermindError


@click.group()
def hosts() -> None:
    """Other machines with their own systemd: add them, list them, check them. Then act on them
    with --on HOST or HOST:NAME (overmind run --on build1 ..., overmind logs build1:fix -f)."""


@hosts.command("add")
@click.argument("name")
@click.argument("address", metavar="ssh://[USER@]HOST[:PORT]")
@click.option("--identity", "-i", metavar="FILE", help="The ssh private key to use (default: your ssh config/agent).")
@click.option("--overmind", "overmind", metavar="PATH",
              help="The overmind command on that host (default: found on its PATH or in ~/.local/bin).")
@click.option("--share-memory", is_flag=True,
              help="Its agents use the memory server this machine uses or serves (overmind akasha serve); "
                   "through an ssh tunnel when that server listens on loopback only.")
@click.option("--memory-port", type=click.IntRange(1, 65535), metavar="PORT",
              help="With --share-memory over a tunnel: the port on the host (default: the server's).")
@json_option
def add(name: str, address: str, identity: str | None, overmind: str | None, share_memory: bool,
        memory_port: int | None, as_json: bool) -> None:
    """Register host NAME (again: update it). Uses your own ssh config, keys and agent."""
    from overmind import format as fmt
    from overmind.control.hosts import add as register

    added = register(name, address, identity=identity, overmind=overmind, share_memory=share_memory,
                     memory_port=memory_port)
    if as_json:
        fmt.print_json(added.to_json())
        return
    click.echo(f"{'updated' if added.replaced else 'added'} host {name} ({added.host.address})")
    if added.host.memory_url:
        click.echo(f"its agents use the shared memory, at {added.host.memory_url} there")
    if added.problem:
        click.echo(f"overmind: note: {name}: {added.problem} (see: overmind hosts check {name})", err=True)


@hosts.command("rm")
@click.argument("name")
def rm(name: str) -> None:
    """Forget host NAME (its missions go on there) and close its connection."""
    from overmind.control.hosts import remove

    removed = remove(name)
    click.echo(f"removed host {name} ({removed.address}); its missions are untouched")


def _missions(counts: dict[str, int] | None) -> str:
    return ", ".join(f"{n} {state}" for state, n in (counts or {}).items()) or "-"


@hosts.command("ls")
@click.option("--hosts", "spec", metavar="all|A,B", help="Only these hosts (default: all, local first).")
@json_option
def ls(spec: str | None, as_json: bool) -> None:
    """Every host with what it says of itself: reachable, overmind and systemd versions,
    missions by state, load, free memory and the round-trip time."""
    from overmind import format as fmt
    from overmind.control.hosts import listing

    rows = listing(spec)
    if as_json:
        fmt.print_json([row.to_json() for row in rows])
        return
    table = []
    for row in rows:
        data = row.to_json()
        state = "ok" if row.reachable and not row.error else (row.error or "unreachable")
        load = data["load"]
        table.append((row.name, row.address, state, data["overmind_version"] or "-", data["systemd_version"] or "-",
                      _missions(data["missions"]), f"{load[0]:.2f}" if load else "-",
                      fmt.size(data["mem_available_bytes"]), "-" if row.rtt_ms is None else f"{row.rtt_ms:.0f} ms"))
    click.echo(fmt.table(("HOST", "ADDRESS", "STATE", "OVERMIND", "SYSTEMD", "MISSIONS", "LOAD", "FREE", "RTT"),
                         table, shrinkable=(1, 2, 5)))


@hosts.command("check")
@click.argument("name")
@json_option
def check(name: str, as_json: bool) -> None:
    """What is wrong with host NAME, each with the exact command that fixes it."""
    from overmind.cli.output import print_checklist
    from overmind.control.hosts import check as checks

    found = checks(name)
    print_checklist(found, as_json, "fix")
    if any(item.state == "fail" for item in found):
        sys.exit(1)


@hosts.command("here", hidden=True)
@json_option
def here(as_json: bool) -> None:
    """This machine's facts, as `hosts ls` on another machine shows them."""
    from overmind import format as fmt
    from overmind.control.hosts import here as facts

    fmt.print_json(facts())


def remote_exec_main(token: str) -> None:
    """The far side of `--on HOST`: run the overmind command line TOKEN carries (see
    overmind.remote.wire), as the host the caller calls this machine."""
    from overmind.cli import cli, die
    from overmind.control.where import AS_HOST
    from overmind.remote import wire

    try:
        payload = wire.read_frame() if token == "-" else wire.decode(token)
        if payload.argv[:1] == ["remote-exec"]:
            raise OvermindError("remote-exec: refusing to nest")
    except OvermindError as error:
        die(error)
    os.environ[AS_HOST] = payload.host
    os.environ.pop("OVERMIND_HOST", None)
    if payload.columns:
        os.environ["COLUMNS"] = str(payload.columns)
    cli.main(args=payload.argv, prog_name="overmind")


@click.command("remote-exec", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("token")
def remote_exec(token: str) -> None:
    """The far side of `--on HOST` (what `overmind remote-exec TOKEN` runs; see remote_exec_main)."""
    remote_exec_main(token)


COMMANDS: list[Any] = [hosts, remote_exec]


@hosts.group("gate", hidden=True)
def gate() -> None:
    """A blueprint step standing in for a step on another host (overmind.control.gates)."""


@gate.command("wait")
@click.argument("name")
def gate_wait(name: str) -> None:
    """Block until the gate is opened for this run of it; exit with the code it was opened with."""
    from overmind.control.gates import wait

    sys.exit(wait(name))


@gate.command("open")
@click.argument("name")
@click.argument("code", type=int)
def gate_open(name: str, code: int) -> None:
    """Open the running gate NAME with exit code CODE; says opened, ended or not started."""
    from overmind.control.gates import open_gate

    click.echo(open_gate(name, code))


@hosts.command("use-memory", hidden=True)
@click.argument("url", required=False)
@click.option("--off", is_flag=True, help="Back to this host's own memory.")
def use_memory(url: str | None, off: bool) -> None:
    """The memory server this host's agents use (its token on stdin), or with --off their own."""
    from overmind.control.shared_memory import use

    if not off and not url:
        raise OvermindError("give the server's URL, or --off")
    click.echo(use(None if off else url, "" if off else sys.stdin.read().strip()))


@hosts.command("relay", hidden=True)
@click.option("--ssh-config", metavar="FILE", help="The ssh config the relay's caller used (OVERMIND_SSH_CONFIG).")
@click.argument("source")
@click.argument("members")
@click.argument("target")
@click.argument("gate_name", metavar="GATE")
def relay(ssh_config: str | None, source: str, members: str, target: str, gate_name: str) -> None:
    """Wait for MEMBERS on host SOURCE, then open GATE on host TARGET (one edge of a blueprint)."""
    from overmind.control.gates import relay as carry

    if ssh_config:
        os.environ["OVERMIND_SSH_CONFIG"] = ssh_config
    sys.exit(carry(source, members.split(","), target, gate_name))


@hosts.command("apply-part", hidden=True)
@click.option("--prune/--no-prune", default=True)
@click.option("--follow", "follow", metavar="NAME", help="Follow the pipeline NAME until it settles instead.")
@json_option
def apply_part(prune: bool, follow: str | None, as_json: bool) -> None:
    """This host's part of a blueprint spread over hosts, read from stdin, applied here."""
    from pathlib import Path

    from overmind import format as fmt
    from overmind.control import blueprint_hosts, blueprints

    if follow is not None:
        sys.exit(0 if blueprint_hosts.follow_here(follow, click.echo) else 1)
    name, text, gates = blueprint_hosts.read_envelope(sys.stdin.buffer.read())
    applied = blueprint_hosts.apply_part_here(name, text, gates, Path.home(), prune)
    said = blueprints.summary(applied)
    if as_json:
        fmt.print_json({**applied.plan.to_json(), "id": applied.record.id, "name": applied.record.name,
                        "summary": said})
    else:
        click.echo(said)
