"""The hosts overmind drives: add, remove, list them with their facts, check one and say what
is wrong with the exact fix. The local machine is the host `local`.

Each host answers for itself (its own `overmind hosts here`, over ssh); hosts are asked in
parallel and one host's silence never holds another's answer.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar

from overmind import __version__
from overmind.control.doctor import Check
from overmind.control.remote import Unreachable, call_json
from overmind.errors import OvermindError
from overmind.remote import registry, ssh
from overmind.remote.registry import LOCAL, Host
from overmind.remote.text import printable_line

FACTS_TIMEOUT = 8.0
T = TypeVar("T")

# Finds the host's overmind without it: on the plain PATH a non-interactive ssh gets, or where
# pipx puts it. A fixed text: nothing of the caller's goes into it.
_FIND_OVERMIND = ("sh -c 'command -v overmind 2>/dev/null || "
                  "{ test -x \"$HOME/.local/bin/overmind\" && echo \"$HOME/.local/bin/overmind\"; }'")


def here() -> dict[str, Any]:
    """This machine's facts, as `hosts ls` shows a host: versions, missions by state, load, memory."""
    import socket

    from overmind.control.doctor import linger
    from overmind.control.host import facts

    found = facts()
    reachable = bool(found["user_manager_reachable"])
    missions: dict[str, int] = {}
    systemd = "unknown"
    if reachable:
        from overmind.control.missions import counts
        from overmind.systemd import manager

        missions, systemd = counts(), manager.version()
    check = linger()
    return {"hostname": socket.gethostname(), "overmind_version": __version__, "systemd_version": systemd,
            "user_manager": reachable, "linger": check.state, "linger_hint": check.hint, "missions": missions,
            "load": list(os.getloadavg()), **_memory()}


def _memory() -> dict[str, int | None]:
    found: dict[str, int | None] = {"mem_total_bytes": None, "mem_available_bytes": None}
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                key, _, value = line.partition(":")
                if key in ("MemTotal", "MemAvailable"):
                    found[f"mem_{key[3:].lower()}_bytes"] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return found


class HostFacts(NamedTuple):
    """One line of `hosts ls`: a host, and what it said of itself (or why it could not)."""

    name: str
    address: str
    reachable: bool
    error: str | None
    facts: dict[str, Any]
    rtt_ms: float | None

    def to_json(self) -> dict[str, Any]:
        keys = ("hostname", "overmind_version", "systemd_version", "user_manager", "linger", "missions", "load",
                "mem_total_bytes", "mem_available_bytes")
        return {"name": self.name, "address": self.address, "reachable": self.reachable, "error": self.error,
                **{key: self.facts.get(key) for key in keys},
                "rtt_ms": None if self.rtt_ms is None else round(self.rtt_ms, 1)}


def parallel(names: Sequence[str], ask: Callable[[str], T]) -> list[T]:
    """`ask` for every host at once, answers in the order of `names`."""
    if len(names) <= 1:
        return [ask(name) for name in names]
    with ThreadPoolExecutor(max_workers=min(len(names), 16)) as pool:
        return list(pool.map(ask, names))


def names(spec: str | None = None) -> list[str]:
    """`all` (or nothing): local and every registered host; `a,b`: those, checked."""
    known = registry.load()
    if spec in (None, "", "all"):
        return [LOCAL, *sorted(known)]
    chosen = [part.strip() for part in spec.split(",") if part.strip()]
    for name in chosen:
        if name != LOCAL and name not in known:
            registry.get(name)  # says which hosts there are
    return list(dict.fromkeys(chosen))


def facts(name: str) -> HostFacts:
    if name == LOCAL:
        return HostFacts(LOCAL, "-", True, None, here(), None)
    host = registry.get(name)
    try:
        found = call_json(host, ["hosts", "here"], timeout=FACTS_TIMEOUT)
        started = time.perf_counter()
        ssh.run(host, "true", FACTS_TIMEOUT)  # one round trip over the open connection
        rtt = (time.perf_counter() - started) * 1000
    except Unreachable as error:
        return HostFacts(name, host.address, False, f"unreachable (ssh: {printable_line(error.why)})", {}, None)
    except OvermindError as error:
        return HostFacts(name, host.address, True, printable_line(error.message), {}, None)
    return HostFacts(name, host.address, True, None, found if isinstance(found, dict) else {}, rtt)


def listing(spec: str | None = None) -> list[HostFacts]:
    return parallel(names(spec), facts)


class Added(NamedTuple):
    host: Host
    replaced: bool
    problem: str | None  # why the host cannot be used yet (see `hosts check`)

    def to_json(self) -> dict[str, Any]:
        return {**self.host.to_json(), "replaced": self.replaced, "problem": self.problem}


def add(name: str, address: str, identity: str | None = None, overmind: str | None = None,
        share_memory: bool = False, memory_port: int | None = None) -> Added:
    """Register (or update) a host; find its overmind when not told where it is; with
    `share_memory`, point its agents at the team's memory."""
    registry.check_name(name)
    target = registry.parse_address(address)
    if identity and not os.path.exists(os.path.expanduser(identity)):
        raise OvermindError(f"no identity file {identity}", hint="give the private key ssh should use")
    host = Host(name, str(target), identity, overmind or "overmind", share_memory)
    problem = None
    try:
        if overmind is None:
            found = call_shell(host, _FIND_OVERMIND).strip()
            if found:
                host = host._replace(overmind=found.splitlines()[-1])
            else:
                problem = "overmind is not installed there"
    except Unreachable as error:
        problem = f"unreachable (ssh: {error.why})"
    with _registry_lock():
        hosts = registry.load()
        replaced = name in hosts
        if replaced and hosts[name].share_memory and not share_memory and problem is None:
            from overmind.control.shared_memory import unshare

            unshare(hosts[name])
        hosts[name] = host
        registry.save(hosts)
    if share_memory:
        if problem is not None:
            raise OvermindError(f"{name}: cannot share the memory: {problem}", hint=f"overmind hosts check {name}")
        from overmind.control.shared_memory import share

        host = host._replace(memory_url=share(host, memory_port))
        with _registry_lock():
            hosts = registry.load()
            hosts[name] = host
            registry.save(hosts)
    return Added(host, replaced, problem)


def remove(name: str) -> Host:
    host = registry.get(name)
    if host.share_memory:
        from overmind.control.shared_memory import unshare

        unshare(host)
    with _registry_lock():
        hosts = registry.load()
        hosts.pop(name, None)
        registry.save(hosts)
    try:
        ssh.close(host)
    except (OSError, OvermindError):
        pass
    return host


def _registry_lock() -> Any:
    from overmind.locks import exclusive

    return exclusive("hosts", timeout=10)


def call_shell(host: Host, fixed: str, timeout: float = FACTS_TIMEOUT) -> str:
    """A fixed shell command of ours on the host (never with anything a person typed in it)."""
    proc = ssh.run(host, fixed, timeout)
    stderr = proc.stderr.decode(errors="replace")
    if ssh.transport_failed(proc.returncode, stderr):
        raise Unreachable(host.name, ssh.failure(stderr))
    return proc.stdout.decode(errors="replace")


# -- check ----------------------------------------------------------------------------------
def _ssh_line(host: Host, *extra: str) -> str:
    """The ssh command a person runs by hand for this host."""
    target = host.target
    words = ["ssh", *extra]
    if host.identity:
        words += ["-i", host.identity]
    if target.port:
        words += ["-p", str(target.port)]
    words.append(f"{target.user}@{target.destination}" if target.user else target.destination)
    return shlex.join(words)


def _connection_check(host: Host) -> Check:
    started = time.perf_counter()
    proc = ssh.run(host, "true", FACTS_TIMEOUT, fresh=True)  # as a new connection would: key, host key
    if proc.returncode == 0:
        return Check("ssh", "ok", f"connected to {host.address} ({(time.perf_counter() - started) * 1000:.0f} ms)")
    why = ssh.failure(proc.stderr.decode(errors="replace"))
    detail, hint = _ssh_fix(host, why)
    return Check("ssh", "fail", printable_line(detail), hint)


def _ssh_fix(host: Host, why: str) -> tuple[str, str]:
    """What an ssh failure means, and the command that fixes it."""
    target = host.target
    accept = f"{_ssh_line(host, '-o', 'StrictHostKeyChecking=accept-new')} true"
    if why == "host key unknown":
        return "its host key is not in your known_hosts yet", f"compare the key's fingerprint, then: {accept}"
    if why == "host key changed":
        known = f"[{target.destination}]:{target.port}" if target.port else target.destination
        return ("its host key is not the one your known_hosts has (a reinstall, or someone in between)",
                f"if you expected it: ssh-keygen -R {shlex.quote(known)}; then: {accept}")
    if why == "permission denied":
        words = ["ssh-copy-id", *(["-i", host.identity] if host.identity else []),
                 *(["-p", str(target.port)] if target.port else []),
                 f"{target.user}@{target.destination}" if target.user else target.destination]
        return "your key is not accepted there", f"{shlex.join(words)} (or load your key into the agent: ssh-add)"
    if why == "unknown host name":
        return "the host name does not resolve", "check the address, or define the name in ~/.ssh/config"
    return f"ssh: {why}", f"is sshd running there, and the port open? try: {_ssh_line(host)}"


def check(name: str) -> list[Check]:
    """What stands between this machine and missions on host `name`, each with its fix."""
    host = registry.get(name)
    found = [_connection_check(host)]
    if found[0].state != "ok":
        return found + [Check(step, "skipped", "needs ssh first") for step in ("overmind", "user manager")]
    version = call_shell(host, f"{shlex.quote(host.overmind)} --version 2>/dev/null || echo missing").strip()
    install = ("install it there: sudo apt install ./overmind_VERSION_all.deb (make deb), or "
               "pipx install overmind-agents; then: overmind hosts add " + name + " " + host.address)
    if not version.startswith("overmind, version "):
        where = call_shell(host, _FIND_OVERMIND).strip()
        if where and where != host.overmind:
            return found + [Check("overmind", "fail", f"not at {host.overmind}, but at {printable_line(where)}",
                                  f"overmind hosts add {name} {host.address} --overmind {shlex.quote(where)}")]
        return found + [Check("overmind", "fail", f"not installed ({host.overmind} not found)", install),
                        Check("user manager", "skipped", "needs overmind first")]
    theirs = version.removeprefix("overmind, version ").strip()
    if _older(theirs, __version__):
        found.append(Check("overmind", "fail", f"{printable_line(theirs)} there, {__version__} here",
                           "upgrade it there: pipx upgrade overmind-agents, or install the newer .deb"))
    elif theirs != __version__:
        found.append(Check("overmind", "warn", f"{printable_line(theirs)} there, {__version__} here (newer there)",
                           "upgrade overmind here"))
    else:
        found.append(Check("overmind", "ok", f"{theirs} at {printable_line(host.overmind)}"))
    try:
        facts_there = call_json(host, ["hosts", "here"], timeout=FACTS_TIMEOUT)
    except OvermindError as error:
        return found + [Check("user manager", "fail", printable_line(error.message), error.hint)]
    setup = f"{_ssh_line(host, '-t')} {shlex.quote(host.overmind)} setup"
    if not facts_there.get("user_manager"):
        found.append(Check("user manager", "fail", "no systemd user manager answers there", f"run: {setup}"))
    elif facts_there.get("linger") not in ("ok", None):
        found.append(Check("user manager", "warn", "it stops when your last session there ends (no linger)",
                           f"run: {setup}"))
    else:
        found.append(Check("user manager", "ok", f"systemd {printable_line(str(facts_there.get('systemd_version')))}"))
    return found


def _older(theirs: str, ours: str) -> bool:
    def number(version: str) -> tuple[int, ...]:
        return tuple(int(part) if part.isdigit() else 0 for part in version.split("+")[0].split("."))

    return number(theirs) < number(ours)
