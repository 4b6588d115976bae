"""A repository's environment contract (`.overmind.yml`) once validated: plain dataclasses.

`contract` validates the file with pydantic and builds these; on the hot path they come back
from a cache (`cache`) without importing pydantic or a YAML parser.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from overmind.errors import OvermindError

CONTRACT_FILE = ".overmind.yml"
DEFAULT_PORT_RANGE = (3100, 3999)  # the original overmind's example range
DEFAULT_READY_TIMEOUT = 60.0
DEFAULT_SETUP_TIMEOUT = 600.0  # installing dependencies takes minutes, not seconds
DEFAULT_TEARDOWN_TIMEOUT = 120.0
DEFAULT_STOP_TIMEOUT = 10.0

ServiceKind = Literal["command", "docker"]


class ContractError(OvermindError):
    """A problem at a place in `.overmind.yml` (`file:line: key: what`): nothing has been created."""

ReadyKind = Literal["tcp", "command", "none"]


def port_variable(name: str) -> str:
    """The variable a service's or named port's host port is injected as: db -> DB_PORT."""
    return name.upper().replace("-", "_") + "_PORT"


@dataclass(frozen=True)
class Ready:
    kind: ReadyKind = "tcp"  # tcp: a connection to the service's host port is accepted
    command: str | None = None  # kind "command": a shell command that exits 0 once ready
    timeout: float = DEFAULT_READY_TIMEOUT


@dataclass(frozen=True)
class Volume:
    """`name:/path` is a Podman volume of the worktree (kept until the worktree is removed);
    `./dir:/path` or `dir/sub:/path` binds a directory of the worktree itself."""

    source: str  # a volume name, or a path relative to the worktree (checked to stay inside it)
    target: str  # absolute path inside the container
    read_only: bool = False
    named: bool = True


@dataclass(frozen=True)
class Service:
    name: str
    kind: ServiceKind
    command: str | None = None  # a command service's shell line, run in the worktree
    image: str | None = None
    args: tuple[str, ...] = ()  # a docker service's command instead of its image's
    port: int | None = None  # the port it listens on (inside its container for docker)
    env: dict[str, str] = field(default_factory=dict)  # templates: ${DB_PORT}, ...
    ready: Ready = field(default_factory=Ready)
    volumes: tuple[Volume, ...] = ()
    restart: str = "on-failure"
    stop_timeout: float = DEFAULT_STOP_TIMEOUT
    network: str = "bridge"  # a container's; "host-loopback": the host's 127.0.0.1 as 10.0.2.2
    line: int = 0  # where the service is declared, for errors found later (an unknown image)

    @property
    def variable(self) -> str:
        return port_variable(self.name)

    @property
    def has_host_port(self) -> bool:
        """Command services always get one (their $PORT); containers only with a port to publish."""
        return self.kind == "command" or self.port is not None


@dataclass(frozen=True)
class Contract:
    path: str | None = None  # None: the repository has no .overmind.yml
    services: tuple[Service, ...] = ()
    ports: tuple[str, ...] = ()  # extra named ports, <NAME>_PORT, for what the agent starts itself
    port_range: tuple[int, int] = DEFAULT_PORT_RANGE
    copy: tuple[str, ...] = ()
    link: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    setup: tuple[str, ...] = ()
    setup_timeout: float = DEFAULT_SETUP_TIMEOUT
    teardown: tuple[str, ...] = ()
    teardown_timeout: float = DEFAULT_TEARDOWN_TIMEOUT

    @property
    def port_variables(self) -> list[str]:
        """Every variable that gets a leased port: services with a host port, then named ports,
        then PORT itself when no command service lends it its own."""
        names = [s.variable for s in self.services if s.has_host_port] + [port_variable(p) for p in self.ports]
        return names if self.port_owner else [*names, "PORT"]

    @property
    def port_owner(self) -> Service | None:
        """The first command service: its port is also the mission's $PORT."""
        return next((s for s in self.services if s.kind == "command"), None)

    @property
    def environment_paths(self) -> list[str]:
        """Paths overmind puts into a worktree: not the agent's work, so never 'dirty'."""
        volumes = [v.source for s in self.services for v in s.volumes if not v.named]
        return [*self.copy, *self.link, *volumes]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Contract:
        services = tuple(
            Service(**{**s, "ready": Ready(**s["ready"]), "volumes": tuple(Volume(**v) for v in s["volumes"]),
                       "args": tuple(s["args"])})
            for s in data["services"])
        tuples = ("ports", "port_range", "copy", "link", "setup", "teardown")
        return cls(**{**data, "services": services, **{key: tuple(data[key]) for key in tuples}})


def template_variables(contract: Contract) -> set[str]:
    """What `${...}` in the contract's env may name: the ports, PORT, and where the worktree is."""
    return {*contract.port_variables, "PORT", "OVERMIND_WORKTREE", "OVERMIND_WORKTREE_NAME", "OVERMIND_BRANCH"}
