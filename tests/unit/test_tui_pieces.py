"""The TUI's pure pieces: commands and aliases, the filter, DAG stages, and counting held views."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from overmind.control.missions import tally
from overmind.errors import OvermindError
from overmind.mission.status import Status
from overmind.tui import commands
from overmind.tui.filtering import Filter
from overmind.tui.screens.blueprints import stages


def test_commands_take_their_aliases_and_a_typo_names_the_nearest() -> None:
    assert commands.parse(":ps").verb.name == "missions"
    assert commands.parse("lo build").argument == "build"
    with pytest.raises(commands.UnknownCommand) as typo:
        commands.parse("misions")
    assert typo.value.nearest == "missions" and "did you mean :missions?" in (typo.value.hint or "")
    with pytest.raises(OvermindError, match="needs a NAME"):
        commands.parse("logs")
    with pytest.raises(OvermindError, match="takes no argument"):
        commands.parse("host now")
    with pytest.raises(OvermindError, match="NUL"):
        commands.parse("logs a\0b")


def test_completion_finishes_a_command_word_then_a_mission_name() -> None:
    assert commands.complete("rit", []) == "rituals"
    assert commands.complete("logs bu", ["build", "deploy"]) == "logs build"
    assert commands.complete("host x", ["x1"]) is None
    assert commands.complete("logs build", ["build"]) is None


def test_the_filter_is_a_regex_and_an_exclamation_mark_inverts_it() -> None:
    assert Filter.parse("^bu").keeps("build") and not Filter.parse("^bu").keeps("rebuild")
    assert Filter.parse("!crash").keeps("running") and not Filter.parse("!crash").keeps("crashed (exit 3)")
    assert Filter.parse("").keeps("anything")
    with pytest.raises(OvermindError, match="not a regular expression"):
        Filter.parse("(")


def test_dag_stages_put_each_agent_one_past_its_latest_dependency() -> None:
    graph = {"name": "p", "nodes": [{"id": n, "agent": n} for n in ("setup", "build", "lint", "ship")],
             "edges": [{"from": "setup", "to": "build"}, {"from": "setup", "to": "lint"},
                       {"from": "build", "to": "ship"}, {"from": "lint", "to": "ship"}]}
    assert [[n["id"] for n in stage] for stage in stages(graph)] == [["setup"], ["build", "lint"], ["ship"]]


class _View(NamedTuple):
    status: Status


def test_views_already_read_are_counted_by_status() -> None:
    views: list[Any] = [_View(Status("running")), _View(Status("killed")), _View(Status("running"))]
    assert tally(views) == {"killed": 1, "running": 2}
