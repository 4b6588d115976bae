"""A worktree's services as transient systemd units (`systemd-run` arguments).

`<prefix>-svc@<worktree>.<service>.service` runs a `command` service in the worktree, or a
`docker` service's container on Podman; `<prefix>-setup@<worktree>.service` runs the setup
commands once. The mission unit binds to them (BindsTo= + After=), so it starts only once they
are ready and a service that stops takes the mission with it; `StopWhenUnneeded=yes` stops them
when no mission needs them any more. Not `PartOf=`: systemd propagates the mission's automatic
restarts through it, which would recreate a database container (and lose its data) every time
a crashed agent comes back.

Containers: `Type=notify` with `--sdnotify=conmon` (ready when the container runs), `--cgroups=split`
where podman may make cgroups (the container stays in the unit's cgroup: its limits apply and a
SIGKILL of the unit leaves nothing behind; see `cgroups_mode`), `KillMode=mixed`, `Delegate=yes`,
`--log-driver=passthrough` (the container's output goes straight to the journal under the unit's
name), `ExecStop=` removes the container gracefully and `ExecStopPost=` removes what a crash left.

Every command line here is plain words; what comes from `.overmind.yml` travels in the unit's
environment (see unit_exec for why).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping

from overmind import names
from overmind.errors import OvermindError
from overmind.isolation.model import Contract, Service
from overmind.isolation.naming import LABEL, container_name, service_unit, setup_unit, volume_name
from overmind.mission.units import INHERITED_ENV
from overmind.systemd import unit_exec

START_MARGIN = 30.0  # seconds a unit may take to start beyond its readiness (or setup) timeout
_PLAIN = re.compile(r"[A-Za-z0-9_./:@=+,-]+")  # what a unit's command line may hold, reload after reload
_ESCAPED = re.compile(r"[$;%\\\"'\x00-\x1f]")


def podman() -> str:
    """The podman binary, or a clear error: missions without docker services never ask."""
    found = shutil.which("podman")
    if found is None:
        raise OvermindError("podman is not installed; docker services need it",
                            hint="run scripts/install-podman.sh (or apt-get install podman runc catatonit slirp4netns)")
    return found


def plain(*words: str) -> str:
    """A command line for an Exec*= property, of words that need no escaping (at most quotes,
    for a path with spaces)."""
    line = []
    for word in words:
        if _PLAIN.fullmatch(word):
            line.append(word)
        elif not _ESCAPED.search(word):
            line.append(f'"{word}"')
        else:
            raise OvermindError(f"{word!r} cannot go on a unit's command line",
                                hint="move overmind (or the repository) to a path without $ ; % \\ or quotes")
    return " ".join(line)


def _probe(*words: str) -> list[str]:
    """The readiness check (ready.py, stdlib only), run by path without site: fast, nothing to escape."""
    return [sys.executable, "-I", "-S", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ready.py"), *words]


def _common(unit: str, description: str, env: Mapping[str, str], props: dict[str, str], argv: list[str],
            path: str, container: bool = False) -> list[str]:
    props = {"SyslogIdentifier": names.log_identifier(unit), "StopWhenUnneeded": "yes",
             "MemoryAccounting": "yes", "CPUAccounting": "yes", "TasksAccounting": "yes", **props}
    base = {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}
    args = [f"--unit={unit}", f"--description={description}", f"--working-directory={path}"]
    args += [f"--property={key}={value}" for key, value in props.items()]
    if container and cgroups_mode() == "split":  # it must not move the user manager (see unit_exec)
        env = {**env, unit_exec.OWN_CGROUP: unit}
    argv, env = unit_exec.launched(argv, {**base, **env}, always=container)
    args += [f"--setenv={key}={value}" for key, value in env.items()]
    return [*args, "--", *argv]


def cgroups_mode(euid: int | None = None, unified: bool | None = None) -> str:
    """podman's `--cgroups=` for a container's unit. A user's own (rootless) podman can make no
    cgroup on a cgroup-v1 or hybrid host, where only root may write the controllers' trees: `split`
    fails every start there ("mkdir /sys/fs/cgroup/pids/libpod_parent: read-only file system").
    `disabled` leaves the container's processes in the unit's own cgroup, where systemd still
    tracks and kills them; only root, or anyone on a cgroup2 host, gets `split`."""
    euid = os.geteuid() if euid is None else euid
    unified = os.path.exists("/sys/fs/cgroup/cgroup.controllers") if unified is None else unified
    return "split" if euid == 0 or unified else "disabled"


def _restart(service: Service) -> dict[str, str]:
    return {"Restart": service.restart, "RestartSec": "1s"}


def _ready_probe(service: Service, host_port: int | None) -> tuple[dict[str, str], dict[str, str]]:
    """ExecStartPost= running the readiness check, and the environment it reads its command from."""
    check = service.ready
    if check.kind == "none":
        return {}, {}
    target = [] if check.kind == "command" else ["--tcp", str(host_port)]
    probe = plain(*_probe("--service", service.name, "--timeout", f"{check.timeout:g}", *target))
    return {"ExecStartPost": probe}, ({"OVERMIND_READY_COMMAND": check.command or ""} if check.kind == "command"
                                      else {})


def command_unit_args(worktree: str, path: str, service: Service, env: Mapping[str, str],
                      host_port: int, after: list[str]) -> list[str]:
    unit = service_unit(worktree, service.name)
    probe, probe_env = _ready_probe(service, host_port)
    props = {"Type": "exec", "TimeoutStartSec": f"{service.ready.timeout + START_MARGIN:g}s",
             "TimeoutStopSec": f"{service.stop_timeout:g}s", **_restart(service), **probe, **_ordering(after)}
    return _common(unit, f"overmind service {worktree}.{service.name} (command)", {**env, **probe_env}, props,
                   ["/bin/sh", "-c", service.command or ""], path)


def docker_unit_args(worktree: str, repo: str, path: str, service: Service, env: Mapping[str, str],
                     arguments: list[str], host_port: int | None, podman_path: str, after: list[str]) -> list[str]:
    """A container's unit; it runs in the repository (the worktree may still be being made)."""
    unit = service_unit(worktree, service.name)
    container = container_name(worktree, service.name)
    remove = [podman_path, "rm", "--force", "--ignore", "--time"]
    probe, probe_env = _ready_probe(service, host_port)
    props = {
        "Type": "notify", "NotifyAccess": "all", "KillMode": "mixed", "Delegate": "yes",
        "SuccessExitStatus": "143", "TimeoutStartSec": f"{service.ready.timeout + START_MARGIN:g}s",
        "TimeoutStopSec": f"{service.stop_timeout + 15:g}s", **_restart(service), **probe,
        **_volume_creation(worktree, service, podman_path),
        "ExecStop": plain(*unit_exec.helper("quiet", *remove, f"{service.stop_timeout:g}", container)),
        # After a clean stop ExecStop has removed it; after a crash or a failed start, this does.
        "ExecStopPost": plain(*unit_exec.helper("unless-clean", *remove, "0", container)),
        **_ordering(after),
    }
    # --pull=never: an image removed since `run` checked fails the start at once; a pull would
    # race the readiness timeout (or hang without a registry).
    run = [podman_path, "run", "--detach", "--rm", "--replace", "--init", "--pull=never", "--sdnotify=conmon",
           f"--cgroups={cgroups_mode()}", "--log-driver=passthrough", f"--name={container}",
           f"--label={LABEL}.worktree={worktree}", f"--label={LABEL}.service={service.name}",
           f"--label={LABEL}.prefix={names.unit_prefix()}"]
    if service.network == "host-loopback":  # slirp4netns: the host's 127.0.0.1 is 10.0.2.2 inside
        run.append("--network=slirp4netns:allow_host_loopback=true")
    if host_port is not None and service.port is not None:
        run.append(f"--publish=127.0.0.1:{host_port}:{service.port}")
    run += [f"--env={key}" for key in env]  # values come from the unit's environment, not its command line
    for volume in service.volumes:
        source = volume_name(worktree, volume.source) if volume.named else os.path.join(path, volume.source)
        run.append(f"--volume={source}:{volume.target}{':ro' if volume.read_only else ''}")
    run += ["--", service.image or "", *arguments]
    return _common(unit, f"overmind service {worktree}.{service.name} ({service.image})", {**env, **probe_env},
                   props, run, repo, container=True)


def _volume_creation(worktree: str, service: Service, podman_path: str) -> dict[str, str]:
    """Named volumes are created labelled with their worktree, so `worktree rm` finds them
    (`podman run` would create them unlabelled)."""
    volumes = [volume_name(worktree, v.source) for v in service.volumes if v.named]
    if not volumes:
        return {}
    labels = [f"{LABEL}.worktree={worktree}", f"{LABEL}.prefix={names.unit_prefix()}"]
    return {"ExecStartPre": plain(*unit_exec.helper("volumes", podman_path, *labels, "--", *volumes))}


def setup_unit_args(worktree: str, path: str, contract: Contract, env: Mapping[str, str],
                    after: list[str], done_marker: str) -> list[str]:
    """One oneshot unit running the setup commands in order, each echoed to the journal first,
    then writing `done_marker` (a later mission does not run it again); it stays active while
    missions need it, so their restarts do not run it again either."""
    steps = [f"printf '+ %s\\n' {shlex.quote(step)}\n/bin/sh -c {shlex.quote(step)} || exit" for step in contract.setup]
    steps.append(f"mkdir -p {shlex.quote(os.path.dirname(done_marker))} && date +%s > {shlex.quote(done_marker)}")
    # Skipped once done: a boot starting a persisted mission's setup unit (service_files) runs nothing again.
    props = {"Type": "oneshot", "RemainAfterExit": "yes", "TimeoutStartSec": f"{contract.setup_timeout:g}s",
             "ExecCondition": plain("/usr/bin/env", "test", "!", "-e", done_marker), **_ordering(after)}
    return _common(setup_unit(worktree), f"overmind setup of worktree {worktree}", env, props,
                   ["/bin/sh", "-c", "\n".join(steps)], path)


HOLD_SECONDS = 3600  # a hold that `run` could not release (it was killed) ends by itself


def hold_unit_args(hold: str, units: list[str]) -> list[str]:
    """A unit that keeps `units` needed while their mission's unit does not exist yet.

    Services have `StopWhenUnneeded=yes`, and systemd stops such a unit as soon as it is active
    with no unit needing it: a service that gets ready (or has no check) before `run` has created
    the mission bound to it would be stopped, and then garbage-collected, under the mission's
    start. A dependency on a unit that does not exist yet is kept by name, so this unit, made
    first with `Wants=` on all of them, needs each one from the moment it exists. `run` stops it
    once the mission's start job is done (the mission binds to them from then on)."""
    props = {"Type": "exec", "Wants": " ".join(units), "CollectMode": "inactive-or-failed"}
    return [f"--unit={hold}", "--description=overmind: a mission's services, while it starts",
            *(f"--property={key}={value}" for key, value in props.items()), "--", "/bin/sleep", str(HOLD_SECONDS)]


def _ordering(after: list[str]) -> dict[str, str]:
    """Start after (and only with) these units: a setup after the containers it may need, and
    command services after the setup that installs what they run."""
    return {"After": " ".join(after), "Requires": " ".join(after)} if after else {}
