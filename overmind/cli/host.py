"""`overmind host` (the private systemd host) and `overmind status` (the host at a glance)."""

from __future__ import annotations

import click


@click.group()
def host() -> None:
    """Boot or tear down a private systemd user manager where systemd is not PID 1."""


@host.command()
def up() -> None:
    """Boot journald and a systemd user manager (idempotent)."""
    from overmind.control.host import up as boot

    click.echo(boot())


@host.command()
def down() -> None:
    """Stop the private host and every mission running in it."""
    from overmind.control.host import down as tear_down

    click.echo(tear_down())


@host.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def host_status(as_json: bool) -> None:
    """Show whether the private host runs, and its processes."""
    from overmind.control.host import facts

    click.echo(_render(facts(), as_json))


@host.command("env")
def host_env() -> None:
    """Print what a shell needs for systemctl --user to reach the host missions run in:
    eval "$(overmind host env)"."""
    import shlex

    from overmind.control.host import shell_environment

    for key, value in shell_environment().items():
        click.echo(f"export {key}={shlex.quote(value)}")


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
    from overmind.control.host import status as host_status

    facts = host_status()
    if not as_json:
        facts["missions"] = ", ".join(f"{n} {state}" for state, n in facts["missions"].items()) or "none"
    click.echo(_render(facts, as_json))


COMMANDS = [host, status]
