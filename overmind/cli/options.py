"""Options shared by the commands that start work (`run`, `quest run`, `ritual add`), and the
MissionSpec they build."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from overmind.agent_options import AGENT_OPTIONS, PROVIDERS, AgentOption

if TYPE_CHECKING:
    from overmind.mission.spec import MissionSpec

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")

_MISSION_OPTIONS = (
    click.option("--cwd", default=".", show_default=True, help="Working directory."),
    click.option("--env", "-e", "env", multiple=True, metavar="K=V", help="Environment variable (repeatable)."),
    click.option("--memory-max", metavar="SIZE", help="Memory limit, e.g. 512M (MemoryMax=)."),
    click.option("--cpu-quota", metavar="PCT", help="CPU limit in percent of one CPU, e.g. 50% (CPUQuota=)."),
    click.option("--tasks-max", type=click.IntRange(min=1), help="Process/thread limit (TasksMax=)."),
    click.option("--timeout", metavar="DURATION", help="Runtime limit, e.g. 30min (RuntimeMaxSec=)."),
    click.option("--stop-timeout", metavar="DURATION", default="10s", show_default=True,
                 help="Grace period between SIGTERM and SIGKILL on stop."),
    click.option("--activity-timeout", metavar="DURATION",
                 help="Kill (and restart per policy) a mission silent for this long (WatchdogSec=)."),
)
_RESTART_OPTIONS = (
    click.option("--restart", type=click.Choice(["never", "on-failure", "always"]), default="never",
                 show_default=True, help="Restart policy (Restart=)."),
    click.option("--max-restarts", type=click.IntRange(min=0),
                 help="Give up after N restarts within --max-seconds (StartLimitBurst=)."),
    click.option("--max-seconds", metavar="DURATION", help="Window for --max-restarts (default 60s)."),
    click.option("--backoff", metavar="MS", help="First restart delay (plain numbers are ms); doubles each restart."),
    click.option("--backoff-max", metavar="MS", help="Cap for the growing restart delay (default 60s)."),
)
_TREE_OPTIONS = (
    click.option("--parent", metavar="ID|NAME", help="Start as a child of this running mission (in its slice)."),
    click.option("--max-children", type=click.IntRange(min=0),
                 help="Most missions below this one at once (finished ones count until gc collects them)."),
    click.option("--max-cost-usd", type=click.FloatRange(min=0),
                 help="Refuse new children once those below have spent this."),
)
_ISOLATION_OPTIONS = (
    click.option("--worktree/--no-worktree", "worktree", default=None,
                 help="Work in an own git worktree with own ports and services (.overmind.yml); "
                      "default: agents yes, plain commands no."),
    click.option("--base", metavar="REF", help="Branch, tag or commit a new worktree starts from (default: HEAD)."),
    click.option("--worktree-name", metavar="NAME",
                 help="Work in this named worktree (several missions may share one); default: the mission's name."),
)
_TYPE_OPTION = click.option("--type", "type", type=click.Choice(["task", "session"]), default="task",
                            show_default=True,
                            help="A task runs to its end; a session stays up and takes messages (send, attach).")
def _agent_option(option: AgentOption) -> Callable[[F], F]:
    kind: Any = option.type
    low = option.info.minimum
    if option.info.duration:  # parsed with the other durations (build_spec): one line if it is wrong
        kind = str
    elif option.info.choices:
        kind = click.Choice(option.info.choices)
    elif low is not None:
        exclusive = option.info.exclusive
        kind = click.IntRange(min=int(low), min_open=exclusive) if option.type is int else \
            click.FloatRange(min=low, min_open=exclusive)
    metavar = {"allowed_tools": "TOOLS", "append_system_prompt": "TEXT", "session_id": "ID"}.get(option.name)
    metavar = "DURATION" if option.info.duration else metavar
    return click.option(option.flag, type=kind, metavar=metavar, help=option.info.help)


_PROVIDER_OPTIONS = (
    click.option("--provider", type=click.Choice(list(PROVIDERS)), default="raw", show_default=True,
                 help="What runs: a shell command (raw) or an agent CLI given a prompt."),
    *(_agent_option(option) for option in AGENT_OPTIONS),
    click.option("--no-memory", "no_memory", is_flag=True,
                 help="Agents: neither consult nor feed the shared memory (overmind akasha)."),
)


def _apply(options: tuple[Callable[[F], F], ...], function: F) -> F:
    for option in reversed(options):
        function = option(function)
    return function


def mission_options(function: F) -> F:
    """Where and how a mission runs: directory, environment, limits."""
    return _apply(_MISSION_OPTIONS, function)


def restart_options(function: F) -> F:
    return _apply(_RESTART_OPTIONS, function)


def provider_option(function: F) -> F:
    """Which agent runs (or a plain command), and the agent CLI's own options (passed through)."""
    return _apply(_PROVIDER_OPTIONS, function)


def agent_options(function: F) -> F:
    """provider_option, and whether it runs as a task or a session."""
    return _apply((_TYPE_OPTION, provider_option), function)


def tree_options(function: F) -> F:
    """Where the mission sits in a parent/child tree."""
    return _apply(_TREE_OPTIONS, function)


wait_option = click.option("--wait", "wait_", is_flag=True, help="Wait for it to finish; exit with its exit code.")
command_argument = click.argument("command", nargs=-1, metavar="COMMAND|PROMPT")


def isolation_options(function: F) -> F:
    """Whether the mission gets its own worktree, ports and services, and which."""
    return _apply(_ISOLATION_OPTIONS, function)


def launch_options(function: F) -> F:
    """What `run` and `quest run` share: how and where it runs, restarts, tree, isolation, --wait, --json,
    COMMAND."""
    return _apply((mission_options, restart_options, tree_options, isolation_options, wait_option, json_option,
                   command_argument), function)


def mission_spec(command: tuple[str, ...], **options: Any) -> MissionSpec:
    """The spec the shared options describe (their values exactly as click passes them)."""
    from overmind.mission.build import build_spec

    return build_spec(command, **options)


class NameThenCommand(click.Command):
    """`ritual add NAME [options] COMMAND...`: options may come before or after NAME, and the
    first word after NAME starts the command, so the command's own dashes stay its own."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        valued = {opt for param in self.params if isinstance(param, click.Option) and not param.is_flag
                  and not param.count for opt in (*param.opts, *param.secondary_opts)}
        words = 0
        index = 0
        while index < len(args):
            arg = args[index]
            if arg == "--":
                break
            if arg.startswith("-") and arg != "-":
                index += 2 if arg in valued else 1
                continue
            words += 1
            if words == 2:
                args = [*args[:index], "--", *args[index:]]
                break
            index += 1
        return super().parse_args(ctx, args)
