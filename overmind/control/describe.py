"""One mission or blueprint as `label: value` lines: what `overmind info` prints and the TUI's
describe view shows, defined once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from overmind import format as fmt

if TYPE_CHECKING:
    from overmind.control.missions import View

Fields = list[tuple[str, str]]
AGENT_HEADERS = ("AGENT", "ID", "TYPE", "STATUS", "RESTARTS", "UPTIME", "MEM", "COMMAND")


def fields(view: View) -> Fields:
    """Everything known about a mission (or a blueprint at a glance), in reading order."""
    if view.kind == "blueprint":
        return _blueprint_fields(view)
    data = view.to_json()
    limits = ", ".join(f"{k}={v}" for k, v in data["limits"].items()) or "none"
    found: Fields = [
        ("status", view.status.summary),
        *([("activity", data["status_text"])] if data["status_text"] else []),
        ("id", data["id"]), ("name", data["name"]), ("type", data["type"]), ("provider", data["provider"]),
        ("unit", data["unit"]), ("os pid", str(data["os_pid"] or "-")), ("cgroup", data["cgroup"] or "-"),
        *([("session", data["session_id"])] if data["session_id"] else []),
        ("command", data["command"].replace("\n", "\\n")), ("cwd", data["cwd"]), ("parent", data["parent"] or "-"),
        ("restarts", f"{data['restarts']} (policy: {data['restart_policy']})"),
        ("persist", _persisted(data)), ("limits", limits),
        ("memory", fmt.size(data["memory_bytes"])), ("cpu", fmt.cpu(data["cpu_s"])),
        ("uptime", fmt.duration(data["uptime_s"])), ("created", fmt.stamp(data["created_at"])),
        ("started", fmt.stamp(data["started_at"])), ("finished", fmt.stamp(data["finished_at"])),
    ]
    found[found.index(("limits", limits)) + 1:0] = _permission_fields(view, data)
    if data["worktree"]:  # where it works: its worktree, branch, ports and services
        found[found.index(("cwd", data["cwd"])) + 1:0] = [
            ("worktree", f"{data['worktree']['name']} ({data['worktree']['path']})"),
            ("branch", f"{data['branch']} (from {data['worktree']['base']})"),
            ("ports", " ".join(f"{variable}={port}" for variable, port in data["ports"].items()) or "-"),
            ("services", ", ".join(f"{s['name']} ({s['state']}" + (f", port {s['port']})" if s["port"] else ")")
                                   for s in data["services"]) or "-")]
    return found


def _permission_fields(view: View, data: dict[str, Any]) -> Fields:
    """What becomes of the tool uses its agent must ask for, what waits for a person now, and the
    rules a person added with `approve --always`."""
    if data["on_permission"] is None:
        return []
    from overmind import permission_rules

    policy = data["on_permission"]
    if policy == "ask":
        policy += f" (denied if no one answers within {permission_rules.span(data['permission_timeout_s'])})"
    found = [("on permission", policy)]
    for request in data["permissions"]:
        found.append(("waiting", f"request {request['request']}: {request['label']}, asked"
                                 f" {fmt.relative(request['asked_at'])}"))
    if data["permission_rules"]:
        found.append(("allowed always", ", ".join(data["permission_rules"])))
    return found


def _blueprint_fields(view: View) -> Fields:
    from overmind.blueprint.progress import BlueprintView, progress_word
    from overmind.control.blueprints import scheduled_rituals

    assert isinstance(view, BlueprintView)
    record = view.blueprint
    counts: dict[str, int] = {}
    for member in view.members:
        word = progress_word(member).split(" (")[0]
        counts[word] = counts.get(word, 0) + 1
    summary = ", ".join(f"{n} {word}" for word, n in counts.items())
    return [
        ("status", view.status.summary), ("id", record.id), ("name", record.name),
        ("type", "blueprint"), ("file", record.file or "-"), ("slice", record.slice),
        ("agents", f"{len(view.members)} ({summary})" if view.members else "0"),
        ("rituals", ", ".join(f"{r['name']} ({r['schedule']})" for r in scheduled_rituals(record)) or "-"),
        ("restarts", str(view.restarts)), ("memory", fmt.size(view.memory)), ("cpu", fmt.cpu(view.cpu_seconds)),
        ("uptime", fmt.duration(view.uptime)), ("created", fmt.stamp(record.created_at)),
        ("applied", fmt.stamp(record.applied_at)),
    ]


def agent_rows(view: View) -> list[tuple[str, ...]]:
    """A blueprint's agents, one row each under AGENT_HEADERS (none for a mission)."""
    from overmind.blueprint.progress import BlueprintView, agent_label, progress_word

    if not isinstance(view, BlueprintView):
        return []
    return [(agent_label(m.mission), m.mission.id, m.mission.type, progress_word(m), str(m.restarts),
             fmt.duration(m.uptime), fmt.size(m.memory), m.mission.command) for m in view.members]


def _persisted(data: dict[str, Any]) -> str:
    if not data["persist"]:
        return "no"
    if data["on_boot"] == "skip":
        return "yes, not started at boot (--on-boot skip)"
    return f"yes, started again by {data['boots']} boot{'s' if data['boots'] != 1 else ''}"
