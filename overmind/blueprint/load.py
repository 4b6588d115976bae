"""Read a blueprint file into a validated Blueprint; every problem is reported as file:line: key: what.

tomlkit parses (and reports syntax errors with their line), pydantic checks keys and types
(`schema`), then the relations between agents are checked here: commands, dependencies and
cycles. The first problem in file order is raised; the hint says how many more there are.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from overmind import mistakes, providers
from overmind.agent_options import AgentOptions
from overmind.blueprint.dag import CycleError, topological_order
from overmind.blueprint.locate import KeyLines
from overmind.blueprint.model import NAME_MAX, Agent, Blueprint, Timing, member_name
from overmind.errors import OvermindError
from overmind.mission.spec import Isolation, Limits, MissionSpec, RestartPolicy, parse_env
from overmind.providers import PROVIDERS

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
TIMING_KEYS = ("persistent", "randomized_delay", "overlap")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")

KeyPath = tuple[str | int, ...]


class BlueprintError(OvermindError):
    """A problem at a place in the file: `blueprint.toml:12: agents.build.depends_on: ...`."""


@dataclass(frozen=True)
class Problem:
    line: int
    path: KeyPath
    text: str

    def render(self, shown_file: str) -> str:
        key = dotted(self.path)
        return f"{shown_file}:{self.line}: {key}: {self.text}" if key else f"{shown_file}:{self.line}: {self.text}"


def dotted(path: KeyPath) -> str:
    """agents.build.depends_on, quoting keys TOML would quote; array indexes are left out."""
    return ".".join(k if _BARE_KEY.fullmatch(k) else json.dumps(k) for k in path if isinstance(k, str))


def load(path: str) -> Blueprint:
    source = _read(path)
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        document = tomlkit.parse(source).unwrap()
    except ParseError as error:
        line, what = mistakes.toml_syntax(source, error)
        raise BlueprintError(f"{path}:{line}: invalid TOML: {what}") from None
    return _Checker(path, source, document).blueprint()


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise OvermindError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise OvermindError(f"{path} is a directory, not a blueprint file") from None
    except UnicodeDecodeError:
        raise OvermindError(f"{path} is not UTF-8 text") from None
    except OSError as error:
        raise OvermindError(f"cannot read {path}: {error.strerror}") from None


class _Checker:
    def __init__(self, shown: str, source: str, document: dict[str, Any]) -> None:
        self.shown = shown
        self.file = Path(shown).resolve()
        self.lines = KeyLines(source)
        self.document = document
        self.problems: list[Problem] = []

    def problem(self, path: KeyPath, text: str) -> None:
        self.problems.append(Problem(self.lines.line(path), path, text))

    def raise_first(self) -> None:
        if not self.problems:
            return
        self.problems.sort(key=lambda p: p.line)
        more = len(self.problems) - 1
        hint = f"{more} more problem{'s' if more > 1 else ''} in this file" if more else None
        raise BlueprintError(self.problems[0].render(self.shown), hint=hint)

    # -- the whole file -----------------------------------------------------------------
    def blueprint(self) -> Blueprint:
        from pydantic import ValidationError

        from overmind.blueprint import schema

        try:
            parsed = schema.BlueprintFile.model_validate(self.document)
        except ValidationError as error:
            for item in error.errors():
                self.problem(tuple(item["loc"]), mistakes.pydantic_message(item, "toml", schema.BlueprintFile))
            self.raise_first()
            raise  # unreachable: pydantic reported at least one error
        name = self.blueprint_name(parsed.name)
        if not parsed.agents:
            self.problem(("agents",), "add at least one [agents.<name>] table with a command")
        agents = {agent_name: self.agent(name, agent_name, table, parsed.persist)
                  for agent_name, table in parsed.agents.items()}
        self.check_dependencies(parsed.agents)
        self.check_persisted(agents)
        self.raise_first()
        tables: dict[str, Any] = parsed.agents
        order = topological_order({n: table.depends_on for n, table in tables.items()})
        found = [agents[n] for n in order]
        assert all(agent is not None for agent in found)  # raise_first reported any that were not made
        return Blueprint(name=name, path=str(self.file), agents=tuple(a for a in found if a is not None))

    def blueprint_name(self, declared: str | None) -> str:
        name = declared if declared is not None else self.file.stem
        if not NAME.fullmatch(name) or len(name) > NAME_MAX - 2:
            where = "" if declared is not None else " (from the file name; set name = \"...\" at the top)"
            self.problem(("name",), f"invalid blueprint name {json.dumps(name)}{where}: use letters, digits,"
                                    f" '-' and '_', at most {NAME_MAX - 2} characters")
        return name

    # -- one agent ----------------------------------------------------------------------
    def agent(self, blueprint: str, name: str, table: Any, persist_all: bool) -> Agent | None:
        at: KeyPath = ("agents", name)
        if not NAME.fullmatch(name):
            self.problem(at, "invalid agent name: use letters, digits, '-' and '_'")
            return None
        longest = member_name(blueprint, name, max(table.replicas, 1))
        if len(longest) > NAME_MAX:
            self.problem(at, f"the mission name {longest!r} would be longer than {NAME_MAX} characters")
        if table.type == "task" and table.restart == "always":
            self.problem((*at, "restart"), '"always" never lets a task finish;'
                                           ' use type = "session" for an agent that keeps running')
        options = self.agent_options(at, table)
        timing = self.timing(at, table)
        isolation = self.isolation(at, table)
        command = self.command(at, table)
        cwd = self.cwd(at, table.cwd)
        env = self.env(at, table.env)
        persist = self.persist(at, table, persist_all)
        if options is None or command is None or cwd is None or env is None or isolation is None or persist is None:
            return None
        try:
            spec = MissionSpec(
                command=command, cwd=cwd, env=env, type=table.type, provider=table.provider, agent=options,
                limits=Limits(memory_max=table.memory_max, cpu_quota=table.cpu_quota, tasks_max=table.tasks_max,
                              timeout=table.timeout),
                restart=RestartPolicy(policy=table.restart, max_restarts=table.max_restarts,
                                      max_seconds=table.max_seconds, backoff=table.backoff,
                                      backoff_max=table.backoff_max),
                activity_timeout=table.activity_timeout, isolation=isolation, persist=persist,
                on_boot=table.on_boot or "run",
                **({"stop_timeout": table.stop_timeout} if table.stop_timeout is not None else {}),
            )
            providers.check_agent_spec(spec.provider, spec.type, spec.command, spec.agent)
        except OvermindError as error:
            self.problem(at, error.message)
            return None
        return Agent(name=name, line=self.lines.line(at), spec=spec, depends_on=tuple(table.depends_on),
                     replicas=table.replicas, timing=timing)

    def persist(self, at: KeyPath, table: Any, persist_all: bool) -> bool | None:
        """Its own `persist`, else the file's; a scheduled agent is a ritual, whose timer comes back
        at boot anyway."""
        if table.schedule is not None:
            if table.persist is not None or table.on_boot is not None:
                self.problem((*at, "persist" if table.persist is not None else "on_boot"),
                             "a scheduled agent is a ritual: its timer comes back at boot already")
                return None
            return False
        persist = bool(persist_all if table.persist is None else table.persist)
        if table.on_boot is not None and not persist:
            self.problem((*at, "on_boot"), "is for a persisted agent (set persist = true)")
            return None
        return persist

    def isolation(self, at: KeyPath, table: Any) -> Isolation | None:
        """isolation = "worktree" | "none", and a shared `worktree` (which implies "worktree")."""
        if table.isolation == "none" and (table.worktree is not None or table.base is not None):
            self.problem((*at, "worktree" if table.worktree is not None else "base"),
                         'does not apply with isolation = "none"')
            return None
        chosen = table.isolation or ("worktree" if table.worktree is not None or table.base is not None else "auto")
        return Isolation(mode=chosen, base=table.base, worktree=table.worktree)

    def agent_options(self, at: KeyPath, table: Any) -> AgentOptions | None:
        """The agent CLI's own options; each one the provider does not take is named."""
        if table.provider not in PROVIDERS:
            self.problem((*at, "provider"), f"unknown provider {json.dumps(table.provider)}"
                                            f"{mistakes.suggestion(table.provider, PROVIDERS)}")
            return None
        from overmind.blueprint.schema import BLUEPRINT_AGENT_OPTIONS

        keys = [option.name for option in BLUEPRINT_AGENT_OPTIONS]
        options = AgentOptions(**{key: getattr(table, key) for key in keys})
        supported = providers.get(table.provider).supported_options
        unsupported = [key for key in keys if getattr(table, key) is not None and key not in supported]
        for key in unsupported:
            self.problem((*at, key), f"does not apply to {table.provider} agents")
        return None if unsupported else options

    def timing(self, at: KeyPath, table: Any) -> Timing | None:
        """A `schedule` makes the agent a ritual: a task on its own clock, outside the graph."""
        if table.schedule is None:
            for key in TIMING_KEYS:
                if getattr(table, key) is not None:
                    self.problem((*at, key), "applies only to a scheduled agent (set schedule)")
            return None
        for key, wrong, why in (("type", table.type != "task", "a scheduled agent is a task"),
                                ("replicas", table.replicas != 1, "a scheduled agent runs once per elapse"),
                                ("restart", table.restart != "never",
                                 "a scheduled agent does not restart; its next run comes on schedule"),
                                ("depends_on", bool(table.depends_on),
                                 "a scheduled agent runs on its own schedule, after nothing")):
            if wrong:
                self.problem((*at, key), why)
        from overmind.rituals import schedule

        try:
            when = schedule.parse(table.schedule).schedule
        except OvermindError as error:
            self.problem((*at, "schedule"), error.message)
            return None
        if table.persistent and when.calendar is None:
            self.problem((*at, "persistent"), "needs a calendar schedule; an interval counts from the last run")
        return Timing(when, bool(table.persistent), table.randomized_delay, table.overlap or "skip")

    def command(self, at: KeyPath, table: Any) -> str | None:
        """A raw agent's shell command, or an agent CLI's prompt (`command` also, as older files have it)."""
        if table.command is not None and table.prompt is not None:
            self.problem((*at, "prompt"), "give either a command or a prompt, not both")
            return None
        if table.prompt is not None and table.provider == "raw":
            self.problem((*at, "prompt"), 'a raw agent runs a command; a prompt needs a provider such as "claude"')
            return None
        key, text = ("prompt", table.prompt) if table.prompt is not None else ("command", table.command)
        if table.provider != "raw" and table.type == "session" and not (text or "").strip():
            return ""  # an agent session may start without a first prompt
        if text is None:
            self.problem(at, "needs a command" if table.provider == "raw" else "needs a prompt")
            return None
        if not text.strip() or "\0" in text:
            self.problem((*at, key), "must not be empty" if not text.strip() else "contains a NUL byte")
            return None
        return str(text)

    def cwd(self, at: KeyPath, cwd: str | None) -> str | None:
        """Relative to the blueprint file, so applying it from anywhere means the same thing."""
        resolved = self.file.parent / os.path.expanduser(cwd or ".")
        if not resolved.is_dir():
            self.problem((*at, "cwd"), f"directory {cwd!r} does not exist")
            return None
        return str(resolved.resolve())

    def env(self, at: KeyPath, env: dict[str, str]) -> dict[str, str] | None:
        try:
            return parse_env([f"{key}={value}" for key, value in env.items()])
        except OvermindError as error:
            self.problem((*at, "env"), error.message)
            return None

    # -- between agents -----------------------------------------------------------------
    def check_persisted(self, agents: dict[str, Agent | None]) -> None:
        """A persisted agent's unit requires those of its dependencies at boot: they must be
        there too."""
        for agent in agents.values():
            if agent is None or not agent.spec.persist:
                continue
            for index, dep in enumerate(agent.depends_on):
                needed = agents.get(dep)
                if needed is not None and not needed.spec.persist:
                    self.problem(("agents", agent.name, "depends_on", index),
                                 f"{json.dumps(agent.name)} persists but {json.dumps(dep)} does not: a boot"
                                 f" would start it without what it depends on (set persist = true on {dep!r})")

    def check_dependencies(self, tables: dict[str, Any]) -> None:
        before = len(self.problems)
        for name, table in tables.items():
            seen: set[str] = set()
            for index, dep in enumerate(table.depends_on):
                at: KeyPath = ("agents", name, "depends_on", index)
                if dep == name:
                    self.problem(at, f"{json.dumps(name)} cannot depend on itself")
                elif dep not in tables:
                    self.problem(at, f"unknown agent {json.dumps(dep)}{mistakes.suggestion(dep, tables)}")
                elif dep in seen:
                    self.problem(at, f"{json.dumps(dep)} is listed twice")
                elif tables[dep].schedule is not None:
                    self.problem(at, f"{json.dumps(dep)} runs on a schedule: nothing can depend on it")
                seen.add(dep)
        if len(self.problems) > before:
            return  # a cycle is only worth naming among known agents
        try:
            topological_order({n: t.depends_on for n, t in tables.items()})
        except CycleError as error:
            self.problem(("agents", error.cycle[0], "depends_on"), str(error))
