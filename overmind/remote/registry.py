"""The hosts registry: which machines overmind drives, in one small JSON file in the state
directory (`hosts.json`), read only by what acts on other hosts (never on `run`/`ps`'s path).

A host is a name (`build1`), an `ssh://[user@]host[:port]` address, an optional identity file,
and where its `overmind` is (found by `hosts add`: on the plain PATH of a non-interactive ssh, or
in ~/.local/bin where pipx puts it). The local machine is the host `local`, never stored.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from overmind.errors import NotFound, OvermindError

LOCAL = "local"
HOST_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
# user@host:port; neither part may start with '-' (it would be read as an ssh option)
_NETLOC = re.compile(r"(?:(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]{0,31})@)?"
                     r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9._-]{0,252})(?::(?P<port>[0-9]{1,5}))?")


def registry_path() -> Path:
    from overmind.paths import state_dir

    return state_dir() / "hosts.json"


class Address(NamedTuple):
    """Where ssh connects: `user@host:port`, each part checked, so none can pass for an ssh option."""

    host: str
    user: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"ssh://{user}{self.host}{port}"

    @property
    def destination(self) -> str:
        """What ssh's command line names (the brackets of an IPv6 address are the URL's only)."""
        return self.host.strip("[]")


def parse_address(text: str) -> Address:
    """`ssh://[user@]host[:port]`, or the same without `ssh://` (an alias of your ssh config too)."""
    netloc = text.removeprefix("ssh://").removesuffix("/")
    match = _NETLOC.fullmatch(netloc) if "://" not in netloc else None
    if match is None or (match["port"] and not 0 < int(match["port"]) < 65536):
        raise OvermindError(f"invalid host address {text!r}", hint="use ssh://[user@]host[:port]")
    return Address(match["host"], match["user"], int(match["port"]) if match["port"] else None)


class Host(NamedTuple):
    name: str
    address: str  # ssh://[user@]host[:port], as parse_address accepts
    identity: str | None = None  # an ssh identity file (-i), else ssh's own choice (config, agent)
    overmind: str = "overmind"  # the command that runs overmind there
    share_memory: bool = False  # its agents use the team's memory server (OVERMIND_AKASHA_URL)
    memory_url: str | None = None  # that server, as the host's agents reach it
    extra: dict[str, Any] | None = None  # keys a newer overmind wrote: kept as they are

    @property
    def target(self) -> Address:
        return parse_address(self.address)

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        extra = data.pop("extra") or {}
        return {**extra, **data}


def check_name(name: str) -> str:
    if name == LOCAL:
        raise OvermindError("'local' is this machine's own name", hint="choose another name for the host")
    if not HOST_NAME.fullmatch(name):
        raise OvermindError(f"invalid host name {name!r}",
                            hint="use 1-32 lowercase letters, digits or '-', starting with a letter or digit")
    return name


_FIELDS = {"name", "address", "identity", "overmind", "share_memory", "memory_url"}


def load() -> dict[str, Host]:
    """Every registered host by name (none without a registry file)."""
    try:
        data = json.loads(registry_path().read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise OvermindError(f"the hosts registry {registry_path()} cannot be read: {error}",
                            hint="fix or remove the file, then add the hosts again") from None
    hosts = {}
    for entry in data.get("hosts", []) if isinstance(data, dict) else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and isinstance(entry.get("address"), str):
            known = {key: value for key, value in entry.items() if key in _FIELDS}
            hosts[entry["name"]] = Host(**known, extra={k: v for k, v in entry.items() if k not in _FIELDS})
    return hosts


def get(name: str) -> Host:
    hosts = load()
    if name not in hosts:
        known = ", ".join(sorted(hosts)) or "none yet"
        raise NotFound(f"no host named '{name}' (known: {known})",
                       hint="add it with: overmind hosts add NAME ssh://[user@]host[:port]")
    return hosts[name]


def save(hosts: dict[str, Host]) -> None:
    """Written whole to a temporary file, then renamed over the old one: never half a registry."""
    import tempfile

    path = registry_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {"version": 1, "hosts": [host.to_json() for host in sorted(hosts.values(), key=lambda h: h.name)]}
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".hosts.", suffix=".json")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
