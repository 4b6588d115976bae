"""Command lines of `ritual add`: options around NAME, and the command's own dashes left alone."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from overmind.cli.options import NameThenCommand


@click.command(cls=NameThenCommand)
@click.argument("name")
@click.option("--every")
@click.option("--env", "-e", multiple=True)
@click.option("--persistent", is_flag=True)
@click.argument("command", nargs=-1, required=True)
def add(name: str, every: str | None, env: tuple[str, ...], persistent: bool, command: tuple[str, ...]) -> None:
    click.echo(json.dumps([name, every, list(env), persistent, list(command)]))


def _parse(*args: str) -> list:
    result = CliRunner().invoke(add, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_options_may_come_before_or_after_the_name() -> None:
    expected = ["n", "1h", ["A=1"], True, ["ls"]]
    assert _parse("--every", "1h", "n", "-e", "A=1", "--persistent", "ls") == expected
    assert _parse("n", "--every=1h", "-eA=1", "--persistent", "ls") == expected


def test_everything_after_the_first_command_word_is_the_command() -> None:
    assert _parse("n", "--every", "1h", "ls", "-la", "--every", "x")[4] == ["ls", "-la", "--every", "x"]
    assert _parse("n", "--", "--weird", "-x")[4] == ["--weird", "-x"]
