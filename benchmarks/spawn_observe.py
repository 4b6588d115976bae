"""M0: run, ps and logs against the raw systemd tools they stand on."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.common import cleanup, environment, median_ms, overmind_argv, report, run

REPEAT = 20
FLEET = 200


def main() -> None:
    env = environment()
    try:
        print("spawn and observe (medians):")
        counter = iter(range(10**6))
        prefix = env["OVERMIND_UNIT_PREFIX"]
        # Interleaved, so that a busy moment weighs on both alike.
        ours_runs, theirs_runs = [], []
        for _ in range(REPEAT):
            ours_runs.append(median_ms(lambda: run(overmind_argv("run", "true"), env), 1))
            theirs_runs.append(median_ms(lambda: run(["systemd-run", "--user", "--quiet",
                                                      f"--unit={prefix}-raw{next(counter)}", "true"], env), 1))
        ours, theirs = statistics.median(ours_runs), statistics.median(theirs_runs)
        report("overmind run true", ours, theirs, "systemd-run --user true")
        print(f"  {'  target: run ≤ 5x systemd-run':<44} {'met' if ours <= 5 * theirs else 'NOT met'}")
        # The floor under any command line: the interpreter, then click (what `--version` runs).
        floor = median_ms(lambda: run(overmind_argv("--version"), env), REPEAT)
        bare = median_ms(lambda: run([sys.executable, "-c", "pass"], env), REPEAT)
        print(f"  {'  the floor: overmind --version':<44} {floor:8.1f} ms   {'python -c pass':<40} {bare:8.1f} ms")

        for index in range(FLEET):
            run(overmind_argv("run", "--name", f"fleet-{index}", "sleep 600"), env)
        ours = median_ms(lambda: run(overmind_argv("ps", "--json"), env), REPEAT)
        theirs = median_ms(lambda: run(["systemctl", "--user", "list-units", "--output=json"], env), REPEAT)
        report(f"overmind ps --json ({FLEET} running)", ours, theirs, "systemctl --user list-units --output=json")
        run(overmind_argv("kill", "--all"), env)

        run(overmind_argv("run", "--name", "chatty", "for i in $(seq 600); do echo line $i; done"), env)
        unit = f"{prefix}@chatty.service"
        deadline = time.monotonic() + 30
        while "line 600" not in subprocess.run(overmind_argv("logs", "chatty", "-n", "5"), env=env,
                                               capture_output=True, text=True).stdout:
            if time.monotonic() > deadline:
                raise SystemExit("the chatty mission's lines never reached the journal")
            time.sleep(0.1)
        ours = median_ms(lambda: run(overmind_argv("logs", "chatty", "-n", "100"), env), REPEAT)
        theirs = median_ms(lambda: run(["journalctl", "--no-pager", "--user-unit", unit, "-n", "100"], env), REPEAT)
        report("overmind logs -n 100 (600-line mission)", ours, theirs, "journalctl --user-unit -n 100")
    finally:
        cleanup(env)


if __name__ == "__main__":
    main()
