"""Per-agent shorthands: `overmind claude run PROMPT` is `overmind run --provider claude PROMPT`."""

from __future__ import annotations

import functools

import click

from overmind.cli.missions import run
from overmind.providers import PROVIDERS


def provider_group(provider: str) -> click.Group:
    assert run.callback is not None
    command = click.Command(
        "run", params=[p for p in run.params if p.name != "provider"],
        callback=functools.partial(run.callback, provider=provider),
        help=f"Start {provider} with PROMPT as a mission (overmind run --provider {provider}).",
        context_settings=run.context_settings)
    group = click.Group(provider, help=f"{provider} missions (see: overmind {provider} run --help).")
    group.add_command(command)
    return group


COMMANDS = [provider_group(name) for name in PROVIDERS if name != "raw"]
