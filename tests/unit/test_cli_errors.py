"""Failures reach the user as one line; --debug adds every systemd call and the traceback."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from overmind.cli import cli


@pytest.fixture
def broken() -> Iterator[click.Command]:
    @click.command("broken-for-test")
    def command() -> None:
        raise RuntimeError("something nobody expected")

    cli.add_command(command)
    yield command
    cli.commands.pop("broken-for-test")


@pytest.mark.usefixtures("broken")
def test_an_unexpected_failure_is_one_line_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERMIND_DEBUG", "")  # recorded, so what --debug sets is undone afterwards
    result = CliRunner().invoke(cli, ["broken-for-test"])
    assert result.exit_code == 1
    assert result.output.splitlines() == ["overmind: unexpected error: RuntimeError: something nobody expected",
                                          "(run with --debug for details)"]


@pytest.mark.usefixtures("broken")
def test_with_debug_the_traceback_comes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OVERMIND_DEBUG", "")  # recorded, so what --debug sets is undone afterwards
    result = CliRunner().invoke(cli, ["--debug", "broken-for-test"])
    assert isinstance(result.exception, RuntimeError)


@pytest.mark.parametrize(("typed", "unknown", "meant"), [
    (["stauts"], "stauts", "status"), (["ls"], "ls", "ps"), (["lgos", "x"], "lgos", "logs"),
    (["host", "stauts"], "stauts", "status"), (["worktree", "lss"], "lss", "ls")])
def test_a_mistyped_command_gets_did_you_mean(typed: list[str], unknown: str, meant: str) -> None:
    result = CliRunner().invoke(cli, typed)
    assert result.exit_code == 2
    assert f"Error: No such command '{unknown}'. Did you mean '{meant}'?" in result.output, result.output


def test_a_command_nothing_is_like_gets_no_guess() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])
    assert result.exit_code == 2 and "No such command 'frobnicate'." in result.output
    assert "Did you mean" not in result.output
