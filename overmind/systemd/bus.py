"""The user manager over D-Bus, for what its command-line clients cannot do.

Only the blueprint executor comes here (dbus-fast is imported inside these functions, never on
the `run`/`ps`/`logs` path). It goes through the user's message bus, as `overmind wait` does:
dbus-fast's handshake with the manager's private socket does not always complete.
"""

from __future__ import annotations

from collections.abc import Sequence

from overmind import trace
from overmind.errors import OvermindError
from overmind.systemd.manager import user_env
from overmind.systemd.transient import Property

_DESTINATION = "org.freedesktop.systemd1"
_PATH = "/org/freedesktop/systemd1"
_MANAGER = "org.freedesktop.systemd1.Manager"
CALL_TIMEOUT = 30.0


def start_transient_units(main: tuple[str, Sequence[Property]],
                          aux: Sequence[tuple[str, Sequence[Property]]]) -> str:
    """Create `main` and the `aux` units in one call and start `main`: the aux units are only
    loaded, so whatever `main` pulls in (Wants=, Requires=) starts in one transaction.
    Returns the start job's object path."""
    import asyncio

    try:
        with trace.span(f"dbus StartTransientUnit {main[0]} (+{len(aux)} units)"):
            return asyncio.run(asyncio.wait_for(_start_transient_units(main, aux), CALL_TIMEOUT))
    except TimeoutError:
        raise OvermindError(f"the systemd user manager did not answer within {CALL_TIMEOUT:g}s",
                            hint="check 'overmind host status'") from None


async def _start_transient_units(main: tuple[str, Sequence[Property]],
                                 aux: Sequence[tuple[str, Sequence[Property]]]) -> str:
    from dbus_fast import Message, MessageType, Variant
    from dbus_fast.aio import MessageBus

    def variants(props: Sequence[Property]) -> list[list[object]]:
        return [[name, Variant(signature, value)] for name, signature, value in props]

    try:
        bus = await MessageBus(bus_address=user_env()["DBUS_SESSION_BUS_ADDRESS"]).connect()
    except (OSError, EOFError) as error:
        raise OvermindError(f"cannot reach the systemd user manager over D-Bus ({type(error).__name__}: {error})",
                            hint="run 'overmind host up' or check 'systemctl --user status'") from None
    try:
        reply = await bus.call(Message(
            destination=_DESTINATION, path=_PATH, interface=_MANAGER, member="StartTransientUnit",
            signature="ssa(sv)a(sa(sv))",
            body=[main[0], "fail", variants(main[1]), [[name, variants(props)] for name, props in aux]],
        ))
    finally:
        bus.disconnect()
    assert reply is not None
    if reply.message_type == MessageType.ERROR:
        detail = reply.body[0] if reply.body else reply.error_name
        raise OvermindError(f"systemd refused to create the units: {detail}")
    return str(reply.body[0])
