"""Options shared by the commands that start work (`run`, `quest run`, `ritual add`), and the
MissionSpec they build."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from overmind.spec import Isolation, MissionSpec

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
    click.option("--max-children", type=click.IntRange(min=0), help="Cap on the missions started below this one."),
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
_PROVIDER_OPTIONS = (
    click.option("--provider", type=click.Choice(["raw", "claude", "codex"]), default="raw", show_default=True,
                 help="What runs: a shell command (raw) or an agent CLI given a prompt."),
    click.option("--model", help="Model for the agent."),
    click.option("--permission-mode", help="claude: acceptEdits, auto, bypassPermissions, default, dontAsk, plan."),
    click.option("--allowed-tools", metavar="TOOLS", help="claude: tools allowed without asking, e.g. 'Bash,Edit'."),
    click.option("--max-turns", type=click.IntRange(min=1), help="claude: stop after N agent turns."),
    click.option("--append-system-prompt", metavar="TEXT", help="claude: text appended to the system prompt."),
    click.option("--max-budget-usd", type=click.FloatRange(min=0, min_open=True), help="claude: spending cap."),
    click.option("--session-id", metavar="ID", help="Resume this conversation (the agent's own session id)."),
)
AGENT_FIELDS = ("model", "permission_mode", "allowed_tools", "max_turns", "append_system_prompt", "max_budget_usd",
                "session_id")


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
    """What `run` and `quest run` share: how and where it runs, restarts, tree, isolation, --wait, --json, COMMAND."""
    return _apply((mission_options, restart_options, tree_options, isolation_options, wait_option, json_option,
                   command_argument), function)


def command_line(words: tuple[str, ...]) -> str:
    """One argument is a shell command line; several are quoted as separate words."""
    return words[0] if len(words) == 1 else shlex.join(words) if words else ""


def mission_spec(command: tuple[str, ...], name: str | None = None, type: str = "task", cwd: str = ".",
                 env: tuple[str, ...] = (), memory_max: str | None = None, cpu_quota: str | None = None,
                 tasks_max: int | None = None, timeout: str | None = None, stop_timeout: str = "10s",
                 activity_timeout: str | None = None, provider: str = "raw", restart: str = "never",
                 max_restarts: int | None = None, max_seconds: str | None = None, backoff: str | None = None,
                 backoff_max: str | None = None, parent: str | None = None,
                 max_children: int | None = None, max_cost_usd: float | None = None,
                 worktree: bool | None = None, base: str | None = None, worktree_name: str | None = None,
                 **agent: Any) -> MissionSpec:
    """The spec the shared options describe (their values exactly as click passes them);
    `agent` holds the agent CLI's options (AGENT_FIELDS)."""
    from overmind.providers import AgentOptions, require_installed
    from overmind.spec import (
        Limits,
        MissionSpec,
        RestartPolicy,
        parse_cpu_quota,
        parse_duration,
        parse_env,
        parse_size,
    )

    unknown = set(agent) - set(AGENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown mission options: {sorted(unknown)}")

    def duration(text: str | None, what: str, plain: str = "s") -> float | None:
        return parse_duration(text, what, plain) if text else None

    spec = MissionSpec(
        command=" ".join(command) if provider != "raw" else command_line(command),
        agent=AgentOptions(**agent),
        name=name,
        cwd=cwd,
        env=parse_env(env),
        type=type,
        provider=provider,
        limits=Limits(
            memory_max=parse_size(memory_max, "memory limit") if memory_max else None,
            cpu_quota=parse_cpu_quota(cpu_quota) if cpu_quota else None,
            tasks_max=tasks_max,
            timeout=duration(timeout, "timeout"),
        ),
        restart=RestartPolicy(
            policy=restart,
            max_restarts=max_restarts,
            max_seconds=duration(max_seconds, "--max-seconds"),
            backoff=duration(backoff, "--backoff", plain="ms"),
            backoff_max=duration(backoff_max, "--backoff-max", plain="ms"),
        ),
        activity_timeout=duration(activity_timeout, "--activity-timeout"),
        stop_timeout=parse_duration(stop_timeout, "stop timeout"),
        parent=parent,
        max_children=max_children,
        max_cost_usd=max_cost_usd,
        isolation=isolation(worktree, base, worktree_name),
    )
    if spec.provider != "raw":
        require_installed(spec.provider, spec.env)
    return spec


def isolation(worktree: bool | None, base: str | None, worktree_name: str | None) -> Isolation:
    """--worktree/--no-worktree, --base and --worktree-name as a spec's Isolation."""
    from overmind.errors import OvermindError
    from overmind.spec import Isolation

    if worktree is False and (base or worktree_name):
        raise OvermindError("--no-worktree cannot take --base or --worktree-name")
    chosen = worktree or base is not None or worktree_name is not None
    return Isolation(mode="worktree" if chosen else "none" if worktree is False else "auto", base=base,
                     worktree=worktree_name)


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


def as_agent_run(spec: MissionSpec) -> MissionSpec:
    """The plain command that runs an agent spec as its own mission and waits for it: how a
    ritual's scheduled run starts an agent (visible in ps, logs and result like any other)."""
    import sys
    from dataclasses import asdict, replace

    from overmind.providers import AgentOptions

    argv = [sys.executable, "-m", "overmind", "run", "--provider", spec.provider, "--wait"]
    argv += [f"--{key.replace('_', '-')}={value}" for key, value in asdict(spec.agent).items() if value is not None]
    argv += [f"--env={key}={value}" for key, value in spec.env.items()]
    return replace(spec, provider="raw", agent=AgentOptions(), command=shlex.join([*argv, "--", spec.command]))
