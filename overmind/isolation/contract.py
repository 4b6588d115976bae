"""`.overmind.yml`, the repository's environment contract: read, validated, and turned into a
`Contract`; every problem is one line, `file:line: key: what`.

The original overmind's format is accepted as it is (`services.<name>.command|docker`, `port`,
`isolation.strategy|port_range`) and extended: `ports`, `copy`, `link`, `env`, `setup`,
`teardown`, and per service `env`, `ready`, `volumes`, `restart`, `stop_timeout`. Unknown keys
are refused. Only `cache` imports this module: pydantic costs more to import than a whole run.
"""

from __future__ import annotations

import json
import re
import shlex
import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from overmind import mistakes
from overmind.errors import OvermindError
from overmind.isolation import yamlsource
from overmind.isolation.model import (
    DEFAULT_PORT_RANGE,
    Contract,
    ContractError,
    Ready,
    Service,
    Volume,
    port_variable,
    template_variables,
)
from overmind.isolation.paths import check_relative
from overmind.quantities import parse_duration

SERVICE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,30}")
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PORT_LIMITS = (1024, 65535)


def _seconds(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return value
    try:
        return parse_duration(str(value), "duration")
    except OvermindError:
        raise ValueError(f"invalid duration {json.dumps(value)} (use e.g. 30s, 5min or 2h)") from None


def _text(value: Any) -> Any:
    """Environment values may be written as YAML numbers or booleans; they are strings to a process."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, (int, float)) else value


def _lines(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
EnvValue = Annotated[str, BeforeValidator(_text)]
Commands = Annotated[list[str], BeforeValidator(_lines)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ReadyTable(_Strict):
    command: str | None = None
    timeout: Seconds = 60.0


class ServiceTable(_Strict):
    command: str | list[str] | None = None
    docker: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    env: dict[str, EnvValue] = Field(default_factory=dict)
    ready: bool | str | ReadyTable | None = None
    volumes: list[str] = Field(default_factory=list)
    restart: Literal["no", "on-failure", "always"] = "on-failure"
    stop_timeout: Seconds = 10.0
    network: Literal["bridge", "host-loopback"] = "bridge"


class IsolationTable(_Strict):
    strategy: Literal["ports"] = "ports"
    port_range: str = f"{DEFAULT_PORT_RANGE[0]}-{DEFAULT_PORT_RANGE[1]}"

    @field_validator("port_range")
    @classmethod
    def _range(cls, value: str) -> str:
        _parse_range(value)
        return value


class ContractFile(_Strict):
    services: dict[str, ServiceTable] = Field(default_factory=dict)
    isolation: IsolationTable = Field(default_factory=IsolationTable)
    ports: list[str] = Field(default_factory=list)
    copy_: list[str] = Field(default_factory=list, alias="copy")
    link: list[str] = Field(default_factory=list)
    env: dict[str, EnvValue] = Field(default_factory=dict)
    setup: Commands = Field(default_factory=list)
    setup_timeout: Seconds = 600.0
    teardown: Commands = Field(default_factory=list)
    teardown_timeout: Seconds = 120.0


def _parse_range(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text)
    if not match:
        raise ValueError(f"invalid port range {json.dumps(text)} (use e.g. 3100-3999)")
    low, high = int(match[1]), int(match[2])
    if low > high:
        raise ValueError(f"port range {text} is empty")
    if low < _PORT_LIMITS[0] or high > _PORT_LIMITS[1]:
        raise ValueError(f"port range {text} is outside {_PORT_LIMITS[0]}-{_PORT_LIMITS[1]}")
    return low, high


# Keys that take one of several shapes: one message instead of one per shape.
_UNIONS = {
    "ready": "must be false, a command, or a mapping (command:, timeout:)",
    "command": "must be a string (a docker service also takes a list of words)",
    "setup": "must be a command or a list of commands",
    "teardown": "must be a command or a list of commands",
}


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(key) for key in path if isinstance(key, str))


class _Reader:
    def __init__(self, path: str, text: str) -> None:
        self.path = path
        try:
            self.data, self.lines = yamlsource.load(text)
        except yamlsource.YamlError as error:
            raise ContractError(f"{path}:{error.line}: {error.message}") from None

    def fail(self, where: tuple[str | int, ...], what: str) -> ContractError:
        key = _dotted(where)
        line = yamlsource.line_of(self.lines, where)
        return ContractError(f"{self.path}:{line}: {key}: {what}" if key else f"{self.path}:{line}: {what}")

    def contract(self) -> Contract:
        if self.data is None:
            self.data = {}
        if not isinstance(self.data, dict):
            raise self.fail((), "the file must be a mapping (services:, isolation:, ...)")
        try:
            parsed = ContractFile.model_validate(self.data)
        except ValidationError as error:
            errors = self._within_tables(error.errors())
            first = min(errors, key=lambda e: yamlsource.line_of(self.lines, self._loc(e["loc"])))
            where = self._loc(first["loc"])
            alike = [e for e in errors if self._loc(e["loc"]) == where]
            union = (bool(where) and isinstance(where[-1], str) and where[-1] in _UNIONS
                     and (len(alike) > 1 or str(first["type"]).endswith("_type")))
            said = mistakes.pydantic_message(first, "yaml", ContractFile)
            raise self.fail(where, _UNIONS[str(where[-1])] if union else said) from None
        contract = Contract(
            path=self.path,
            services=tuple(self.service(name, table) for name, table in parsed.services.items()),
            ports=tuple(parsed.ports),
            port_range=_parse_range(parsed.isolation.port_range),
            copy=tuple(self.relative("copy", parsed.copy_, globs=True)),
            link=tuple(self.relative("link", parsed.link, globs=False)),
            env=self.environment(("env",), parsed.env),
            setup=tuple(parsed.setup), setup_timeout=parsed.setup_timeout,
            teardown=tuple(parsed.teardown), teardown_timeout=parsed.teardown_timeout,
        )
        self.check_port_names(contract)
        self.check_templates(contract)
        return contract

    def _within_tables(self, errors: list[Any]) -> list[Any]:
        """A key that takes a value or a mapping (`ready`), given a mapping: what is wrong inside
        it, not that it is not a string either."""
        deeper = {self._loc(e["loc"])[:-1] for e in errors if e["type"] == "extra_forbidden"}
        kept = [e for e in errors if not (str(e["type"]).endswith("_type") and self._loc(e["loc"]) in deeper)]
        return kept or errors

    def _loc(self, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
        """pydantic's error location as a path in the document: union members and aliases,
        which the document does not have, are left out."""
        path: tuple[str | int, ...] = ()
        for part in loc:
            candidate = (*path, "copy" if part == "copy_" else part)
            if candidate in self.lines:
                path = candidate
        return path

    def service(self, name: str, table: ServiceTable) -> Service:
        where: tuple[str | int, ...] = ("services", name)
        if not SERVICE_NAME.fullmatch(name):
            raise self.fail(where, "a service name is lower-case letters, digits, '-' or '_' (up to 31)")
        if table.docker is None and table.command is None:
            raise self.fail(where, "give a command (a process run in the worktree) or docker (an image)")
        if table.docker is not None:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*", table.docker):
                raise self.fail((*where, "docker"), f"invalid image name {json.dumps(table.docker)}")
        elif isinstance(table.command, list):
            raise self.fail((*where, "command"), "a command service runs one shell line: give a string")
        elif table.volumes or table.network != "bridge":
            key = "volumes" if table.volumes else "network"
            raise self.fail((*where, key), f"{key} is for docker services")
        docker = table.docker is not None
        return Service(
            name=name, kind="docker" if docker else "command",
            command=table.command if isinstance(table.command, str) and not docker else None,
            image=table.docker, args=self.words((*where, "command"), table.command) if docker else (),
            port=table.port, env=self.environment((*where, "env"), table.env),
            ready=self.ready(where, table), volumes=tuple(self.volume((*where, "volumes", i), text)
                                                         for i, text in enumerate(table.volumes)),
            restart=table.restart, stop_timeout=table.stop_timeout, network=table.network,
            line=yamlsource.line_of(self.lines, (*where, "docker" if table.docker is not None else "command")),
        )

    def words(self, where: tuple[str | int, ...], command: str | list[str] | None) -> tuple[str, ...]:
        """A container's command: a list of words as given, or a string split as a shell would."""
        if command is None or isinstance(command, list):
            return tuple(command or ())
        try:
            return tuple(shlex.split(command))
        except ValueError as error:
            raise self.fail(where, f"cannot split the command into words: {error}") from None

    def ready(self, where: tuple[str | int, ...], table: ServiceTable) -> Ready:
        value = table.ready
        has_port = table.docker is None or table.port is not None
        if value is False:
            return Ready(kind="none")
        if isinstance(value, str):
            return Ready(kind="command", command=value)
        timeout = value.timeout if isinstance(value, ReadyTable) else Ready().timeout
        if isinstance(value, ReadyTable) and value.command is not None:
            return Ready(kind="command", command=value.command, timeout=timeout)
        if not has_port:
            if value is not None:
                raise self.fail((*where, "ready"), "a TCP readiness check needs the service's port")
            return Ready(kind="none")
        return Ready(kind="tcp", timeout=timeout)

    def volume(self, where: tuple[str | int, ...], text: str) -> Volume:
        parts = text.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            raise self.fail(where, f"invalid volume {json.dumps(text)} (use NAME:/path, ./dir:/path or add :ro)")
        source, target = parts[0], parts[1]
        if not target.startswith("/") or "\0" in target:
            raise self.fail(where, f"the container path of {json.dumps(text)} must be absolute")
        named = "/" not in source and not source.startswith(".")
        if named and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", source):
            raise self.fail(where, f"invalid volume name {json.dumps(source)}")
        if not named:
            self.check_path(where, source, globs=False)
        return Volume(source=source.removeprefix("./") if not named else source, target=target,
                      read_only=len(parts) == 3 and parts[2] == "ro", named=named)

    def relative(self, key: str, paths: list[str], globs: bool) -> list[str]:
        for index, path in enumerate(paths):
            self.check_path((key, index), path, globs)
        return [path.removeprefix("./") for path in paths]

    def check_path(self, where: tuple[str | int, ...], path: str, globs: bool) -> None:
        problem = check_relative(path, globs)
        if problem:
            raise self.fail(where, problem)

    def environment(self, where: tuple[str | int, ...], env: dict[str, str]) -> dict[str, str]:
        for key, value in env.items():
            if not _ENV_KEY.fullmatch(key) or key.startswith("OVERMIND_"):
                raise self.fail((*where, key), f"invalid variable name {json.dumps(key)}")
            if "\0" in value:
                raise self.fail((*where, key), "the value contains a NUL byte")
        return env

    def check_port_names(self, contract: Contract) -> None:
        seen: dict[str, tuple[str | int, ...]] = {}
        named: list[tuple[str, tuple[str | int, ...]]] = [
            (s.variable, ("services", s.name)) for s in contract.services if s.has_host_port]
        named += [(port_variable(p), ("ports", i)) for i, p in enumerate(contract.ports)]
        for index, name in enumerate(contract.ports):
            if not SERVICE_NAME.fullmatch(name):
                raise self.fail(("ports", index), f"invalid port name {json.dumps(name)}")
        for variable, where in named:
            if variable in seen:
                raise self.fail(where, f"duplicate port name: {variable} is already given to "
                                       f"{_dotted(seen[variable])}")
            seen[variable] = where

    def check_templates(self, contract: Contract) -> None:
        known = template_variables(contract)
        places: list[tuple[tuple[str | int, ...], str, set[str]]] = [
            (("env", key), value, known) for key, value in contract.env.items()]
        for service in contract.services:
            service_known = known | set(contract.env)
            places += [(("services", service.name, "env", key), value, service_known)
                       for key, value in service.env.items()]
            places += [(("services", service.name, "command"), word, service_known) for word in service.args]
        for where, value, allowed in places:
            template = string.Template(value)
            if not template.is_valid():
                raise self.fail(where, "invalid ${...} (write $$ for a literal $)")
            unknown = sorted(set(template.get_identifiers()) - allowed)
            if unknown:
                raise self.fail(where, f"unknown variable ${{{unknown[0]}}} (known: {', '.join(sorted(allowed))})")


def read(path: str, text: str) -> Contract:
    """The contract in `text` (the content of `path`), or a ContractError naming file:line."""
    return _Reader(path, text).contract()
