"""`overmind dashboard`: the web control tower, in the foreground or as a socket-activated user
service; `dashboard url` prints where it answers, with its token."""

from __future__ import annotations

import json
from typing import Any

import click

from overmind.control import dashboard_unit
from overmind.errors import OvermindError

host_option = click.option("--host", default=dashboard_unit.DEFAULT_HOST, show_default=True,
                           help="Address to listen on; anything but loopback is reachable from other machines.")
port_option = click.option("--port", type=int, default=dashboard_unit.DEFAULT_PORT, show_default=True,
                           help="Port to listen on (0: any free port, foreground only).")
allow_host_option = click.option("--allow-host", "allowed_hosts", multiple=True, metavar="NAME",
                                 help="Also accept requests for this host name (besides IP addresses and "
                                      "localhost); repeatable.")


def _token_url(url: str, token: str) -> str:
    return f"{url}?token={token}"


def _warn_if_exposed(chosen: dashboard_unit.Address) -> None:
    if not chosen.loopback:
        click.echo(f"overmind: the dashboard listens on {chosen.listen}, reachable from other machines: every "
                   "request needs its token (keep the URL secret; serve it behind TLS on untrusted networks)",
                   err=True)


@click.group(invoke_without_command=True)
@host_option
@port_option
@allow_host_option
@click.option("--open", "open_browser", is_flag=True, help="Open the dashboard in the browser.")
@click.option("--socket-activated", is_flag=True, hidden=True, help="Serve on the socket systemd passed.")
@click.option("--idle-exit", metavar="DURATION", hidden=True, help="Exit after this long without visitors.")
@click.pass_context
def dashboard(ctx: click.Context, host: str, port: int, allowed_hosts: tuple[str, ...], open_browser: bool,
              socket_activated: bool, idle_exit: str | None) -> None:
    """Serve the web dashboard in the foreground (Ctrl-C stops it): live missions, logs, agents'
    timelines, blueprints, rituals, costs and the host, behind a token."""
    if ctx.invoked_subcommand is not None:
        return
    import logging

    from overmind.control.host import ready
    from overmind.dashboard import token
    from overmind.quantities import parse_duration

    try:
        from overmind.dashboard.app import serve
    except ImportError as error:
        raise OvermindError(f"the dashboard needs {error.name}",
                            hint="pip install 'overmind-agents[dashboard]'") from None
    chosen = dashboard_unit.address(host, port, allowed_hosts)
    idle = parse_duration(idle_exit, "--idle-exit") if idle_exit else None
    ready()
    secret = token.ensure()
    _warn_if_exposed(chosen)
    logging.basicConfig(level=logging.WARNING, format="overmind dashboard: %(levelname)s %(message)s")

    def announce(url: str) -> None:
        if not socket_activated:
            dashboard_unit.record_running(url)  # for `dashboard url`
            click.echo(f"overmind dashboard: {_token_url(url, secret)}  (Ctrl-C stops it)")
        if open_browser:
            import webbrowser

            webbrowser.open(_token_url(url, secret))

    try:
        serve(chosen, announce, socket_activated=socket_activated, idle_exit=idle)
    finally:
        dashboard_unit.forget_running()


@dashboard.command()
@host_option
@port_option
@allow_host_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def install(host: str, port: int, allowed_hosts: tuple[str, ...], as_json: bool) -> None:
    """Install the dashboard as a user service started by its socket on the first request
    (`systemctl --user status overmind-dashboard`)."""
    from overmind.control.host import ready
    from overmind.dashboard import token

    chosen = dashboard_unit.address(host, port, allowed_hosts)
    ready(auto_boot=True)
    secret = token.ensure()
    _warn_if_exposed(chosen)
    installed = dashboard_unit.install(chosen)
    if as_json:
        click.echo(json.dumps(installed.to_json() | {"token_url": _token_url(chosen.url, secret)}))
        return
    click.echo(f"installed {installed.socket.name} (listening on {chosen.listen}) and {installed.service.name}")
    click.echo(f"open: {_token_url(chosen.url, secret)}")


@dashboard.command()
def uninstall() -> None:
    """Stop the dashboard's service and socket and delete their unit files."""
    from overmind.control.host import ready

    ready()
    for path in dashboard_unit.remove():
        click.echo(f"removed {path}")


@dashboard.command()
@click.option("--new-token", is_flag=True, help="Make a new token first: every URL and cookie given out so far "
                                                  "stops working.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def url(new_token: bool, as_json: bool) -> None:
    """Print the running dashboard's URL with its token: a foreground one's while it runs, else
    where `dashboard install` put it."""
    from overmind.dashboard import token

    secret = token.rotate() if new_token else token.ensure()
    chosen = dashboard_unit.running()
    if chosen is None:
        raise OvermindError("no dashboard is running" + (" (made a new token)" if new_token else ""),
                            hint="start one: overmind dashboard (foreground), or overmind dashboard install")
    data: dict[str, Any] = chosen.to_json() | {"token_url": _token_url(chosen.url, secret)}
    click.echo(json.dumps(data) if as_json else data["token_url"])


COMMANDS = [dashboard]
