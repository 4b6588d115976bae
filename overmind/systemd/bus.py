"""Creating transient units: the user manager's `StartTransientUnit`, called over D-Bus.

`run` and `apply` come here instead of forking `systemd-run`: one blocking call on a plain socket
(`overmind.systemd.wire`), on the manager's private socket as systemctl and systemd-run use it
(`$XDG_RUNTIME_DIR/systemd/private`), else on the user's message bus. With `block`, the call
returns once the unit's start job is done, as `systemd-run` without `--no-block` does: the
manager tells every client of its private socket when a job ends (on the bus, those who ask).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from overmind import trace
from overmind.errors import OvermindError
from overmind.systemd.manager import ManagerUnreachable, runtime_dir, user_env
from overmind.systemd.objects import MANAGER_PATH

if TYPE_CHECKING:
    from overmind.systemd.transient import Property
    from overmind.systemd.wire import Connection

SYSTEMD = "org.freedesktop.systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
CALL_TIMEOUT = 30.0  # seconds; sd-bus's own default is 25
_UNREACHABLE = "the systemd user manager is not reachable"
_UNREACHABLE_HINT = "run 'overmind host up' (as root, where systemd is not PID 1) or log in with linger enabled"
# What `systemd-run` says when a start job ends otherwise than "done" (src/shared/bus-wait-for-jobs.c).
_JOB_RESULTS = {"canceled": "was canceled", "timeout": "timed out", "failed": "failed",
                "dependency": "failed: a unit it depends on failed", "invalid": "is invalid",
                "assert": "failed an assertion", "unsupported": "is not supported", "collected": "was collected",
                "once": "may run only once"}

BusUnit = tuple[str, Sequence["Property"]]


class Refused(OvermindError):
    """The manager refused to create the unit (its D-Bus error)."""

    def __init__(self, unit: str, error_name: str, detail: str) -> None:
        super().__init__(f"systemd refused to create {unit}: {detail}")
        self.error_name = error_name
        self.detail = detail

    @property
    def exists(self) -> bool:
        """A unit of that name is loaded already (running, or finished and not yet reset)."""
        return self.error_name == f"{SYSTEMD}.UnitExists"


class JobFailed(OvermindError):
    """The unit was created, but its start job ended otherwise than "done" (with `block`)."""

    def __init__(self, unit: str, result: str) -> None:
        super().__init__(f"the start job of {unit} {_JOB_RESULTS.get(result, result)}")
        self.unit = unit
        self.result = result


def connect(timeout: float = CALL_TIMEOUT) -> Connection:
    """A connection to the user manager: its private socket, else the user's bus."""
    from overmind.systemd.wire import Connection, WireError

    try:
        return Connection(os.path.join(runtime_dir(), "systemd", "private"), hello=False, timeout=timeout)
    except (OSError, WireError):
        pass  # not this manager's own user, or an older one: the bus
    address = user_env()["DBUS_SESSION_BUS_ADDRESS"]
    path = next((part.partition("=")[2] for part in address.removeprefix("unix:").split(",")
                 if part.startswith("path=")), None)
    try:
        if path is None:
            raise FileNotFoundError(f"no unix:path= in {address}")
        return Connection(path, hello=True, timeout=timeout)
    except (OSError, WireError) as error:
        raise ManagerUnreachable(_UNREACHABLE, hint=_UNREACHABLE_HINT) from error


def start_transient_unit(main: BusUnit, aux: Sequence[BusUnit] = (), block: bool = False) -> str:
    """Create `main` (and the `aux` units, loaded but not started, in the same call) and start
    `main`; with `block`, return only once its start job is done (after whatever it is ordered
    after: a mission's services, ready). Returns the job's object path."""
    from overmind.systemd.wire import WireError

    started = time.perf_counter()
    name, properties = main
    try:
        with connect() as connection:
            if block and connection.on_bus:  # on a bus: ask for the end of jobs, before the start
                connection.send("s", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch",
                                [f"type='signal',sender='{SYSTEMD}',interface='{MANAGER}',member='JobRemoved'"],
                                destination="org.freedesktop.DBus")
                connection.send(None, MANAGER_PATH, MANAGER, "Subscribe", destination=SYSTEMD)
            serial = connection.send("ssa(sv)a(sa(sv))", MANAGER_PATH, MANAGER, "StartTransientUnit",
                                     [name, "fail", _variants(properties),
                                      [(unit, _variants(props)) for unit, props in aux]], destination=SYSTEMD)
            return _job(connection, serial, name, block)
    except TimeoutError:
        raise OvermindError(f"the systemd user manager did not answer within {CALL_TIMEOUT:g}s",
                            hint="check 'overmind host status'") from None
    except (OSError, WireError) as error:
        raise ManagerUnreachable(f"{_UNREACHABLE} ({type(error).__name__}: {error})", hint=_UNREACHABLE_HINT) from None
    finally:
        trace.note(f"dbus StartTransientUnit {name}{f' (+{len(aux)} units)' if aux else ''}"
                   f"{' (until started)' if block else ''}", started)


def _job(connection: Connection, serial: int, unit: str, block: bool) -> str:
    """The start job the call `serial` queued; with `block`, once it is done (JobFailed if it
    ended otherwise). Other messages (the manager's signals about every unit) pass by."""
    from overmind.systemd.wire import ERROR, SIGNAL

    job = None
    ended: dict[str, str] = {}  # job -> result, of jobs that ended before the reply came
    for message in connection.messages():
        if message.reply_serial == serial:
            body = message.body()
            if message.type == ERROR:
                error = message.error_name or ""
                raise Refused(unit, error, str(body[0]) if body else error)
            job = str(body[0])
            if not block:
                return job
            connection.socket.settimeout(None)  # a start job lasts as long as the unit's start
            if job in ended:
                _check(unit, ended[job])
                return job
        elif block and message.type == SIGNAL and message.member == "JobRemoved" and message.interface == MANAGER:
            _, path, _, result = message.body()
            if path == job:
                _check(unit, result)
                return str(path)
            ended[path] = result
    raise AssertionError("unreachable: messages() ends only by raising")


@functools.cache
def manager_version() -> int:
    """The user manager's own systemd version as a number (252), read once per process over D-Bus
    (no `systemctl --version` fork on `run`'s path); 0 if it does not say."""
    from overmind.systemd.wire import ERROR, WireError

    try:
        with connect() as connection:
            serial = connection.send("ss", MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get",
                                     [MANAGER, "Version"], destination=SYSTEMD)
            reply = next(m for m in connection.messages() if m.reply_serial == serial)
    except (OSError, WireError):
        return 0
    text = str(reply.body()[0]) if reply.type != ERROR else ""
    digits = text[:len(text) - len(text.lstrip("0123456789"))]
    return int(digits) if digits else 0


def _check(unit: str, result: str) -> None:
    if result not in ("done", "skipped"):
        raise JobFailed(unit, result)


def _variants(properties: Sequence[Property]) -> list[tuple[str, tuple[str, object]]]:
    return [(name, (signature, value)) for name, signature, value in properties]
