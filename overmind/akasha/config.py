"""Where memories live: the local store, or a shared Chroma server ("Cortex") named by a URL.

`OVERMIND_AKASHA_URL` (and `OVERMIND_AKASHA_TOKEN`) win; otherwise `akasha.toml` in the state
directory may say `url = "http://host:8000"` and `token = "..."`. Missions inherit the variables
and share the state directory, so an agent uses the same memory as the person who started it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from overmind.akasha import AkashaError
from overmind.store import state_dir

CONFIG_FILE = "akasha.toml"


@dataclass(frozen=True)
class Backend:
    url: str | None = None  # None: the local store
    token: str | None = None

    def describe(self) -> str:
        return self.url or f"local store at {local_path()}"

    def to_json(self) -> dict[str, str | None]:
        return {"url": self.url, "token": self.token}


def local_path() -> Path:
    return state_dir() / "akasha" / "chroma"


def config_path() -> Path:
    return state_dir() / CONFIG_FILE


def check_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?", url):
        raise AkashaError(f"invalid Akasha server URL {url!r}", hint="use http://HOST:PORT or https://HOST:PORT")
    return url


def configured() -> Backend:
    url, token = os.environ.get("OVERMIND_AKASHA_URL"), os.environ.get("OVERMIND_AKASHA_TOKEN")
    if url is None:
        path = config_path()
        if path.exists():
            import tomllib

            try:
                data = tomllib.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise AkashaError(f"{path} cannot be read: {exc}") from exc
            url, token = data.get("url"), token or data.get("token")
            if url is not None and not isinstance(url, str) or token is not None and not isinstance(token, str):
                raise AkashaError(f"{path}: url and token must be strings")
    if not url:
        return Backend()
    return Backend(check_url(url), token or None)
