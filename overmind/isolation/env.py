"""The variables a worktree's mission and services see: their leased ports, the contract's env
templated with them, and where the worktree is."""

from __future__ import annotations

import string
from typing import Any

from overmind.isolation.model import Contract, Service
from overmind.store.worktrees import WorktreeRecord


def ports(contract: Contract, leases: dict[str, int]) -> dict[str, str]:
    """PORT and <NAME>_PORT; PORT is the first command service's own port when there is one."""
    env = {variable: str(leases[variable]) for variable in contract.port_variables if variable in leases}
    owner = contract.port_owner
    if owner is not None and owner.variable in env:
        env["PORT"] = env[owner.variable]
    return env


def described(contract: Contract, leases: dict[str, int]) -> dict[str, Any]:
    """The ports and services a mission got, as its record keeps them (`ps` and `info` show this
    without reading `.overmind.yml` again): variable -> port, and each service's name, kind,
    image and host port."""
    return {"ports": {variable: int(port) for variable, port in ports(contract, leases).items()},
            "services": [{"name": s.name, "kind": s.kind, "image": s.image,
                          "port": leases.get(s.variable) if s.has_host_port else None} for s in contract.services]}


def _where(record: WorktreeRecord) -> dict[str, str]:
    return {"OVERMIND_WORKTREE": record.path, "OVERMIND_WORKTREE_NAME": record.name, "OVERMIND_BRANCH": record.branch}


def expand(templates: dict[str, str], variables: dict[str, str]) -> dict[str, str]:
    """`${DB_PORT}` and `$DB_PORT` replaced (`$$` is a `$`); names were checked when the file was read."""
    return {key: string.Template(value).safe_substitute(variables) for key, value in templates.items()}


def mission(contract: Contract, leases: dict[str, int], record: WorktreeRecord) -> dict[str, str]:
    """What the agent (and every command service) gets."""
    variables = {**ports(contract, leases), **_where(record)}
    return {**variables, **expand(contract.env, variables)}


def arguments(contract: Contract, service: Service, leases: dict[str, int], record: WorktreeRecord) -> list[str]:
    """A container's command words, templated like its env (there is no shell to do it)."""
    shared = mission(contract, leases, record)
    return [string.Template(word).safe_substitute(shared) for word in service.args]


def service(contract: Contract, service: Service, leases: dict[str, int], record: WorktreeRecord) -> dict[str, str]:
    """A command service: the mission's variables, its own env, and its own port as PORT.
    A container: only its own env (its ports are the ones it declares, inside the container)."""
    shared = mission(contract, leases, record)
    if service.kind == "command":
        shared["PORT"] = str(leases.get(service.variable, ""))
        return {**shared, **expand(service.env, shared)}
    return expand(service.env, shared)
