"""The D-Bus wire format `run` speaks to the manager: byte for byte what dbus-fast (a complete
implementation) writes, and it reads what dbus-fast writes."""

from __future__ import annotations

import pytest
from dbus_fast import Message, MessageType, Variant

from overmind.mission.spec import Limits, MissionSpec, RestartPolicy
from overmind.mission.units import transient_unit_args
from overmind.systemd import wire
from overmind.systemd.transient import unit_from_run_args

MANAGER = ("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager")


def _mission_unit() -> tuple[str, list[tuple[str, str, object]]]:
    spec = MissionSpec(command="echo 'a b' \"$HOME\"; sleep 1", cwd="/tmp", env={"K": "v w"},
                       limits=Limits(memory_max=2**30, cpu_quota=150, tasks_max=9, timeout=90),
                       restart=RestartPolicy("on-failure", max_restarts=2, backoff=0.5), activity_timeout=30)
    return unit_from_run_args(["--slice=a.slice", *transient_unit_args(spec, "0123abcd", "x", "om@x.service", "/s",
                                                                       systemd_version=252)])


def test_a_start_transient_unit_call_is_the_message_dbus_fast_writes() -> None:
    name, props = _mission_unit()
    aux = [("om@y.service", props[:3])]
    body = [name, "fail", props, aux]
    ours = wire.method_call(7, *MANAGER, "StartTransientUnit", "ssa(sv)a(sa(sv))",
                            [name, "fail", [(n, (sig, v)) for n, sig, v in props],
                             [(u, [(n, (sig, v)) for n, sig, v in p]) for u, p in aux]])

    def variants(items: list[tuple[str, str, object]]) -> list[list[object]]:
        return [[n, Variant(sig, v)] for n, sig, v in items]

    theirs = Message(destination=MANAGER[0], path=MANAGER[1], interface=MANAGER[2], member="StartTransientUnit",
                     signature="ssa(sv)a(sa(sv))", serial=7,
                     body=[body[0], body[1], variants(props), [[u, variants(p)] for u, p in aux]])._marshall(False)
    assert ours == bytes(theirs)


@pytest.mark.parametrize(("signature", "values"), [
    ("o", ["/org/freedesktop/systemd1/job/42"]),
    ("uoss", [42, "/org/freedesktop/systemd1/job/42", "om@x.service", "done"]),
    ("a{sv}yb", [{"A": Variant("t", 2**64 - 1), "B": Variant("as", ["x", "yz"])}, 7, True]),
    ("a(sasb)x", [[["/bin/sh", ["/bin/sh", "-c", "true"], True]], -5]),
])
def test_what_dbus_fast_writes_reads_back(signature: str, values: list[object]) -> None:
    message = Message(message_type=MessageType.SIGNAL, path="/p", interface="a.b", member="M", signature=signature,
                      body=values, serial=3)
    parsed = wire.parse(bytes(message._marshall(False)))
    assert parsed.type == wire.SIGNAL and parsed.member == "M" and parsed.interface == "a.b"
    expected = [{k: v.value for k, v in value.items()} if isinstance(value, dict) else value for value in values]
    got = [[list(item) for item in value] if signature.startswith("a(") and index == 0 else value
           for index, value in enumerate(parsed.body())]
    assert got == expected


def test_an_error_reply_names_the_error_and_the_call() -> None:
    error = Message(message_type=MessageType.ERROR, error_name="org.freedesktop.systemd1.UnitExists",
                    reply_serial=9, signature="s", body=["Unit x.service already exists."], serial=4)
    parsed = wire.parse(bytes(error._marshall(False)))
    assert (parsed.type, parsed.reply_serial) == (wire.ERROR, 9)
    assert parsed.error_name == "org.freedesktop.systemd1.UnitExists"
    assert parsed.body() == ["Unit x.service already exists."]


def test_a_malformed_signature_is_a_wire_error() -> None:
    with pytest.raises(wire.WireError):
        wire.split("a(sv")
