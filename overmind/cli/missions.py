"""Mission commands: run, ps, info, logs, wait, stop, kill, gc."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

import click

from overmind import format as fmt
from overmind.errors import OvermindError


def _missions(auto_boot: bool = False):  # -> overmind.missions.Missions
    from overmind.host import ensure_user_manager
    from overmind.missions import Missions

    ensure_user_manager(auto_boot=auto_boot)
    return Missions()


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
SESSION_START_TIMEOUT = 60.0


def agent_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The agent CLI's own options, passed through (claude, and what codex understands)."""
    options = [
        click.option("--model", help="Model for the agent."),
        click.option("--permission-mode", help="claude: acceptEdits, auto, bypassPermissions, default, dontAsk, plan."),
        click.option("--allowed-tools", metavar="TOOLS", help="claude: tools allowed without asking, e.g. 'Bash,Edit'."),
        click.option("--max-turns", type=click.IntRange(min=1), help="claude: stop after N agent turns."),
        click.option("--append-system-prompt", metavar="TEXT", help="claude: text appended to the system prompt."),
        click.option("--max-budget-usd", type=click.FloatRange(min=0, min_open=True), help="claude: spending cap."),
        click.option("--session-id", metavar="ID", help="Resume this conversation (the agent's own session id)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--name", help="Mission name (default: a generated adjective-noun).")
@click.option("--cwd", default=".", show_default=True, help="Working directory.")
@click.option("--env", "-e", "env", multiple=True, metavar="K=V", help="Environment variable (repeatable).")
@click.option("--memory-max", metavar="SIZE", help="Memory limit, e.g. 512M (MemoryMax=).")
@click.option("--cpu-quota", metavar="PCT", help="CPU limit in percent of one CPU, e.g. 50% (CPUQuota=).")
@click.option("--tasks-max", type=click.IntRange(min=1), help="Process/thread limit (TasksMax=).")
@click.option("--timeout", metavar="DURATION", help="Runtime limit, e.g. 30min (RuntimeMaxSec=).")
@click.option("--stop-timeout", metavar="DURATION", default="10s", show_default=True,
              help="Grace period between SIGTERM and SIGKILL on stop.")
@click.option("--restart", type=click.Choice(["never", "on-failure", "always"]), default="never",
              show_default=True, help="Restart policy (Restart=).")
@click.option("--max-restarts", type=click.IntRange(min=0),
              help="Give up after N restarts within --max-seconds (StartLimitBurst=).")
@click.option("--max-seconds", metavar="DURATION", help="Window for --max-restarts (default 60s).")
@click.option("--backoff", metavar="MS", help="First restart delay (plain numbers are ms); doubles each restart.")
@click.option("--backoff-max", metavar="MS", help="Cap for the growing restart delay (default 60s).")
@click.option("--activity-timeout", metavar="DURATION",
              help="Kill (and restart per policy) a mission silent for this long (WatchdogSec=).")
@click.option("--parent", metavar="ID|NAME", help="Start as a child of this running mission (in its slice).")
@click.option("--max-children", type=click.IntRange(min=0), help="Cap on the missions started below this one.")
@click.option("--max-cost-usd", type=click.FloatRange(min=0), help="Refuse new children once those below have spent this.")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the mission to finish; exit with its code.")
@click.option("--type", "mission_type", type=click.Choice(["task", "session"]), default="task", show_default=True,
              help="A task runs to its end; a session stays up and takes messages (send, attach).")
@click.option("--provider", type=click.Choice(["raw", "claude", "codex"]), default="raw", show_default=True,
              help="What runs: a shell command (raw) or an agent CLI given a prompt.")
@agent_options
@json_option
@click.argument("command", nargs=-1, metavar="COMMAND|PROMPT")
def run(name: str | None, cwd: str, env: tuple[str, ...], memory_max: str | None, cpu_quota: str | None,
        tasks_max: int | None, timeout: str | None, stop_timeout: str, restart: str, max_restarts: int | None,
        max_seconds: str | None, backoff: str | None, backoff_max: str | None, activity_timeout: str | None,
        parent: str | None, max_children: int | None, max_cost_usd: float | None, wait_: bool, mission_type: str,
        provider: str, as_json: bool,
        command: tuple[str, ...], **agent: Any) -> None:
    """Start COMMAND (or an agent's PROMPT) as a supervised mission (a transient systemd user unit).

    One argument is run as a shell command line (`sh -c`); several are quoted as separate words.
    With --provider claude|codex the words are the agent's prompt (optional for a session).
    """
    from overmind.providers import AgentOptions, require_installed
    from overmind.spec import (Limits, MissionSpec, RestartPolicy, parse_cpu_quota, parse_duration, parse_env,
                               parse_size)

    def duration(text: str | None, what: str, plain: str = "s") -> float | None:
        return parse_duration(text, what, plain) if text else None

    if provider != "raw":
        text = " ".join(command)
    else:
        text = command[0] if len(command) == 1 else shlex.join(command)
    spec = MissionSpec(
        command=text,
        type=mission_type,
        provider=provider,
        agent=AgentOptions(**agent),
        name=name,
        cwd=cwd,
        env=parse_env(env),
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
    )
    if spec.provider != "raw":
        require_installed(spec.provider, spec.env)
    missions = _missions(auto_boot=True)
    mission = missions.start(spec)
    if spec.type == "session":
        # Until the agent takes messages, or with the reason it cannot (e.g. an unknown --session-id).
        failure = missions.wait_started(mission, SESSION_START_TIMEOUT)
        if failure:
            raise OvermindError(f"{spec.provider} session '{mission.name}' could not start: {failure}",
                                hint=f"overmind logs {mission.name}")
    if as_json:
        click.echo(json.dumps({"id": mission.id, "name": mission.name, "unit": mission.unit}))
    else:
        click.echo(f"started mission {mission.id} ({mission.name}) as {mission.unit}")
    if wait_:
        _wait_and_exit(missions, [mission], None, quiet=as_json)


@click.command()
@click.option("--all", "-a", "show_all", is_flag=True, help="Include killed missions.")
@click.option("--tree", is_flag=True, help="Draw parent/child trees.")
@click.option("--children", metavar="ID|NAME", help="Only the direct children of this mission.")
@json_option
def ps(show_all: bool, tree: bool, children: str | None, as_json: bool) -> None:
    """List missions: running ones first, then finished ones not yet collected by gc."""
    from overmind.tree import Tree

    missions = _missions()
    known = missions.store.all()
    family = Tree(known)
    chosen = family.children.get(missions.resolve(children).id, []) if children else known
    views = {v.mission.id: v for v in missions.views(chosen)}
    if not show_all:
        views = {key: v for key, v in views.items() if v.status.state != "killed"}
    if tree and not children:
        order = [(lead, views[m.id]) for lead, m in family.walk() if m.id in views]
    else:
        ordered = sorted(views.values(), key=lambda v: (v.status.finished, v.mission.created_at))
        order = [("", v) for v in ordered]
    if as_json:
        fmt.print_json([v.to_json() | {"children": [c.id for c in family.children.get(v.mission.id, [])]}
                        for _, v in order])
        return
    if not order:
        click.echo("no missions (start one with: overmind run 'COMMAND')")
        return
    # What agents are doing (their STATUS=), in its own column when any of them says.
    activity = any(v.activity for _, v in order)
    headers = ("ID", "NAME", "TYPE", "STATUS", "RESTARTS", "UPTIME", "MEM", "CPU", *(["ACTIVITY"] * activity),
               "COMMAND")
    rows = [(v.mission.id, lead + v.mission.name, v.mission.type, v.status.label, str(v.restarts),
             fmt.duration(v.uptime), fmt.size(v.memory), fmt.cpu(v.cpu_seconds),
             *([fmt.truncate(v.activity or "-", 40)] * activity), v.command_line)
            for lead, v in order]
    click.echo(fmt.table(headers, rows, shrinkable=(1, 8) if activity else (1,)))


@click.command()
@click.argument("ref", metavar="ID|NAME")
@json_option
def info(ref: str, as_json: bool) -> None:
    """Everything known about one mission."""
    missions = _missions()
    view = missions.view(missions.resolve(ref))
    data = view.to_json()
    if as_json:
        fmt.print_json(data)
        return
    from datetime import datetime

    def stamp(value: float | None) -> str:
        return datetime.fromtimestamp(value).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if value else "-"

    limits = ", ".join(f"{k}={v}" for k, v in data["limits"].items()) or "none"
    fields = [
        ("status", view.status.label + (f", exit code {data['exit_code']}" if data["exit_code"] is not None else "")),
        ("id", data["id"]), ("name", data["name"]), ("type", data["type"]), ("provider", data["provider"]),
        ("unit", data["unit"]), ("os pid", data["os_pid"] or "-"), ("cgroup", data["cgroup"] or "-"),
        *([("session", data["session_id"])] if data["session_id"] else []),
        ("command", data["command"].replace("\n", "\\n")), ("cwd", data["cwd"]), ("parent", data["parent"] or "-"),
        ("restarts", f"{data['restarts']} (policy: {data['restart_policy']})"), ("limits", limits),
        ("memory", fmt.size(data["memory_bytes"])), ("cpu", fmt.cpu(data["cpu_s"])),
        ("uptime", fmt.duration(data["uptime_s"])), ("created", stamp(data["created_at"])),
        ("started", stamp(data["started_at"])), ("finished", stamp(data["finished_at"])),
    ]
    if data["status_text"]:
        fields.insert(1, ("activity", data["status_text"]))
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        click.echo(f"{label:>{width}}: {value}")


@click.command()
@click.argument("ref", metavar="[ID|NAME]", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines as they arrive.")
@click.option("--lines", "-n", type=click.IntRange(min=0), help="Show only the last N lines.")
@click.option("--since", help="Show lines since a time, e.g. '10 min ago' or '2026-01-31 09:00'.")
@json_option
def logs(ref: str | None, follow: bool, lines: int | None, since: str | None, as_json: bool) -> None:
    """Show a mission's output from the journal (all missions, name-prefixed, without ID|NAME)."""
    from overmind import journal

    missions = _missions()
    known = missions.store.all()
    chosen = [missions.resolve(ref)] if ref else known
    since_epoch = _parse_since(since) if since else None
    names_width = max((len(m.name) for m in chosen), default=0)
    found = journal.entries(chosen, known, lines=lines, since=since_epoch, follow=follow)
    if as_json:
        for data in journal.with_events(found, missions.store):
            click.echo(json.dumps(data))
        return
    for entry in found:
        click.echo(journal.format_entry(entry, with_name=ref is None, name_width=names_width))


def _parse_since(text: str) -> float:
    """Absolute ('2026-01-31 09:00', ISO 8601) or relative ('10 min ago', '2h') times."""
    import re
    import time
    from datetime import datetime

    from overmind.spec import parse_duration

    relative = re.fullmatch(r"(.+?)\s*ago", text.strip()) 
    if relative or re.fullmatch(r"\d+(\.\d+)?\s*[a-z]+", text.strip()):
        return time.time() - parse_duration((relative[1] if relative else text).replace(" ", ""), "--since")
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise OvermindError(f"invalid --since {text!r}", hint="use e.g. '10min ago' or '2026-01-31 09:00'") from None


def _targets(missions, refs: tuple[str, ...], every: bool, verb: str) -> list:
    if every and refs:
        raise OvermindError(f"give mission names or --all to {verb}, not both")
    if every:
        return [v.mission for v in missions.views(missions.store.all()) if not v.status.finished]
    if not refs:
        raise OvermindError(f"nothing to {verb}", hint=f"overmind {verb} ID|NAME, or --all")
    return [missions.resolve(ref) for ref in refs]


cascade_option = click.option("--cascade", is_flag=True, help="Also end every mission below it, children first.")


@click.command()
@click.argument("refs", nargs=-1, metavar="ID|NAME...")
@click.option("--all", "every", is_flag=True, help="Stop every running mission.")
@cascade_option
def stop(refs: tuple[str, ...], every: bool, cascade: bool) -> None:
    """Stop missions: SIGTERM to all their processes, SIGKILL after the grace period."""
    missions = _missions()
    for mission in _targets(missions, refs, every, "stop"):
        for ended in missions.stop(mission, cascade=cascade):
            click.echo(f"stopped {ended.id} ({ended.name})")


@click.command()
@click.argument("refs", nargs=-1, metavar="ID|NAME...")
@click.option("--all", "every", is_flag=True, help="Kill every running mission.")
@cascade_option
def kill(refs: tuple[str, ...], every: bool, cascade: bool) -> None:
    """Kill missions with SIGKILL and drop them from ps (logs stay readable by id until gc)."""
    missions = _missions()
    for mission in _targets(missions, refs, every, "kill"):
        for ended in missions.kill(mission, cascade=cascade):
            click.echo(f"killed {ended.id} ({ended.name})")


@click.command()
@click.argument("refs", nargs=-1, required=True, metavar="ID|NAME...")
@click.option("--timeout", metavar="MS", help="Give up after this long (plain numbers are ms); the mission keeps running.")
@json_option
def wait(refs: tuple[str, ...], timeout: str | None, as_json: bool) -> None:
    """Block until missions finish (restarts included); exit with the mission's exit code."""
    from overmind.spec import parse_duration

    missions = _missions()
    chosen = [missions.resolve(ref) for ref in refs]
    seconds = parse_duration(timeout, "--timeout", plain="ms") if timeout else None
    _wait_and_exit(missions, chosen, seconds, as_json=as_json)


def _wait_and_exit(missions, chosen: list, timeout: float | None, as_json: bool = False, quiet: bool = False) -> None:
    views = missions.wait(chosen, timeout)
    if views is None:
        names = ", ".join(m.name for m in chosen)
        raise OvermindError(f"timeout: {names} still running after {timeout:g}s", exit_code=124)
    if as_json:
        fmt.print_json([v.to_json() for v in views] if len(views) > 1 else views[0].to_json())
    elif not quiet:
        for view in views:
            prefix = f"{view.mission.name}: " if len(views) > 1 else ""
            reason = view.status.reason
            detail = f": {reason}" if reason and not reason.startswith("exit ") else ""
            click.echo(f"{prefix}finished: {view.status.state}{detail} (exit code {view.status.exit_code})")
    codes = [v.status.exit_code or 0 for v in views]
    raise SystemExit(next((code for code in codes if code), 0))


@click.command()
@json_option
def gc(as_json: bool) -> None:
    """Forget finished and killed missions (their journal lines stay in the journal)."""
    removed = _missions().collect()
    if as_json:
        fmt.print_json([{"id": m.id, "name": m.name} for m in removed])
    else:
        click.echo(f"removed {len(removed)} finished mission{'s' if len(removed) != 1 else ''}")


COMMANDS = [run, ps, info, logs, wait, stop, kill, gc]
