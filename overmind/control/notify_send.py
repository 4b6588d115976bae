"""Sending one notice to one channel: a webhook's body in its format, a command, the desktop.

Every sender returns an Outcome: sent, or failed and worth trying again (a webhook that answers
5xx, 408 or 429 or cannot be reached, a command that fails), or failed for good (any other
answer: the URL is wrong, a token was revoked). A command gets the notice in its environment
(`OVERMIND_NOTIFY_*`) and as JSON on its stdin: nothing of it is ever part of a command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from overmind.control.notify_channels import Channel
from overmind.control.notify_outbox import Notice

TIMEOUT_S = 10.0  # a webhook that has not answered by then is unreachable (tried again later)
COMMAND_TIMEOUT_S = 30.0
_RETRIED = (408, 429)
# ntfy's tags (emoji short codes) and priorities (1-5) per event
_NTFY = {"crashed": ("rotating_light", 4), "breaker": ("rotating_light", 5), "failed": ("x", 4),
         "waiting": ("hourglass", 3), "permission": ("lock", 5), "finished": ("white_check_mark", 3),
         "blueprint-failed": ("x", 4), "ritual-failed": ("x", 4), "test": ("bell", 3)}


class Outcome(NamedTuple):
    ok: bool
    retry: bool  # failed, and worth trying again
    detail: str  # `answered 200 in 34 ms`, `answered 500`, `unreachable: connection refused`


def link(notice: Notice, dashboard: str | None) -> str | None:
    """The notice's page on the dashboard (no token in it: a link people may forward)."""
    if not dashboard:
        return None
    kind = notice.data.get("type")
    if kind in ("mission", "permission"):
        return f"{dashboard}missions/{notice.data.get('mission_id') or notice.subject}"
    if kind == "blueprint":
        return f"{dashboard}blueprints/{notice.subject}"
    return f"{dashboard}rituals" if kind == "ritual" else dashboard


def body(notice: Notice, url: str | None) -> dict[str, Any]:
    """The JSON a `--format json` webhook receives and a command reads on stdin (docs/notifications.md)."""
    return {"version": 1, "event": notice.event, "title": notice.title, "message": notice.message,
            "name": notice.name, "at": notice.at, "key": notice.key, "url": url, **notice.data}


def dashboard_url() -> str | None:
    from overmind.control.dashboard_unit import running

    found = running()
    return found.url if found is not None else None


def backoff(failures: int) -> float:
    """Seconds before the next try after this many failures: 1, 2, 4 ... up to a minute."""
    return float(min(60, 2 ** max(failures - 1, 0)))


# -- webhooks -----------------------------------------------------------------------------------
def request(channel: Channel, notice: Notice, url: str | None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of the POST for the channel's format."""
    if channel.format == "slack":  # Slack's (and Mattermost's) incoming webhooks
        text = f"*{notice.title}*\n{notice.message}" + (f"\n<{url}|Open>" if url else "")
        return json.dumps({"text": text}).encode(), {"Content-Type": "application/json"}
    if channel.format == "ntfy":  # ntfy.sh: the message as the body, the rest as headers
        tag, priority = _NTFY.get(notice.event, ("bell", 3))
        headers = {"Title": _header(notice.title), "Tags": tag, "Priority": str(priority),
                   "Content-Type": "text/plain; charset=utf-8"}
        if url:
            headers["Click"] = url
        return notice.message.encode(), headers
    return json.dumps(body(notice, url)).encode(), {"Content-Type": "application/json"}


def _header(text: str) -> str:
    """A header value: ASCII as is, anything else as RFC 2047 (which ntfy decodes)."""
    import base64

    text = " ".join(text.split())
    if text.isascii():
        return text
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="


def webhook(channel: Channel, notice: Notice, url: str | None) -> Outcome:
    import http.client

    parts = urlsplit(channel.target)
    data, headers = request(channel, notice, url)
    headers = {"User-Agent": "overmind-notify", **headers}
    if parts.username is not None:  # https://user:password@host/...: basic auth, as curl does
        import base64

        pair = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, parts.port, timeout=TIMEOUT_S)
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=TIMEOUT_S)
    started = time.monotonic()
    try:
        connection.request("POST", path, body=data, headers=headers)
        response = connection.getresponse()
        response.read(65536)
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        return Outcome(False, True, f"unreachable: {_why(error)}")
    finally:
        connection.close()
    took = f"answered {status} in {(time.monotonic() - started) * 1000:.0f} ms"
    if 200 <= status < 300:
        return Outcome(True, False, took)
    return Outcome(False, status >= 500 or status in _RETRIED, f"answered {status}")


def _why(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {TIMEOUT_S:g} s"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


# -- commands -----------------------------------------------------------------------------------
def command(channel: Channel, notice: Notice, url: str | None) -> Outcome:
    """Run the channel's command line (the person's own, through /bin/sh); the notice is in its
    environment and on its stdin, never in the line itself."""
    env = dict(os.environ)
    env.update({"OVERMIND_NOTIFY_EVENT": notice.event, "OVERMIND_NOTIFY_TITLE": notice.title,
                "OVERMIND_NOTIFY_MESSAGE": notice.message, "OVERMIND_NOTIFY_NAME": notice.name,
                "OVERMIND_NOTIFY_ID": notice.subject, "OVERMIND_NOTIFY_URL": url or "",
                "OVERMIND_NOTIFY_CHANNEL": channel.name})
    try:
        done = subprocess.run(["/bin/sh", "-c", channel.target], input=json.dumps(body(notice, url)).encode(),
                              env=env, capture_output=True, timeout=COMMAND_TIMEOUT_S, cwd=os.path.expanduser("~"),
                              start_new_session=True)
    except subprocess.TimeoutExpired:
        return Outcome(False, True, f"the command did not end within {COMMAND_TIMEOUT_S:g} s")
    except OSError as error:
        return Outcome(False, True, f"the command could not start: {error.strerror or error}")
    if done.returncode == 0:
        return Outcome(True, False, "the command exited 0")
    said = (done.stderr.decode(errors="replace").strip().splitlines() or [""])[-1][:200]
    return Outcome(False, True, f"the command exited {done.returncode}" + (f": {said}" if said else ""))
