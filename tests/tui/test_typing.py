"""Keys go where the person typing them expects: into the new-mission form from its first key,
and never into a command bar that an unknown command left open."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Input

from overmind.tui.screens.blueprints import Blueprints
from overmind.tui.screens.new import NewMission
from overmind.tui.widgets import CommandBar
from tests.tui.conftest import command_error, command_input, nexus, type_text, until

pytestmark = [pytest.mark.systemd, pytest.mark.usefixtures("in_process")]


def test_what_is_typed_into_the_new_mission_form_before_tab_is_kept() -> None:
    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await pilot.press("n")
            form = await until(pilot, lambda: app.screen if isinstance(app.screen, NewMission) else None, what="form")
            await type_text(pilot, "make test")
            await pilot.press("tab")
            assert form.query_one("#command", Input).value == "make test"
            await pilot.press("escape")

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_an_unknown_command_closes_the_bar_and_says_so_and_later_keys_act() -> None:
    async def scenario() -> None:
        async with nexus() as (app, pilot):
            await pilot.press("colon")
            await type_text(pilot, "misions")
            await pilot.press("enter")
            bar = app.screen.query_one(CommandBar)
            assert not bar.has_class("open")
            error = command_error(app)
            assert "unknown command ':misions'" in error and "did you mean :missions" in error
            assert bar.query_one("#error").display  # still shown below the closed bar
            await pilot.press("4")  # a key now acts: the blueprints view, not ':misions4' in the bar
            await until(pilot, lambda: isinstance(app.screen, Blueprints), what="the blueprints view")
            await pilot.press("colon")
            assert command_input(app).value == "" and command_error(app) == ""

    asyncio.run(asyncio.wait_for(scenario(), 60))
