"""Native journal entries: multi-line messages and our fields, on a real datagram socket."""

from __future__ import annotations

import socket
import struct

from overmind.wrapper.journald import JournalWriter, clip


def test_entries_carry_whole_multi_line_messages_and_fields(tmp_path) -> None:
    path = str(tmp_path / "journal")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        JournalWriter("omtest@x", path).write("first line\nsecond line", OVERMIND_EVENT=7)
        data = server.recv(65536)
    message = b"first line\nsecond line"
    assert data.startswith(b"MESSAGE\n" + struct.pack("<Q", len(message)) + message + b"\n")
    assert b"PRIORITY=6\nSYSLOG_IDENTIFIER=omtest@x\nOVERMIND_EVENT=7\n" in data


def test_entries_journald_could_not_take_are_sent_again_in_order_once_it_is_back(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("overmind.wrapper.journald.WAIT_IN_PLACE", 0.05)
    path = str(tmp_path / "journal")
    writer = JournalWriter("omtest@x", path)
    writer.write("one")  # nobody listens: it waits
    writer.write("two")
    assert [entry[2] for entry in writer.pending] == ["one", "two"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)  # journald is back
        writer.write("three")
        received = [server.recv(65536) for _ in range(3)]
    assert [data.split(b"\n")[0] for data in received] == [b"MESSAGE=one", b"MESSAGE=two", b"MESSAGE=three"]
    assert not writer.pending


def test_what_journald_never_took_goes_to_stdout_when_the_wrapper_ends(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("overmind.wrapper.journald.WAIT_IN_PLACE", 0.05)
    writer = JournalWriter("omtest@x", str(tmp_path / "missing"))
    writer.write("one")
    writer.write("two")
    assert capsys.readouterr().out == ""
    writer.close(wait=0.05)
    assert capsys.readouterr().out == "one\ntwo\n"


def test_very_long_messages_are_clipped_with_a_pointer_to_the_whole() -> None:
    text = clip("x" * 40_000, limit=10)
    assert text == "x" * 10 + "… (39990 more characters in overmind logs --json)"
