"""A mission spec from what a person typed: the strings of `run`'s options (or a dashboard or TUI
form with the same fields), parsed and checked. Front ends pass their raw values here."""

from __future__ import annotations

import os
import shlex
from typing import Any

from overmind.agent_options import AGENT_OPTION_NAMES, AgentOptions
from overmind.mission.spec import Isolation, Limits, MissionSpec, RestartPolicy, parse_env
from overmind.quantities import parse_cpu_quota, parse_duration, parse_size


def command_line(words: tuple[str, ...] | list[str]) -> str:
    """One argument is a shell command line; several are quoted as separate words."""
    return words[0] if len(words) == 1 else shlex.join(words) if words else ""


def build_spec(command: tuple[str, ...] | list[str], name: str | None = None, type: str = "task", cwd: str = ".",
               env: tuple[str, ...] | list[str] = (), memory_max: str | None = None, cpu_quota: str | None = None,
               tasks_max: int | None = None, timeout: str | None = None, stop_timeout: str = "10s",
               activity_timeout: str | None = None, provider: str = "raw", restart: str = "never",
               max_restarts: int | None = None, max_seconds: str | None = None, backoff: str | None = None,
               backoff_max: str | None = None, parent: str | None = None, max_children: int | None = None,
               max_cost_usd: float | None = None, worktree: bool | None = None, base: str | None = None,
               worktree_name: str | None = None, check_installed: bool = True, no_memory: bool = False,
               persist: bool | None = None, on_boot: str = "run", **agent: Any) -> MissionSpec:
    """The spec these options describe; `agent` holds the agent CLI's options (AGENT_OPTION_NAMES).
    For an agent, the words are its prompt, and its CLI must be installed (`check_installed`).
    `worktree` True/False is --worktree/--no-worktree (None: agents in a repository get one).
    `persist` None: a session is persisted (see persisted_by_default), a task or quest is not."""
    unknown = set(agent) - set(AGENT_OPTION_NAMES)
    if unknown:
        raise TypeError(f"unknown mission options: {sorted(unknown)}")

    def duration(text: str | None, what: str, plain: str = "s") -> float | None:
        return parse_duration(text, what, plain) if text else None

    spec = MissionSpec(
        command=" ".join(command) if provider != "raw" else command_line(command),
        agent=AgentOptions(**_parsed_agent_options(agent)),
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
        memory=not no_memory,
        persist=persisted_by_default(type) if persist is None else persist,
        on_boot=on_boot,
    )
    if spec.provider != "raw" or spec.agent.given():  # a plain command without agent options: nothing to ask
        from overmind.providers import check_agent_spec, require_installed

        check_agent_spec(spec.provider, spec.type, spec.command, spec.agent)
        if spec.provider != "raw" and check_installed:
            require_installed(spec.provider, spec.env)
    return spec


def _parsed_agent_options(given: dict[str, Any]) -> dict[str, Any]:
    """Agent options as typed, with durations ('30m') in seconds."""
    from overmind.agent_options import AGENT_OPTIONS

    durations = {option.name for option in AGENT_OPTIONS if option.info.duration}
    return {key: parse_duration(value, f"--{key.replace('_', '-')}") if key in durations and isinstance(value, str)
            else value for key, value in given.items()}


def isolation(worktree: bool | None, base: str | None, worktree_name: str | None) -> Isolation:
    """--worktree/--no-worktree, --base and --worktree-name as a spec's Isolation."""
    from overmind.errors import OvermindError

    if worktree is False and (base or worktree_name):
        raise OvermindError("--no-worktree cannot take --base or --worktree-name")
    chosen = worktree or base is not None or worktree_name is not None
    return Isolation(mode="worktree" if chosen else "none" if worktree is False else "auto", base=base,
                     worktree=worktree_name)


def as_agent_run(spec: MissionSpec, worktree: str | None = None) -> MissionSpec:
    """The plain command that runs an agent spec as its own mission and waits for it: how a
    ritual's scheduled run starts an agent (visible in ps, logs and result like any other).
    `worktree`: the named worktree every run works in (so runs do not pile up worktrees)."""
    import sys
    from dataclasses import replace

    argv = [sys.executable, "-m", "overmind", "run", "--provider", spec.provider, "--wait"]
    if spec.isolation.mode == "none":
        argv.append("--no-worktree")
    elif worktree is not None:
        argv += [f"--worktree-name={worktree}", *([f"--base={spec.isolation.base}"] if spec.isolation.base else [])]
    argv += [f"{flag}={value}" for flag, value in agent_flags(spec.agent)]
    argv += [f"--env={key}={value}" for key, value in spec.env.items()]
    argv += [] if spec.memory else ["--no-memory"]
    return replace(spec, provider="raw", agent=AgentOptions(), command=shlex.join([*argv, "--", spec.command]))


def agent_flags(options: AgentOptions) -> list[tuple[str, Any]]:
    """(flag, value) of every option that is set, as `overmind run` spells them."""
    given = options.given()
    return [("--" + name.replace("_", "-"), f"{given[name]:g}" if isinstance(given[name], float) else given[name])
            for name in AGENT_OPTION_NAMES if name in given]


def persisted_by_default(mission_type: str) -> bool:
    """A session is what a reboot loses a conversation of: persisted unless asked not to
    (`--no-persist`, or OVERMIND_PERSIST_SESSIONS=0 for every session); tasks and quests run again
    at boot only when asked (docs/reboots.md)."""
    return mission_type == "session" and os.environ.get("OVERMIND_PERSIST_SESSIONS", "1") != "0"

