"""A worktree's services as transient systemd units (`systemd-run` arguments).

`<prefix>-svc@<worktree>.<service>.service` runs a `command` service in the worktree, or a
`docker` service's container on Podman; `<prefix>-setup@<worktree>.service` runs the setup
commands once. The mission unit binds to them (BindsTo= + After=), so it starts only once they
are ready and a service that stops takes the mission with it; `StopWhenUnneeded=yes` stops them
when no mission needs them any more. Not `PartOf=`: systemd propagates the mission's automatic
restarts through it, which would recreate a database container (and lose its data) every time
a crashed agent comes back.

Containers: `Type=notify` with `--sdnotify=conmon` (ready when the container runs), `--cgroups=split`
(the container stays in the unit's cgroup: its limits apply and a SIGKILL of the unit leaves
nothing behind), `KillMode=mixed`, `Delegate=yes`, `--log-driver=passthrough` (the container's
output goes straight to the journal under the unit's name), `ExecStop=` removes the container
gracefully and `ExecStopPost=` removes what a crash left.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping

from overmind import names
from overmind.errors import OvermindError
from overmind.isolation.model import Contract, Service
from overmind.units import INHERITED_ENV, describe, python_command, quote_exec_arg

# ExecStopPost= of a container unit: remove what is left of the container unless it stopped cleanly.
_UNLESS_CLEAN = '[ "$SERVICE_RESULT" = success ] || exec "$@" >/dev/null'
_QUIETLY = 'exec "$@" >/dev/null'  # podman rm prints the container's name: not the service's output
# ExecStartPre= of a container unit with named volumes: $1 podman, $2 $3 labels, then the volumes.
_CREATE_VOLUMES = ('p=$1; a=$2; b=$3; shift 3; for v; do "$p" volume exists "$v" || '
                   '"$p" volume create --label "$a" --label "$b" "$v" >/dev/null || exit; done')
START_MARGIN = 30.0  # seconds a unit may take to start beyond its readiness (or setup) timeout
LABEL = "io.overmind"


def service_unit(worktree: str, service: str) -> str:
    return f"{names.unit_prefix()}-svc@{worktree}.{service}.service"


def setup_unit(worktree: str) -> str:
    return f"{names.unit_prefix()}-setup@{worktree}.service"


def service_units_pattern(worktree: str | None = None) -> str:
    return f"{names.unit_prefix()}-svc@{worktree + '.' if worktree else ''}*.service"


def container_name(worktree: str, service: str) -> str:
    return f"{names.unit_prefix()}-{worktree}-{service}"


def volume_name(worktree: str, volume: str) -> str:
    return f"{names.unit_prefix()}-{worktree}-{volume}"


def podman() -> str:
    """The podman binary, or a clear error: missions without docker services never ask."""
    found = shutil.which("podman")
    if found is None:
        raise OvermindError("podman is not installed; docker services need it",
                            hint="run scripts/install-podman.sh (or apt-get install podman runc catatonit slirp4netns)")
    return found


def _base_env() -> dict[str, str]:
    import os

    return {key: os.environ[key] for key in INHERITED_ENV if key in os.environ}


def _common(unit: str, description: str, env: Mapping[str, str], props: dict[str, str]) -> list[str]:
    props = {"SyslogIdentifier": names.log_identifier(unit), "StopWhenUnneeded": "yes",
             "MemoryAccounting": "yes", "CPUAccounting": "yes", "TasksAccounting": "yes", **props}
    args = [f"--unit={unit}", f"--description={description}"]
    args += [f"--property={key}={value}" for key, value in props.items()]
    args += [f"--setenv={key}={value}" for key, value in {**_base_env(), **env}.items()]
    return args


def _restart(service: Service) -> dict[str, str]:
    return {"Restart": service.restart, "RestartSec": "1s"}


def _ready_probe(service: Service, host_port: int | None) -> dict[str, str]:
    ready = service.ready
    if ready.kind == "none":
        return {}
    target = ["--command", ready.command or ""] if ready.kind == "command" else ["--tcp", str(host_port)]
    probe = python_command("overmind.isolation.ready", "--service", service.name, "--timeout",
                           f"{ready.timeout:g}", *target)
    return {"ExecStartPost": probe}


def command_unit_args(worktree: str, path: str, service: Service, env: Mapping[str, str],
                      host_port: int, after: list[str]) -> list[str]:
    unit = service_unit(worktree, service.name)
    props = {"Type": "exec", "TimeoutStartSec": f"{service.ready.timeout + START_MARGIN:g}s",
             "TimeoutStopSec": f"{service.stop_timeout:g}s", **_restart(service),
             **_ready_probe(service, host_port), **_ordering(after)}
    args = _common(unit, describe(f"{worktree}.{service.name}", service.command or "", kind="service"), env, props)
    return [*args, f"--working-directory={path}", "--", *literal(["/bin/sh", "-c", service.command or ""])]


def docker_unit_args(worktree: str, path: str, service: Service, env: Mapping[str, str], arguments: list[str],
                     host_port: int | None, podman_path: str, after: list[str]) -> list[str]:
    unit = service_unit(worktree, service.name)
    container = container_name(worktree, service.name)
    remove = [podman_path, "rm", "--force", "--ignore", "--time"]
    graceful = " ".join(quote_exec_arg(a) for a in ["/bin/sh", "-c", _QUIETLY, "sh", *remove,
                                                    f"{service.stop_timeout:g}", container])
    leftover = " ".join(quote_exec_arg(a) for a in [*remove, "0", container])
    props = {
        "Type": "notify", "NotifyAccess": "all", "KillMode": "mixed", "Delegate": "yes",
        "SuccessExitStatus": "143", "TimeoutStartSec": f"{service.ready.timeout + START_MARGIN:g}s",
        "TimeoutStopSec": f"{service.stop_timeout + 15:g}s", **_restart(service),
        **_ready_probe(service, host_port),
        **_volume_creation(worktree, service, podman_path),
        "ExecStop": graceful,
        # After a clean stop ExecStop has removed it; after a crash or a failed start, this does.
        "ExecStopPost": " ".join(quote_exec_arg(a) for a in ["/bin/sh", "-c", _UNLESS_CLEAN, "sh"]) + " " + leftover,
        **_ordering(after),
    }
    run = [podman_path, "run", "--detach", "--rm", "--replace", "--init", "--sdnotify=conmon", "--cgroups=split",
           "--log-driver=passthrough", f"--name={container}", f"--label={LABEL}.worktree={worktree}",
           f"--label={LABEL}.service={service.name}", f"--label={LABEL}.prefix={names.unit_prefix()}"]
    if host_port is not None and service.port is not None:
        run.append(f"--publish=127.0.0.1:{host_port}:{service.port}")
    run += [f"--env={key}" for key in env]  # values come from the unit's environment, not its command line
    for volume in service.volumes:
        source = volume_name(worktree, volume.source) if volume.named else f"{path}/{volume.source}"
        run.append(f"--volume={source}:{volume.target}{':ro' if volume.read_only else ''}")
    run += ["--", service.image or "", *arguments]
    args = _common(unit, describe(f"{worktree}.{service.name}", service.image or "", kind="service"), env, props)
    return [*args, f"--working-directory={path}", "--", *literal(run)]


def _volume_creation(worktree: str, service: Service, podman_path: str) -> dict[str, str]:
    """Named volumes are created labelled with their worktree, so `worktree rm` finds them
    (`podman run` would create them unlabelled)."""
    volumes = [volume_name(worktree, v.source) for v in service.volumes if v.named]
    if not volumes:
        return {}
    labels = [f"{LABEL}.worktree={worktree}", f"{LABEL}.prefix={names.unit_prefix()}"]
    args = ["/bin/sh", "-c", _CREATE_VOLUMES, "sh", podman_path, *labels, *volumes]
    return {"ExecStartPre": " ".join(quote_exec_arg(a) for a in args)}


def setup_unit_args(worktree: str, path: str, contract: Contract, env: Mapping[str, str],
                    after: list[str]) -> list[str]:
    """One oneshot unit running the setup commands in order, each echoed to the journal first;
    it stays active while missions need it, so their restarts do not run it again."""
    script = 'for step; do printf "+ %s\\n" "$step"; /bin/sh -c "$step" || exit; done'
    props = {"Type": "oneshot", "RemainAfterExit": "yes", "TimeoutStartSec": f"{contract.setup_timeout:g}s",
             **_ordering(after)}
    args = _common(setup_unit(worktree), describe(worktree, "setup", kind="setup"), env, props)
    return [*args, f"--working-directory={path}", "--", *literal(["/bin/sh", "-c", script, "setup", *contract.setup])]


def literal(argv: list[str]) -> list[str]:
    """Words of a command line exactly as given: systemd would expand `$VAR`/`${VAR}` in them
    itself, and turn `$$` into `$`, before the shell ever sees them."""
    return [word.replace("$", "$$") for word in argv]


def _ordering(after: list[str]) -> dict[str, str]:
    """Start after (and only with) these units: a setup after the containers it may need, and
    command services after the setup that installs what they run."""
    return {"After": " ".join(after), "Requires": " ".join(after)} if after else {}
