"""Just enough of D-Bus for the command line to call the user manager without a D-Bus library.

dbus-fast imports all of itself (~100 ms) whichever of its modules is asked for, which is more
than `systemd-run` costs to fork. This is the wire format (the marshalling of the D-Bus
specification, little-endian out, either order in) for the types overmind sends and reads, and
a blocking connection: SASL EXTERNAL, then whole messages, on a plain Unix socket (~1 ms to
import). Long-lived listeners still use dbus-fast (`overmind.systemd.signals`).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
_PATH, _INTERFACE, _MEMBER, _ERROR_NAME, _REPLY_SERIAL, _DESTINATION, _SENDER, _SIGNATURE = range(1, 9)
_FIELD_TYPES = {_PATH: "o", _INTERFACE: "s", _MEMBER: "s", _ERROR_NAME: "s", _REPLY_SERIAL: "u",
                _DESTINATION: "s", _SENDER: "s", _SIGNATURE: "g"}
_FIXED = {"y": "B", "b": "I", "n": "h", "q": "H", "i": "i", "u": "I", "x": "q", "t": "Q", "d": "d", "h": "I"}
_ALIGN = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8, "h": 4, "s": 4, "o": 4,
          "g": 1, "v": 1, "a": 4, "(": 8, "{": 8}
MAX_MESSAGE = 128 * 1024 * 1024  # the specification's limit


class WireError(Exception):
    """The peer broke the protocol (or is not a D-Bus peer)."""


def split(signature: str) -> list[str]:
    """A signature's complete types: "sa(sv)u" -> ["s", "a(sv)", "u"]."""
    types = []
    index = 0
    while index < len(signature):
        end = _end_of(signature, index)
        types.append(signature[index:end])
        index = end
    return types


def _end_of(signature: str, index: int) -> int:
    """Where the complete type starting at `index` ends."""
    code = signature[index]
    if code == "a":
        return _end_of(signature, index + 1)
    if code in "({":
        depth = 0
        for at in range(index, len(signature)):
            depth += signature[at] in "({"
            depth -= signature[at] in ")}"
            if depth == 0:
                return at + 1
        raise WireError(f"unbalanced signature {signature!r}")
    if code not in _ALIGN:
        raise WireError(f"unknown type {code!r} in signature {signature!r}")
    return index + 1


# -- writing ----------------------------------------------------------------------------------
class _Writer:
    def __init__(self) -> None:
        self.data = bytearray()

    def pad(self, alignment: int) -> None:
        self.data += bytes(-len(self.data) % alignment)

    def write(self, kind: str, value: Any) -> None:
        code = kind[0]
        if code in _FIXED:
            self.pad(_ALIGN[code])
            self.data += struct.pack("<" + _FIXED[code], int(value) if code == "b" else value)
        elif code in "so":
            encoded = value.encode()
            self.pad(4)
            self.data += struct.pack("<I", len(encoded)) + encoded + b"\0"
        elif code == "g":
            encoded = value.encode()
            self.data += bytes((len(encoded),)) + encoded + b"\0"
        elif code == "v":
            signature, inner = value
            self.write("g", signature)
            self.write(signature, inner)
        elif code == "a":
            self._array(kind[1:], value)
        elif code == "(":
            self.pad(8)
            for member, item in zip(split(kind[1:-1]), value, strict=True):
                self.write(member, item)
        else:
            raise WireError(f"cannot write type {kind!r}")

    def _array(self, element: str, value: Any) -> None:
        self.pad(4)
        at = len(self.data)
        self.data += bytes(4)
        self.pad(_ALIGN[element[0]])
        start = len(self.data)
        if element[0] == "{":
            key, item = split(element[1:-1])
            for entry_key, entry_value in value.items():
                self.pad(8)
                self.write(key, entry_key)
                self.write(item, entry_value)
        else:
            for item in value:
                self.write(element, item)
        struct.pack_into("<I", self.data, at, len(self.data) - start)


def marshal(signature: str, values: Sequence[Any]) -> bytes:
    """`values` in the wire format of `signature`, from offset 0 (a message body).
    A variant is a (signature, value) pair; a dict entry array is a dict."""
    writer = _Writer()
    for kind, value in zip(split(signature), values, strict=True):
        writer.write(kind, value)
    return bytes(writer.data)


def method_call(serial: int, destination: str | None, path: str, interface: str | None, member: str,
                signature: str = "", body: Sequence[Any] = ()) -> bytes:
    """One whole METHOD_CALL message."""
    payload = marshal(signature, body)
    given = {_PATH: path, _INTERFACE: interface, _MEMBER: member, _DESTINATION: destination, _SIGNATURE: signature}
    fields = [(code, (_FIELD_TYPES[code], value)) for code, value in given.items() if value]
    header = _Writer()
    for kind, value in (("y", ord("l")), ("y", METHOD_CALL), ("y", 0), ("y", 1), ("u", len(payload)),
                        ("u", serial), ("a(yv)", fields)):
        header.write(kind, value)
    header.pad(8)
    return bytes(header.data) + payload


# -- reading ----------------------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes, order: str) -> None:
        self.data = data
        self.order = order
        self.at = 0

    def align(self, alignment: int) -> None:
        self.at += -self.at % alignment

    def read(self, kind: str) -> Any:
        code = kind[0]
        if code in _FIXED:
            self.align(_ALIGN[code])
            fmt = self.order + _FIXED[code]
            (value,) = struct.unpack_from(fmt, self.data, self.at)
            self.at += struct.calcsize(fmt)
            return bool(value) if code == "b" else value
        if code in "so":
            length = self.read("u")
            text = self.data[self.at:self.at + length].decode(errors="replace")
            self.at += length + 1
            return text
        if code == "g":
            length = self.data[self.at]
            text = self.data[self.at + 1:self.at + 1 + length].decode()
            self.at += length + 2
            return text
        if code == "v":
            signature = self.read("g")
            return self.read(signature)
        if code == "a":
            length = self.read("u")
            element = kind[1:]
            self.align(_ALIGN[element[0]])
            end = self.at + length
            if element[0] == "{":
                key, item = split(element[1:-1])
                entries = {}
                while self.at < end:
                    self.align(8)
                    entry_key = self.read(key)
                    entries[entry_key] = self.read(item)
                return entries
            items = []
            while self.at < end:
                items.append(self.read(element))
            return items
        if code == "(":
            self.align(8)
            return tuple(self.read(member) for member in split(kind[1:-1]))
        raise WireError(f"cannot read type {kind!r}")


def unmarshal(signature: str, data: bytes, order: str = "<") -> list[Any]:
    """The values of a message body in the wire format of `signature`."""
    reader = _Reader(data, order)
    try:
        return [reader.read(kind) for kind in split(signature)]
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise WireError(f"malformed body for signature {signature!r}: {error}") from None


class Message(NamedTuple):
    """A received message: its type, header fields and still-unread body."""

    type: int
    serial: int
    fields: dict[int, Any]
    raw_body: bytes
    order: str

    @property
    def reply_serial(self) -> int | None:
        return self.fields.get(_REPLY_SERIAL)

    @property
    def member(self) -> str | None:
        return self.fields.get(_MEMBER)

    @property
    def interface(self) -> str | None:
        return self.fields.get(_INTERFACE)

    @property
    def error_name(self) -> str | None:
        return self.fields.get(_ERROR_NAME)

    def body(self) -> list[Any]:
        return unmarshal(self.fields.get(_SIGNATURE, ""), self.raw_body, self.order)


def _header_length(prefix: bytes) -> tuple[str, int]:
    """The byte order and the whole length of the message whose first 16 bytes are `prefix`."""
    order = {ord("l"): "<", ord("B"): ">"}.get(prefix[0])
    if order is None:
        raise WireError("not a D-Bus message")
    body_length, _, fields_length = struct.unpack_from(order + "III", prefix, 4)
    header = 16 + fields_length
    total = header + (-header % 8) + body_length
    if total > MAX_MESSAGE:
        raise WireError(f"a message of {total} bytes")
    return order, total


def parse(data: bytes) -> Message:
    order, _ = _header_length(data)
    reader = _Reader(data, order)
    reader.at = 8
    serial = reader.read("u")
    fields = {code: value for code, value in reader.read("a(yv)")}
    reader.align(8)
    return Message(data[1], serial, fields, data[reader.at:], order)


# -- a connection -----------------------------------------------------------------------------
class Connection:
    """A blocking D-Bus connection on a Unix socket: to a bus (say `hello=True`) or straight to a
    peer such as the manager's private socket. Messages are read whole and in order."""

    def __init__(self, path: str, hello: bool, timeout: float) -> None:
        # _socket: the `socket` module on top of it builds enums of every constant (~1 ms)
        import _socket

        self.serial = 0
        self.on_bus = hello  # else straight to the peer: no bus daemon routes (or filters) messages
        self._buffer = b""
        self.socket = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        self.socket.settimeout(timeout)
        try:
            self.socket.connect(path)
            self._authenticate()
            if hello:
                self.send(None, "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello",
                          destination="org.freedesktop.DBus")
        except BaseException:
            self.socket.close()
            raise

    def _authenticate(self) -> None:
        # BEGIN goes with AUTH (as sd-bus does): one round trip; the peer's OK is read before any message.
        uid = str(os.geteuid()).encode().hex()
        self.socket.sendall(f"\0AUTH EXTERNAL {uid}\r\nBEGIN\r\n".encode())
        while b"\r\n" not in self._buffer:
            self._receive()
        line, _, self._buffer = self._buffer.partition(b"\r\n")
        if not line.startswith(b"OK "):
            raise WireError(f"authentication refused: {line.decode(errors='replace')}")

    def _receive(self) -> None:
        chunk = self.socket.recv(65536)
        if not chunk:
            raise WireError("the peer closed the connection")
        self._buffer += chunk

    def send(self, signature: str | None, path: str, interface: str | None, member: str,
             body: Sequence[Any] = (), destination: str | None = None) -> int:
        """Send one method call; returns its serial (replies name it)."""
        self.serial += 1
        self.socket.sendall(method_call(self.serial, destination, path, interface, member, signature or "", body))
        return self.serial

    def messages(self) -> Iterator[Message]:
        """Every message the peer sends, as it comes (signals included), until the socket times out."""
        while True:
            while len(self._buffer) < 16:
                self._receive()
            _, total = _header_length(self._buffer[:16])
            while len(self._buffer) < total:
                self._receive()
            data, self._buffer = self._buffer[:total], self._buffer[total:]
            yield parse(data)

    def close(self) -> None:
        self.socket.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
