"""The contract of a repository, validated once per version of its `.overmind.yml`.

Validation needs PyYAML and pydantic (~100 ms of imports, more than a whole `run`), so the
validated contract is kept as JSON in the state directory beside the exact text it came from;
a run whose file has not changed reads that instead.
"""

from __future__ import annotations

import json
import os
import zlib

from overmind.errors import OvermindError
from overmind.isolation.model import CONTRACT_FILE, Contract
from overmind.store import state_dir

_FORMAT = 3  # bump when Contract's JSON changes


def contract_of(repo: str) -> Contract:
    """The repository's contract; the defaults (one PORT, no services) without a `.overmind.yml`."""
    path = os.path.join(repo, CONTRACT_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return Contract()
    except (OSError, UnicodeDecodeError) as error:
        raise OvermindError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None
    cached = _cache_file(path)
    try:
        with open(cached, encoding="utf-8") as f:
            entry = json.load(f)
        if entry.get("format") == _FORMAT and entry.get("path") == path and entry.get("text") == text:
            return Contract.from_json(entry["contract"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache yet, or an unreadable one: validate again
    from overmind.isolation.contract import read

    contract = read(path, text)
    write_json(cached, {"format": _FORMAT, "path": path, "text": text, "contract": contract.to_json()})
    return contract


def _cache_file(path: str) -> str:
    return str(state_dir() / "contracts" / f"{zlib.crc32(path.encode()):08x}.json")


def write_json(target: str, entry: object) -> None:
    """Atomically: a concurrent run reads the old entry or the new one, never half of one. A
    failure is ignored: what is written here only saves time."""
    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
    temporary = f"{target}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(entry, f)
        os.replace(temporary, target)
    except OSError:
        pass
