"""The dashboard's secret: a random token in a file only its owner can read, and the values
derived from it (the session cookie, the CSRF token). No web framework is imported here, so
`overmind dashboard url` stays quick.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from overmind.errors import OvermindError
from overmind.store import state_dir

TOKEN_BYTES = 32


def path() -> Path:
    return state_dir() / "dashboard.token"


def read() -> str | None:
    """The token, or None before the first `ensure`."""
    try:
        text = path().read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise OvermindError(f"cannot read the dashboard token {path()}: {error.strerror}") from None
    return text or None


def ensure() -> str:
    """The token, created on first use (0600, never readable by anyone else: a file that became
    readable by others is tightened)."""
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if stat.S_IMODE(file.stat().st_mode) & 0o077:
            os.chmod(file, 0o600)
        found = read()
        if found is not None and len(found) >= TOKEN_BYTES:
            return found
        return rotate()
    with os.fdopen(descriptor, "w") as f:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        f.write(token + "\n")
    return token


def rotate() -> str:
    """A new token: every cookie and URL handed out so far stops working."""
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = file.with_name(f".{file.name}.{secrets.token_hex(4)}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as f:
        f.write(token + "\n")
    os.replace(temporary, file)
    return token


def derived(token: str, purpose: str) -> str:
    """A value bound to the token: the session cookie ("cookie") or the CSRF token ("csrf").
    Neither reveals the token, and a new token invalidates both."""
    return hmac.new(token.encode(), f"overmind-dashboard:{purpose}".encode(), hashlib.sha256).hexdigest()


def matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
