"""Blueprints whose agents run on several hosts: `host = "NAME"` per agent, a default at the top
of the file (or `apply --on HOST`).

The file is cut into one part per host, each an ordinary blueprint of the same name that the
host applies itself (`overmind hosts apply-part`), so each host's systemd runs its share of the
graph as it runs any blueprint. A dependency on a step of another host becomes a gate step on
the dependent's host, opened by a relay unit here once the step has finished there (see
`overmind.control.gates`). Every step is a unit on its host and every edge between hosts a unit
here: nothing of the pipeline's state lives in the overmind process that applied it.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from overmind.errors import OvermindError
from overmind.remote.registry import LOCAL

PARTS_DIR = "hosts-blueprints"
Echo = Callable[[str], None]


class Edge(NamedTuple):
    """`agent` on `target` depends on `dependency`, whose members run on `source`."""

    source: str
    members: tuple[str, ...]
    target: str
    gate: str  # the gate's member name on `target`: the dependency's own name


class Spread(NamedTuple):
    name: str
    path: Path
    hosts: dict[str, list[str]]  # host -> its agents
    gates: dict[str, list[str]]  # host -> the agents of other hosts it waits for
    edges: list[Edge]


def _document(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # the normal load says what is wrong with it


def placed_elsewhere(path: str, on: str | None = None) -> bool:
    """Whether any agent of the file runs on another host (else it is applied as always)."""
    from overmind.control.where import is_here

    document = _document(path)
    agents = document.get("agents")
    default = on or document.get("host")
    if not isinstance(agents, dict):
        return not is_here(default) if isinstance(default, str) else False
    return any(not is_here(str(table.get("host") or default or LOCAL)) for table in agents.values()
               if isinstance(table, dict))


def spread(path: str, on: str | None = None) -> Spread:
    """Which agents go where, and the edges between hosts. An agent's own `host` comes first, then
    --on, then the file's `host`, then this machine."""
    from overmind.blueprint.model import member_name
    from overmind.control.where import is_here
    from overmind.remote import registry

    document = _document(path)
    found = document.get("agents")
    agents: dict[str, Any] = found if isinstance(found, dict) else {}
    declared = document.get("name")
    name = declared if isinstance(declared, str) else Path(path).stem
    default = on or document.get("host") or LOCAL
    known = registry.load()
    where: dict[str, str] = {}
    for agent, table in agents.items():
        host = str(table.get("host") or default) if isinstance(table, dict) else str(default)
        host = LOCAL if is_here(host) else host
        if host != LOCAL and host not in known:
            raise OvermindError(f"{path}: agents.{agent}.host: no host named '{host}'",
                                hint="add it with: overmind hosts add NAME ssh://[user@]host[:port]")
        where[agent] = host
    hosts: dict[str, list[str]] = {}
    for agent, host in where.items():
        hosts.setdefault(host, []).append(agent)
    gates: dict[str, list[str]] = {}
    edges = []
    for agent, table in agents.items():
        for dependency in table.get("depends_on", []) if isinstance(table, dict) else []:
            source, target = where.get(dependency), where[agent]
            if source is None or source == target or dependency in gates.get(target, []):
                continue
            replicas = agents[dependency].get("replicas", 1) if isinstance(agents[dependency], dict) else 1
            members = tuple(member_name(name, dependency, r) for r in range(1, max(int(replicas), 1) + 1))
            gates.setdefault(target, []).append(dependency)
            edges.append(Edge(source, members, target, member_name(name, dependency, 1)))
    return Spread(name, Path(path).resolve(), hosts, gates, edges)


def part_text(path: Path, name: str, agents: list[str]) -> str:
    """The file with only `agents` (and without `host` keys): one host's part."""
    import tomlkit

    document = tomlkit.parse(path.read_text())
    document.pop("host", None)
    document["name"] = name
    tables = document.get("agents")
    if tables is not None:
        for agent in [key for key in tables if key not in agents]:
            del tables[agent]
        for agent in tables:
            tables[agent].pop("host", None)
    return tomlkit.dumps(document)


def write_part(name: str, text: str, gates: list[str], base: Path) -> Path:
    """A host's part as a blueprint file of its own (in the state directory), gates added, with
    every agent's directory made absolute from `base` (where the original file was, or the home
    directory on another host)."""
    import shlex

    import tomlkit

    from overmind.store import state_dir

    document = tomlkit.parse(text)
    tables = document.setdefault("agents", tomlkit.table(is_super_table=True))
    for agent in tables:
        cwd = tables[agent].get("cwd")
        tables[agent]["cwd"] = str(base / os.path.expanduser(str(cwd))) if cwd else str(base)
    for gate in gates:
        table = tomlkit.table()
        member = f"{name}.{gate}"
        table["command"] = shlex.join([sys.executable, "-m", "overmind", "hosts", "gate", "wait", member])
        table["cwd"] = str(base)
        tables[gate] = table
    directory = state_dir() / PARTS_DIR
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = directory / f"{name}.toml"
    target.write_text(tomlkit.dumps(document))
    return target


def envelope(name: str, text: str, gates: list[str]) -> bytes:
    return json.dumps({"name": name, "toml": text, "gates": gates}).encode()


def read_envelope(data: bytes) -> tuple[str, str, list[str]]:
    try:
        found = json.loads(data)
        return str(found["name"]), str(found["toml"]), [str(g) for g in found["gates"]]
    except (ValueError, KeyError, TypeError):
        raise OvermindError("apply-part: no blueprint part on stdin") from None


def relay_name(edge: Edge) -> str:
    """The relay's mission name here: `pipe.build.to-h2` (an edge has one)."""
    from overmind.names import NAME_PATTERN, new_id

    name = f"{edge.gate}.to-{edge.target}"
    return name if NAME_PATTERN.fullmatch(name) else f"relay-{new_id()}"


def start_relay(edge: Edge) -> str:
    """The unit that carries one edge between hosts; one already running is left alone."""
    from overmind.control.launch import launch
    from overmind.control.missions import resolve_mission, view
    from overmind.errors import MissionNotFound
    from overmind.mission.build import build_spec

    name = relay_name(edge)
    try:
        if not view(resolve_mission(name)).status.finished:
            return name
    except MissionNotFound:
        pass
    passed = ("SSH_AUTH_SOCK", "HOME", "USER")  # the person's ssh agent, and where their ssh config is
    env = tuple(f"{key}={os.environ[key]}" for key in passed if key in os.environ)
    config = os.environ.get("OVERMIND_SSH_CONFIG")
    command = (sys.executable, "-m", "overmind", "hosts", "relay", *(["--ssh-config", config] if config else []),
               edge.source, ",".join(edge.members), edge.target, edge.gate)
    spec = build_spec(command, name=name, env=env, restart="on-failure", cwd=str(Path.home()))
    launch(spec)
    return name


# -- applying ---------------------------------------------------------------------------------
class Part(NamedTuple):
    """What one host said of its part: its summary (or JSON), or why it failed."""

    host: str
    ok: bool
    text: str
    data: Any = None


def follow_here(name: str, echo: Echo) -> bool:
    """Follow this machine's pipeline `name` until it settles; whether it succeeded."""
    from overmind.control import blueprints
    from overmind.control.missions import resolve
    from overmind.store import Blueprint

    record = resolve(name)
    if not isinstance(record, Blueprint):
        raise OvermindError(f"'{name}' is not a pipeline")
    view = blueprints.follow(record, echo)
    words, failed = blueprints.outcome(view)
    echo(f"pipeline {record.name} {words}")
    return not failed


def apply_part_here(name: str, text: str, gates: list[str], base: Path, prune: bool) -> Any:
    """Apply one part on this machine (the far side of `hosts apply-part`, and the local part)."""
    from overmind.control import blueprints
    from overmind.control.host import ready

    blueprint = blueprints.load(str(write_part(name, text, gates, base)))
    ready(auto_boot=True)
    return blueprints.apply(blueprint, prune=prune)


def _apply_part(spread_: Spread, host: str, prune: bool) -> Part:
    from overmind.control.blueprints import summary
    from overmind.control.remote import call
    from overmind.control.remote import host as remote_host

    text = part_text(spread_.path, spread_.name, spread_.hosts.get(host, []))
    gates = spread_.gates.get(host, [])
    try:
        if host == LOCAL:
            applied = apply_part_here(spread_.name, text, gates, spread_.path.parent, prune)
            return Part(host, True, summary(applied), {**applied.plan.to_json(), "id": applied.record.id})
        answer = call(remote_host(host), ["hosts", "apply-part", "--json", *([] if prune else ["--no-prune"])],
                      stdin=envelope(spread_.name, text, gates))
        if answer.code != 0:
            raise answer.error(host)
        data = answer.json()
        return Part(host, True, str(data.get("summary", "")), data)
    except OvermindError as error:
        return Part(host, False, error.message.removeprefix(f"{host}: "))


def _used_file(name: str) -> Path:
    from overmind.store import state_dir

    return state_dir() / PARTS_DIR / f"{name}.hosts.json"


def _retire(name: str, hosts: list[str]) -> list[Part]:
    """Stop the blueprint on hosts it no longer has agents on (as apply prunes removed agents)."""
    from overmind.control.remote import call
    from overmind.control.remote import host as remote_host

    retired = []
    for host in hosts:
        try:
            if host == LOCAL:
                from overmind.control import lifecycle

                lifecycle.stop(lifecycle.targets((name,), False, "stop"), cascade=False)
            else:
                call(remote_host(host), ["stop", name])
            retired.append(Part(host, True, f"stopped its agents of {name} (none left there)"))
        except OvermindError as error:
            retired.append(Part(host, False, error.message))
    return retired


def apply_everywhere(path: str, on: str | None, prune: bool) -> tuple[Spread, list[Part], list[str]]:
    """Apply every host's part at once, then start the relays of the edges between hosts."""
    from overmind.control.hosts import parallel

    found = spread(path, on)
    relays = [start_relay(edge) for edge in found.edges]  # first: a kill after the parts loses no edge
    hosts = sorted(found.hosts, key=lambda h: (h != LOCAL, h))
    parts = parallel(hosts, lambda host: _apply_part(found, host, prune))
    used = _used_file(found.name)
    before = json.loads(used.read_text()) if used.exists() else []
    if prune:
        parts += _retire(found.name, [h for h in before if h not in found.hosts])
    used.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    used.write_text(json.dumps(sorted(found.hosts if prune else set(found.hosts) | set(before))))
    return found, parts, relays


def follow_everywhere(found: Spread, echo: Echo) -> bool:
    """Each host's progress lines (`h1:   build  running`) until every part has settled; whether
    all succeeded."""
    import threading

    from overmind.control.hosts import parallel
    from overmind.control.remote_streams import text_lines
    from overmind.remote.text import printable_line

    lock = threading.Lock()

    def say(host: str, line: str) -> None:
        with lock:
            echo(f"{host}: {printable_line(line)}")

    def follow(host: str) -> bool:
        if host == LOCAL:
            return follow_here(found.name, lambda line: say(host, line))
        from overmind.control.remote import host as remote_host

        code = text_lines(remote_host(host), ["hosts", "apply-part", "--follow", found.name],
                          lambda line: say(host, line))
        return code == 0

    return all(parallel(sorted(found.hosts), follow))
