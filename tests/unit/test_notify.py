"""sd_notify datagrams, checked against a real unix socket."""

from __future__ import annotations

import socket

from overmind.wrapper.notify import Notifier


def test_notifier_sends_newline_separated_assignments(tmp_path) -> None:
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        notifier = Notifier(path)
        notifier.send(READY=1, STATUS="booting")
        notifier.status("working:\n  Bash(pytest)")
        notifier.watchdog()
        assert server.recv(4096) == b"READY=1\nSTATUS=booting"
        assert server.recv(4096) == b"STATUS=working: Bash(pytest)"
        assert server.recv(4096) == b"WATCHDOG=1"
        notifier.close()


def test_notifier_is_a_no_op_outside_systemd(monkeypatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    notifier.watchdog()


def test_a_vanished_manager_is_ignored(tmp_path) -> None:
    Notifier(str(tmp_path / "gone")).watchdog()
