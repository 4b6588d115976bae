"""`overmind orchestrate TASK`: a claude session that runs the orchestrator loop skill."""

from __future__ import annotations

from typing import Any

import click

from overmind.errors import OvermindError

DEFAULT_TOOLS = "Bash(overmind:*),Read,Grep,Glob"
DEFAULT_MAX_CHILDREN = 20


def orchestrator_prompt(name: str, task: str) -> str:
    # The name is spelled out: permission rules for Bash refuse commands that expand variables.
    return (f"You are the overmind orchestrator mission '{name}'. Follow the overmind skill in your system "
            f"prompt: decompose the task, spawn children with `overmind run --parent {name} --name CHILD ...`, "
            "wait for them with `overmind wait`, validate, record, and continue until it is done.\n\n"
            f"Task:\n{task}")


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--issue", "issue_file", type=click.File("r"), help="Read the task from this file.")
@click.option("--name", help="The orchestrator's mission name.")
@click.option("--cwd", default=".", show_default=True, help="Where it (and by default its children) work.")
@click.option("--model", help="Model for the orchestrator.")
@click.option("--permission-mode", help="claude's permission mode for the orchestrator.")
@click.option("--allowed-tools", default=DEFAULT_TOOLS, show_default=True, metavar="TOOLS",
              help="Tools it may use without asking.")
@click.option("--max-children", type=click.IntRange(min=1), default=DEFAULT_MAX_CHILDREN, show_default=True,
              help="Most missions below it at once (finished ones count until gc collects them).")
@click.option("--max-cost-usd", type=click.FloatRange(min=0), help="Refuse new children once they have spent this.")
@click.option("--env", "-e", "env", multiple=True, metavar="K=V", help="Environment variable (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.argument("task", nargs=-1)
@click.pass_context
def orchestrate(ctx: click.Context, /, issue_file: Any, task: tuple[str, ...], name: str | None, as_json: bool,
                **options: Any) -> None:
    """Launch an orchestrator session on TASK (or --issue FILE) with the overmind skill."""
    from overmind.cli.missions import run
    from overmind.names import new_id
    from overmind.resources import shipped_file

    text = issue_file.read() if issue_file is not None else " ".join(task)
    if not text.strip():
        raise OvermindError("no task given", hint="overmind orchestrate 'TASK', or --issue FILE")
    skill = shipped_file("skills/overmind/SKILL.md").read_text()
    name = name or f"orchestrator-{new_id()[:4]}"
    ctx.invoke(run, name=name, type="session", provider="claude", restart="on-failure",
               append_system_prompt=skill, command=(orchestrator_prompt(name, text),), as_json=as_json, **options)
    if not as_json:
        click.echo(f"  watch:  overmind ps --tree    overmind logs -f {name}    overmind subscribe {name}")
        click.echo(f"  talk:   overmind send {name} 'MESSAGE' --wait")
        click.echo(f"  stop:   overmind kill --cascade {name}")


COMMANDS = [orchestrate]
