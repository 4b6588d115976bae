"""The wheel installed with pipx by `dev` on a host where systemd is PID 1: the PyPI user's path,
where no package put completions or a man page in place and `overmind setup` does the user's part."""

from __future__ import annotations

import json

from tests.realhost.rig import Host


def test_pipx_installs_a_working_overmind_and_setup_completes_it(pipx_host: Host) -> None:
    host = pipx_host
    assert host.user("sh", "-c", "command -v overmind").stdout.strip() == "/home/dev/.local/bin/overmind"
    steps = {step["name"]: step["state"] for step in json.loads(host.user("overmind", "setup", "--json").stdout)}
    assert steps == {"linger": "ok", "user manager": "ok", "skill": "changed", "completion": "changed"}
    completion = "/home/dev/.local/share/bash-completion/completions/overmind"
    assert host.user("test", "-s", completion).returncode == 0
    assert {"add", "logs", "rm"} <= host.completions("ritual", "")

    proc = host.user("overmind", "run", "--name", "first", "--wait", 'echo "first mission as $(id -un)"')
    assert proc.stdout.endswith("finished: stopped, exit code 0\n")
    assert "first mission as dev" in host.user("overmind", "logs", "first").stdout
    assert host.user("overmind", "doctor").returncode == 0
