"""Persisted missions: `run --persist` against a transient `run`, and a boot bringing back 50
persisted missions against the same manager starting 50 plain enabled units.

The boot is the private host's (`host down` / `host up`), which every mission on the machine
shares: it runs only where overmind runs the private host, with OVERMIND_TEST_HOST_RECOVERY=1
(under the exclusive host lock, as the disruptive tests). Each side gets a boot of its own; the
time is the manager's start to the last of the 50 units' ActiveEnterTimestamp, as systemd
recorded them (no polling in the measure).
"""

from __future__ import annotations

import os
import subprocess

from benchmarks.common import cleanup, environment, median_ms, overmind_argv, report, run

STARTS = 10
BOOTED = 50


def persist_start(env: dict[str, str]) -> None:
    counter = iter(range(10**6))

    def start(*flags: str) -> None:
        run(overmind_argv("run", "--name", f"p{next(counter)}", *flags, "exec sleep 600"), env)

    transient = median_ms(lambda: start(), STARTS)
    persisted = median_ms(lambda: start("--persist"), STARTS)
    report("run --persist (unit file, enabled, started)", persisted, transient, "run (transient unit)")
    run(overmind_argv("stop", "--all"), env)


def _plain_units(env: dict[str, str], count: int) -> list[str]:
    """`count` plain unit files (sleep), enabled under default.target: what systemd starts at boot."""
    from overmind.systemd.unitfiles import unit_dir

    directory, wants = unit_dir(), unit_dir() / "default.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    names = [f"{env['OVERMIND_UNIT_PREFIX']}-plain{n}.service" for n in range(count)]
    for name in names:
        (directory / name).write_text("[Service]\nExecStart=/bin/sleep 600\n\n[Install]\nWantedBy=default.target\n")
        (wants / name).symlink_to(f"../{name}")
    return names


def _remove_plain(names: list[str]) -> None:
    from overmind.systemd.unitfiles import unit_dir

    for name in names:
        (unit_dir() / "default.target.wants" / name).unlink(missing_ok=True)
        (unit_dir() / name).unlink(missing_ok=True)


def _boot_ms(env: dict[str, str], units: list[str]) -> float:
    """A private host's reboot; the manager's start to the last of `units` active (ms)."""
    run(overmind_argv("host", "down"), env)
    run(overmind_argv("host", "up"), env)
    # Monotonic microseconds: the wall-clock forms are whole seconds.
    shown = subprocess.run(["systemctl", "--user", "show", "--property=ActiveEnterTimestampMonotonic", "--", *units],
                           env=env, capture_output=True, text=True, check=True).stdout
    started = subprocess.run(["systemctl", "--user", "show", "--property=UserspaceTimestampMonotonic"],
                             env=env, capture_output=True, text=True, check=True).stdout
    stamps = [int(value) for line in shown.splitlines() if line.startswith("ActiveEnterTimestampMonotonic=")
              and (value := line.split("=", 1)[1]) not in ("", "0")]
    if len(stamps) != len(units):
        raise SystemExit(f"only {len(stamps)} of {len(units)} units came back at the boot")
    return (max(stamps) - int(started.strip().split("=", 1)[1])) / 1000


def boot(env: dict[str, str]) -> None:
    from overmind.host import pid1_is_systemd

    if pid1_is_systemd() or os.environ.get("OVERMIND_TEST_HOST_RECOVERY") != "1":
        print(f"  {'boot: 50 persisted missions back':<44} skipped (needs the private host and"
              " OVERMIND_TEST_HOST_RECOVERY=1)")
        return
    plain = _plain_units(env, BOOTED)
    try:
        theirs = _boot_ms(env, plain)
    finally:
        _remove_plain(plain)
        subprocess.run(["systemctl", "--user", "stop", *plain], env=env, capture_output=True)
        subprocess.run(["systemctl", "--user", "daemon-reload"], env=env, capture_output=True)
    names = [f"b{n}" for n in range(BOOTED)]
    for name in names:
        run(overmind_argv("run", "--name", name, "--persist", "exec sleep 600"), env)
    units = [f"{env['OVERMIND_UNIT_PREFIX']}@{name}.service" for name in names]
    try:
        ours = _boot_ms(env, units)
    finally:
        run(overmind_argv("stop", "--all"), env)
    report(f"boot: {BOOTED} persisted missions running", ours, theirs, f"{BOOTED} plain enabled units")


def main() -> None:
    print("persisted missions (ratio: overmind / the baseline)")
    env = environment()
    try:
        persist_start(env)
        boot(env)
    finally:
        cleanup(env)


if __name__ == "__main__":
    main()
