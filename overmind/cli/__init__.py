"""The `overmind` command line: thin click commands over the control layer (`overmind.control`)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from overmind import __version__
from overmind.errors import OvermindError


def die(error: OvermindError) -> None:
    message, hint = error.message, error.hint
    if "systemctl --user" in f"{message} {hint}":  # a command the user is told to run must run as given
        from overmind.control.host import runnable

        message, hint = runnable(message), runnable(hint) if hint else hint
    click.echo(f"overmind: {message}", err=True)
    if hint:
        click.echo(f"({hint})", err=True)
    sys.exit(error.exit_code)


# Every command's module is imported only when it runs (or when help lists them): `overmind run`
# pays for `run` alone.
COMMAND_MODULES = {
    "run": "missions", "ps": "missions", "info": "missions", "logs": "missions", "wait": "missions",
    "stop": "missions", "kill": "missions", "restart": "missions", "gc": "missions",
    "send": "sessions", "subscribe": "sessions", "result": "sessions", "attach": "sessions",
    "permissions": "permissions", "approve": "permissions", "deny": "permissions",
    "events": "events", "claude": "agents", "codex": "agents", "gemini": "agents", "opencode": "agents",
    "orchestrate": "orchestrate",
    "host": "host", "status": "host", "skill": "skills", "quest": "quests", "ritual": "rituals",
    "rituals": "rituals", "doctor": "doctor", "agents": "blueprints", "apply": "blueprints", "diff": "blueprints",
    "setup": "setup", "completion": "completion", "repair": "repair",
    "akasha": "akasha",
    "dashboard": "dashboard", "tui": "tui", "worktree": "worktree", "notify": "notify",
    "hosts": "hosts", "remote-exec": "hosts",
}


# What people type from habit (other tools' verbs) for a command overmind has: suggested as
# "did you mean", never run in its place.
HABITS = {"ls": "ps", "list": "ps", "top": "ps", "log": "logs", "tail": "logs", "start": "run", "exec": "run",
          "show": "info", "describe": "info"}


class OvermindGroup(click.Group):
    """Turns every OvermindError into one line on stderr and a non-zero exit, and any other
    failure into one line too (the traceback only with --debug)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMAND_MODULES})

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                             list[str]]:
        """A command that does not exist gets "did you mean" (click's own guess sees only the
        commands already imported, and none of the habits)."""
        typed = args[0] if args else ""
        if typed and not typed.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, typed) is None:
            from overmind.mistakes import closest

            meant = closest(typed, self.list_commands(ctx), HABITS)
            raise click.UsageError(f"No such command {typed!r}." + (f" Did you mean {meant!r}?" if meant else ""), ctx)
        return super().resolve_command(ctx, args)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from overmind.cli.on_host import ARGV_KEY

        ctx.meta.setdefault(ARGV_KEY, list(args))  # as typed: what `--on HOST` sends to that host
        return super().parse_args(ctx, args)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMAND_MODULES and cmd_name not in self.commands:
            from importlib import import_module

            for command in import_module(f"overmind.cli.{COMMAND_MODULES[cmd_name]}").COMMANDS:
                self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            on = ctx.meta.get("overmind.on")
            if on and ctx.protected_args and ctx.protected_args[0] not in HERE_ONLY:
                from overmind.cli.on_host import handles_hosts
                from overmind.control.where import is_here

                if not is_here(on) and not handles_hosts(self.get_command(ctx, ctx.protected_args[0])):
                    from overmind.cli.on_host import ARGV_KEY
                    from overmind.cli.remote_commands import forward_typed

                    forward_typed(on, ctx.meta[ARGV_KEY])
            return super().invoke(ctx)
        except OvermindError as error:
            die(error)
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (e.g. `overmind logs | head`)
            sys.exit(0)
        except KeyboardInterrupt:
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as error:
            from overmind import trace

            if trace.enabled():
                raise
            die(_unexpected(error))


def _unexpected(error: Exception) -> OvermindError:
    import sqlite3

    if isinstance(error, (sqlite3.Error, OSError)):
        from overmind.control.repair import store_failure

        explained = store_failure(error)
        if explained is not None:
            return explained
    if isinstance(error, sqlite3.Error):
        return OvermindError(f"the state store failed: {error}",
                             hint="is the state directory writable, with free space? run with --debug for details")
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return OvermindError(f"{error.strerror}{where}", hint="run with --debug for details")
    return OvermindError(f"unexpected error: {type(error).__name__}: {error}", hint="run with --debug for details")


def _debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        os.environ["OVERMIND_DEBUG"] = "1"


# Commands that are about this machine's own front ends or its hosts list: never sent elsewhere.
HERE_ONLY = {"hosts", "remote-exec", "dashboard", "tui", "completion"}


def _on(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:  # `overmind --on HOST COMMAND`: COMMAND runs on HOST, whatever it is
        ctx.meta["overmind.on"] = value
        os.environ["OVERMIND_HOST"] = value


@click.group(cls=OvermindGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="overmind")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_debug,
              help="Print every systemd, journald and D-Bus call with its duration; tracebacks for errors.")
@click.option("--on", metavar="HOST", expose_value=False, is_eager=True, callback=_on,
              help="Act on host HOST's missions (see: overmind hosts ls).")
def cli() -> None:
    """A systemd-native supervisor for AI coding agents."""


def main() -> None:
    cli(prog_name="overmind")
