"""The `overmind` command line: thin click commands over the mission layer."""

from __future__ import annotations

import sys
from typing import Any

import click

from overmind import __version__
from overmind.errors import OvermindError


def die(error: OvermindError) -> None:
    click.echo(f"overmind: {error.message}", err=True)
    if error.hint:
        click.echo(f"({error.hint})", err=True)
    sys.exit(error.exit_code)


# Commands whose module is imported only when they run (or when help lists them): their click
# objects cost milliseconds that `run`, `ps` and `logs` should not pay.
_LAZY = {"quest": "overmind.cli.quests", "ritual": "overmind.cli.rituals", "rituals": "overmind.cli.rituals",
         "doctor": "overmind.cli.doctor", "agents": "overmind.cli.blueprints", "apply": "overmind.cli.blueprints",
         "diff": "overmind.cli.blueprints", "worktree": "overmind.cli.worktree"}


class OvermindGroup(click.Group):
    """Turns every OvermindError into one line on stderr and a non-zero exit."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY and cmd_name not in self.commands:
            from importlib import import_module

            for command in import_module(_LAZY[cmd_name]).COMMANDS:
                self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OvermindError as error:
            die(error)
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (e.g. `overmind logs | head`)
            sys.exit(0)
        except KeyboardInterrupt:
            sys.exit(130)


@click.group(cls=OvermindGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="overmind")
def cli() -> None:
    """A systemd-native supervisor for AI coding agents."""


def _register() -> None:
    from overmind.cli import agents, host, missions, orchestrate, sessions, skills

    for module in (missions, sessions, agents, orchestrate, host, skills):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="overmind")
