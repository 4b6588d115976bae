"""ExecStartPre= hook of the restartable units made by overmind 0.1 (missions now use hooks/run.sh):
mark each restart, and grow the backoff.

systemd 252 only knows a fixed RestartSec=. Before each restart this sleeps the part of the
exponential delay that RestartSec= did not cover: backoff * 2^(n-1), capped at --backoff-max.
While it sleeps the unit is `activating (start-pre)`, which `ps` shows as `restarting`, and a
stop cancels it. Then it writes `--- restart #N at <UTC time> ---` into the mission's journal.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime


def extra_delay(restart_number: int, backoff: float, ceiling: float) -> float:
    """Seconds to sleep on top of RestartSec= (= backoff) before restart number n (1-based)."""
    delay: float = min(backoff * 2 ** (restart_number - 1), ceiling)
    return max(0.0, delay - backoff)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="overmind.hooks.restart")
    parser.add_argument("--backoff", type=float)
    parser.add_argument("--backoff-max", type=float)
    args = parser.parse_args(argv)
    mission_id = os.environ.get("OVERMIND_MISSION_ID")
    if not mission_id:
        return
    from overmind.store import Store

    restart_number = len(Store().exits(mission_id))
    if restart_number == 0:
        return  # the first start
    if args.backoff:
        time.sleep(extra_delay(restart_number, args.backoff, args.backoff_max or args.backoff))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    print(f"--- restart #{restart_number} at {stamp} ---", flush=True)


if __name__ == "__main__":
    main()
