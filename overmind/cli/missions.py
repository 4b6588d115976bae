"""Mission commands: run, ps, info, logs, wait, stop, kill, gc."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from overmind import format as fmt
from overmind.cli.options import agent_options, json_option, launch_options, mission_spec
from overmind.errors import OvermindError

if TYPE_CHECKING:
    from overmind.spec import MissionSpec

SESSION_START_TIMEOUT = 60.0


def _missions(auto_boot: bool = False):  # -> overmind.missions.Missions
    from overmind.host import ensure_user_manager
    from overmind.missions import Missions

    ensure_user_manager(auto_boot=auto_boot)
    return Missions()


@click.command(context_settings={"allow_interspersed_args": False})
@click.option("--name", help="Mission name (default: a generated adjective-noun).")
@agent_options
@launch_options
def run(name: str | None, wait_: bool, as_json: bool, command: tuple[str, ...], **options: Any) -> None:
    """Start COMMAND (or an agent's PROMPT) as a supervised mission (a transient systemd user unit).

    One argument is run as a shell command line (`sh -c`); several are quoted as separate words.
    With --provider claude|codex the words are the agent's prompt (optional for a session).
    """
    launch(mission_spec(command, name=name, **options), wait_, as_json)


def launch(spec: MissionSpec, wait_: bool, as_json: bool) -> None:
    """Start a mission, say so in one line, and with wait_ block and exit with its code."""
    missions = _missions(auto_boot=True)
    mission = missions.start(spec)
    if spec.type == "session":
        # Until the agent takes messages, or with the reason it cannot (e.g. an unknown --session-id).
        failure = missions.wait_started(mission, SESSION_START_TIMEOUT)
        if failure:
            raise OvermindError(f"{spec.provider} session '{mission.name}' could not start: {failure}",
                                hint=f"overmind logs {mission.name}")
    where = _workplace(mission, missions)
    if as_json:
        click.echo(json.dumps({"id": mission.id, "name": mission.name, "unit": mission.unit, **where}))
    else:
        noun = "quest" if mission.type == "quest" else "mission"
        ports = " ".join(f"{variable}={port}" for variable, port in where.get("ports", {}).items())
        inside = f" in worktree {where['worktree']['name']}" + (f", {ports}" if ports else "") if where else ""
        click.echo(f"started {noun} {mission.id} ({mission.name}) as {mission.unit}{inside}")
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
    envs = _environments([v.mission for _, v in order], missions)
    if as_json:
        fmt.print_json([v.to_json() | {"children": [c.id for c in family.children.get(v.mission.id, [])]}
                        | envs.get(v.mission.id, NO_ENVIRONMENT) for _, v in order])
        return
    if not order:
        click.echo("no missions (start one with: overmind run 'COMMAND')")
        return
    # What agents are doing (their STATUS=), in its own column when any of them says; where
    # they work (worktree and ports) when any of them has a worktree.
    activity = any(v.activity for _, v in order)
    isolated = bool(envs)
    headers = ("ID", "NAME", "TYPE", "STATUS", "RESTARTS", "UPTIME", "MEM", "CPU", *(["ACTIVITY"] * activity),
               *(["WORKTREE", "PORTS"] * isolated), "COMMAND")
    rows = [(v.mission.id, lead + v.mission.name, v.mission.type, v.status.label, str(v.restarts),
             fmt.duration(v.uptime), fmt.size(v.memory), fmt.cpu(v.cpu_seconds),
             *([fmt.truncate(v.activity or "-", 40)] * activity),
             *(_environment_cells(envs.get(v.mission.id)) if isolated else ()), v.command_line)
            for lead, v in order]
    shrinkable = [1, 3, *([8] if activity else []), *([8 + activity] if isolated else [])]
    click.echo(fmt.table(headers, rows, shrinkable=shrinkable))


def _workplace(mission: Any, missions: Any) -> dict[str, Any]:
    """A just-started mission's worktree, branch and ports (no services: they are starting)."""
    if not mission.spec.get("worktree"):
        return {}
    from overmind import isolation

    return isolation.workplace(mission, missions.store)


NO_ENVIRONMENT: dict[str, Any] = {"worktree": None, "branch": None, "ports": {}, "services": []}


def _environments(chosen: list, missions) -> dict[str, dict[str, Any]]:
    """Worktree, branch, ports and services of the missions that have a worktree."""
    from overmind import isolation

    return isolation.describe(chosen, missions.store)


def _environment_cells(env: dict[str, Any] | None) -> tuple[str, str]:
    if not env or not env["worktree"]:
        return "-", "-"
    return env["worktree"]["name"], ",".join(str(port) for port in dict.fromkeys(env["ports"].values())) or "-"


@click.command()
@click.argument("ref", metavar="ID|NAME")
@json_option
def info(ref: str, as_json: bool) -> None:
    """Everything known about one mission."""
    missions = _missions()
    view = missions.view(missions.resolve(ref))
    data = view.to_json() | _environments([view.mission], missions).get(view.mission.id, NO_ENVIRONMENT)
    if as_json:
        fmt.print_json(data)
        return
    from datetime import datetime

    def stamp(value: float | None) -> str:
        return datetime.fromtimestamp(value).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z") if value else "-"

    if data["type"] == "blueprint":
        from overmind.cli.blueprints import print_pipeline

        print_pipeline(view, stamp)
        return
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
    if data["worktree"]:
        fields[fields.index(("cwd", data["cwd"])) + 1:0] = [
            ("worktree", f"{data['worktree']['name']} ({data['worktree']['path']})"),
            ("branch", f"{data['branch']} (from {data['worktree']['base']})"),
            ("ports", " ".join(f"{variable}={port}" for variable, port in data["ports"].items()) or "-"),
            ("services", ", ".join(f"{s['name']} ({s['state']}" + (f", port {s['port']})" if s["port"] else ")")
                                   for s in data["services"]) or "-")]
    print_fields(fields)


def print_fields(fields: list[tuple[str, object]]) -> None:
    width = max(len(label) for label, _ in fields)
    for label, value in fields:
        click.echo(f"{label:>{width}}: {value}")


@click.command()
@click.argument("ref", metavar="[ID|NAME]", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines as they arrive.")
@click.option("--lines", "-n", type=click.IntRange(min=0), help="Show only the last N lines.")
@click.option("--since", help="Show lines since a time, e.g. '10 min ago' or '2026-01-31 09:00'.")
@click.option("--service", metavar="SERVICE",
              help="The output of one of the mission's services (.overmind.yml), or of its worktree's setup.")
@json_option
def logs(ref: str | None, follow: bool, lines: int | None, since: str | None, service: str | None,
         as_json: bool) -> None:
    """Show a mission's output from the journal (all missions, name-prefixed, without ID|NAME).

    A blueprint's logs are all its agents' lines in time order, prefixed with the agent's name."""
    from overmind import journal

    missions = _missions()
    known = missions.store.all()
    chosen = [missions.resolve(ref)] if ref else known
    if service is not None:
        from overmind import isolation

        if ref is None:
            raise OvermindError("--service needs a mission", hint="overmind logs NAME --service SERVICE")
        chosen = known = [isolation.service_log_source(chosen[0], service, missions.store)]
    labels = {m.id: m.name for m in known}
    blueprint = ref is not None and chosen[0].type == "blueprint"
    if blueprint:
        from overmind.blueprint.progress import agent_label

        chosen = missions.store.children(chosen[0].id)
        labels.update({m.id: agent_label(m) for m in chosen})
    chosen = [m for m in chosen if m.type != "blueprint"]  # a blueprint writes no lines of its own
    since_epoch = _parse_since(since) if since else None
    names_width = max((len(labels[m.id]) for m in chosen), default=0)
    found = journal.entries(chosen, known, lines=lines, since=since_epoch, follow=follow)
    if as_json:
        for data in journal.with_events(found, missions.store):
            click.echo(json.dumps(data))
        return
    for entry in found:
        entry = entry._replace(name=labels.get(entry.mission_id, entry.name))
        click.echo(journal.format_entry(entry, with_name=ref is None or blueprint, name_width=names_width))


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
@click.option("--timeout", metavar="MS",
              help="Give up after this long (plain numbers are ms); the mission keeps running.")
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
@click.option("--worktrees", is_flag=True,
              help="Also remove worktrees nobody works in whose work is merged (others are listed, kept).")
@json_option
def gc(worktrees: bool, as_json: bool) -> None:
    """Forget finished and killed missions (their journal lines stay in the journal)."""
    removed = _missions().collect()
    if not as_json:
        click.echo(f"removed {len(removed)} finished mission{'s' if len(removed) != 1 else ''}")
    collected = []
    if worktrees:
        from overmind.cli.worktree import collect_worktrees

        collected = collect_worktrees(as_json)
    if as_json:
        missions = [{"id": m.id, "name": m.name} for m in removed]
        fmt.print_json({"missions": missions, "worktrees": collected} if worktrees else missions)


COMMANDS = [run, ps, info, logs, wait, stop, kill, gc]
