"""Preparing a mission's isolated environment before its unit starts: the worktree, its ports,
its copied and linked files, and its service units, in the order they depend on each other:

    containers -> setup (once per worktree) -> command services -> the mission

Every unit is created with `--no-block`; the mission's own unit, ordered after all of them,
is then created blocking, so `run` returns once the services are ready, or says why not.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from overmind.errors import OvermindError
from overmind.isolation import cache, env, git, naming, ports, service_units, worktrees
from overmind.isolation.environment import busy, pending
from overmind.isolation.images import missing_image
from overmind.isolation.model import Contract, Service
from overmind.mission.spec import MissionSpec
from overmind.store import Store
from overmind.store.worktrees import WorktreeRecord, WorktreeStore
from overmind.systemd import manager

_RUNNING = ("active", "activating", "reloading")


@dataclass
class Prepared:
    """What the mission's unit needs from its environment, and what to undo if it cannot start."""

    spec: MissionSpec  # once prepared: working directory in the worktree, environment with the ports
    worktree: WorktreeRecord
    contract: Contract
    leases: dict[str, int]
    services: list[str] = field(default_factory=list)  # the worktree's service units
    setup: str | None = None  # the setup unit, while the worktree's setup has not succeeded yet
    created: list[str] = field(default_factory=list)  # units this run created
    hold: str | None = None  # the unit keeping the services needed until the mission's unit exists

    @property
    def recorded(self) -> dict[str, Any]:
        """What the mission's record keeps of its environment, so that `ps` and `info` show it
        without reading `.overmind.yml` again: the ports it was given and its services."""
        return env.described(self.contract, self.leases)

    def release(self) -> None:
        """The mission's start job is done: from now on the mission needs its services itself."""
        if self.hold:
            manager.systemctl("stop", "--no-block", self.hold, check=False)

    @property
    def properties(self) -> dict[str, str]:
        """The mission unit's dependencies: bound to its services, after its setup."""
        props: dict[str, str] = {}
        if self.services:
            props["BindsTo"] = " ".join(self.services)
        if self.setup:
            props["Requires"] = self.setup
        after = [*self.services, *([self.setup] if self.setup else [])]
        if after:
            props["After"] = " ".join(after)
        return props

    def merged_into(self, properties: dict[str, str]) -> dict[str, str]:
        """`properties` (a blueprint agent's After=, Requires=, ...) with the environment's added."""
        merged = dict(properties)
        for key, value in self.properties.items():
            merged[key] = f"{merged[key]} {value}" if merged.get(key) else value
        return merged

    @property
    def blocking(self) -> bool:
        """Start the mission's unit waiting for its start job: there is something to wait for."""
        return bool(self.services or self.setup)


def prepare(spec: MissionSpec, name: str, store: Store) -> Prepared:
    checkout = git.checkout_of(spec.cwd)
    contract = cache.contract_of(checkout.repo)
    worktree_name = spec.isolation.worktree or name
    unit_names = [naming.service_unit(worktree_name, s.name) for s in contract.services]
    setup_name = naming.setup_unit(worktree_name)
    records = WorktreeStore(store)
    containers = [s for s in contract.services if s.kind == "docker"]
    podman = service_units.podman() if containers else None
    if podman is not None:
        problem = missing_image(contract, containers, podman)
        if problem:
            raise problem
    with git.worktree_lock(checkout.repo):
        record, fresh = worktrees.claim(checkout, worktree_name, spec.isolation.base, records)
        # A worktree still to be made has no units yet: nothing to ask systemd (a stale one is
        # found when its unit is created: see _launch).
        ask = not fresh and (unit_names or contract.setup)
        states = _states([*unit_names, setup_name]) if ask else {}
        to_start = [s for s, unit in zip(contract.services, unit_names, strict=True)
                    if states.get(unit) not in _RUNNING]
        try:
            # its ports may well be listened on, by its own services and missions
            in_use = not fresh and any(busy(store, record.name))
            leases = ports.lease(records, record.name, contract.port_variables, contract.port_range, in_use)
        except BaseException:
            if fresh:
                records.remove(record.name)
            raise
        prepared = Prepared(
            spec=spec, worktree=record, contract=contract, leases=leases, services=unit_names,
            setup=setup_name if contract.setup and (not worktrees.setup_done(record.name)
                                                    or states.get(setup_name) in _RUNNING) else None,
        )
        if to_start or (prepared.setup and states.get(setup_name) not in _RUNNING):
            prepared.hold = naming.hold_unit(name)
        starter = _Starter(prepared, checkout.repo, to_start, states, podman)
        # Containers that need nothing from the worktree are started first, in the background:
        # their ~150 ms of starting overlap with git making the worktree.
        early = threading.Thread(target=starter.containers, args=(True,))
        early.start()
        try:
            if fresh:
                worktrees.materialize(checkout, record, records)
        except BaseException:
            early.join()
            undo(prepared)
            raise
    mission_env = env.mission(contract, leases, record)
    try:
        if fresh and (contract.copy or contract.link):
            from overmind.isolation import files  # glob and shutil: only for what it copies and links

            for note in files.populate(checkout.repo, record.path, contract):
                print(f"overmind: {note}", file=sys.stderr)
        early.join()
        if starter.failure is not None:
            raise starter.failure
        starter.containers(early=False)
        starter.setup(mission_env)
        starter.commands()
    except BaseException:
        undo(prepared)
        raise
    # the same place in the worktree as in the checkout it was started from, if the worktree has it
    relative = os.path.relpath(spec.cwd, checkout.toplevel)
    cwd = os.path.normpath(os.path.join(record.path, relative))
    prepared.spec = dataclasses.replace(
        spec, cwd=cwd if not relative.startswith("..") and os.path.isdir(cwd) else record.path,
        env={**mission_env, **spec.env},
        isolation=dataclasses.replace(spec.isolation, mode="worktree", worktree=record.name))
    return prepared


class _Starter:
    """Creates the service units in their order: containers, the setup, command services."""

    def __init__(self, prepared: Prepared, repo: str, pending: list[Service], states: dict[str, str],
                 podman: str | None):
        self.prepared = prepared
        self.repo = repo
        self.pending = pending  # services whose units do not run yet
        self.states = states
        self.podman = podman
        self.failure: BaseException | None = None
        contract = prepared.contract
        self.docker_units = [naming.service_unit(prepared.worktree.name, s.name) for s in contract.services
                             if s.kind == "docker"]

    def containers(self, early: bool) -> None:
        """Early: those without a folder of the worktree mounted (it may not exist yet); run in a
        thread, so a failure is kept for the caller."""
        prepared, record = self.prepared, self.prepared.worktree
        contract, leases = prepared.contract, prepared.leases
        chosen = [s for s in self.pending if s.kind == "docker" and early == all(v.named for v in s.volumes)]
        # The hold comes first, beside the first containers (which take 100 ms and more to get ready).
        holding = [service_units.hold_unit_args(prepared.hold, [*prepared.services, *filter(None, [prepared.setup])])
                   ] if early and prepared.hold else []
        try:
            _launch([*holding, *(service_units.docker_unit_args(
                record.name, self.repo, record.path, service, env.service(contract, service, leases, record),
                env.arguments(contract, service, leases, record), leases.get(service.variable),
                self.podman or "podman", after=[]) for service in chosen)], prepared)
        except BaseException as error:  # handed to the thread that waits for this one
            self.failure = error
            if not early:
                raise

    def setup(self, mission_env: dict[str, str]) -> None:
        prepared = self.prepared
        if prepared.setup and self.states.get(prepared.setup) not in _RUNNING:
            name = prepared.worktree.name
            _launch([service_units.setup_unit_args(name, prepared.worktree.path, prepared.contract, mission_env,
                                                   after=self.docker_units,
                                                   done_marker=worktrees.setup_marker(name))], prepared)

    def commands(self) -> None:
        prepared, record = self.prepared, self.prepared.worktree
        after = [*self.docker_units, *([prepared.setup] if prepared.setup else [])]
        _launch([service_units.command_unit_args(
            record.name, record.path, service, env.service(prepared.contract, service, prepared.leases, record),
            prepared.leases[service.variable], after=after) for service in self.pending if service.kind == "command"],
            prepared)


def _states(units: list[str]) -> dict[str, str]:
    """ActiveState of each unit systemd has loaded, "activating" for one whose start job is still
    queued (failed ones are reset, so they can be made again)."""
    shown = manager.show(units, ["Id", "LoadState", "ActiveState", "Job"]) if units else []
    states = {props.get("Id", ""): "activating" if pending(props) else props.get("ActiveState", "")
              for props in shown if props.get("LoadState") == "loaded"}
    failed = [unit for unit, state in states.items() if state == "failed"]
    if failed:
        manager.systemctl("reset-failed", *failed, check=False)
    return {unit: state for unit, state in states.items() if state != "failed"}


def _launch(wave: list[list[str]], prepared: Prepared) -> None:
    """Create one wave's units at once (they do not depend on each other)."""
    from overmind.isolation.service_files import start_from_files

    wave = start_from_files(wave, prepared) if wave else wave  # a persisted mission's, and those with files
    if not wave:
        return
    problems = []
    for attempt in (1, 2):
        again = []
        for args, proc in zip(wave, manager.systemd_run_all(wave), strict=True):
            unit = args[0].removeprefix("--unit=")
            if proc.returncode == 0:
                prepared.created.append(unit)
            elif attempt == 1 and _already_there(proc.stderr):
                if _states([unit]).get(unit) not in _RUNNING:  # a finished one lingers: it was reset, make it anew
                    again.append(args)
                # else: it runs already (a mission of the same worktree started it): it is shared
            else:
                detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit code {proc.returncode}"
                problems.append(f"{unit}: {detail}")
        wave = again
        if not wave:
            break
    if problems:
        undo(prepared)
        raise OvermindError(f"systemd refused to start a service: {problems[0]}")


def _already_there(stderr: str) -> bool:
    return any(marker in stderr for marker in ("already loaded", "already exists", "already active"))


def undo(prepared: Prepared, mission_unit: str | None = None) -> None:
    """The units a failed start created go (the worktree and its leases stay: they are kept)."""
    units = [*prepared.created, *([mission_unit] if mission_unit else [])]
    if units:
        manager.systemctl("stop", *units, check=False)
        manager.systemctl("reset-failed", *units, check=False)
        _remove_containers(prepared)


def _remove_containers(prepared: Prepared) -> None:
    """A container service that failed its readiness check is restarted by its `Restart=` until the
    stop above: a stop that lands in that new `podman run` can leave a created container behind,
    which no unit removes any more."""
    name = prepared.worktree.name
    containers = [naming.container_name(name, service.name) for service in prepared.contract.services
                  if service.image and naming.service_unit(name, service.name) in prepared.created]
    if containers:
        import subprocess

        subprocess.run([service_units.podman(), "rm", "--force", "--ignore", "--time", "0", *containers],
                       capture_output=True, check=False)
