"""When an agent asks for a tool its permissions do not allow: whom overmind asks (the policy),
the rules a person adds with `approve --always`, and the words the agent is told.

Pure and dependency-free: the wrapper decides with it, the providers build command lines with
it, and the control layer shows it, so each reads the same answer.
"""

from __future__ import annotations

import re

POLICIES = ("ask", "deny", "allow")
# The providers whose CLI can ask overmind (`providers.permission.AsksPermissions`), named here so
# that `ps` need not import the providers to show a mission's policy (a test keeps the two agreed).
ASKING_PROVIDERS = ("claude",)
DEFAULT_TIMEOUT = 1800.0  # seconds: an unattended agent is told "no" after this, never left hanging
# claude's modes that prompt for what they do not allow; `dontAsk` denies and `bypassPermissions`
# never asks, and a task given no mode keeps `claude -p`'s own way: it denies at once.
PROMPTING_MODES = ("default", "acceptEdits", "plan", "auto")
_RULE = re.compile(r"([^()\s]+)(?:\((.*)\))?", re.DOTALL)


def policy(mission_type: str, on_permission: str | None, permission_mode: str | None) -> str:
    """ask | deny | allow: what happens to a permission request of a mission. A person can always
    be reached for a session; a task asks when its --permission-mode is one that prompts."""
    if on_permission is not None:
        return on_permission
    if mission_type == "session":
        return "ask"
    return "ask" if permission_mode in PROMPTING_MODES else "deny"


def of_mission(provider: str, mission_type: str, agent: dict[str, object]) -> str | None:
    """A recorded mission's policy (its spec's agent options); None where its CLI cannot ask."""
    if provider not in ASKING_PROVIDERS:
        return None
    on_permission, mode = agent.get("on_permission"), agent.get("permission_mode")
    return policy(mission_type, on_permission if isinstance(on_permission, str) else None,
                  mode if isinstance(mode, str) else None)


def timeout_of(permission_timeout: float | None) -> float:
    return permission_timeout if permission_timeout is not None else DEFAULT_TIMEOUT


def span(seconds: float) -> str:
    """1800 -> '30m', 5400 -> '1h30m', 90 -> '1m30s', 0.5 -> '0.5s': as a person writes it."""
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)


def timeout_message(seconds: float) -> str:
    return f"no one answered within {span(seconds)}"


def denial_message(by: str, message: str | None) -> str:
    """What the agent reads when a person denies its request (its tool result)."""
    return message.strip() if message and message.strip() else f"The user denied this tool use (overmind, {by})."


# -- rules --------------------------------------------------------------------------------------
def rule_text(tool: str, content: str | None) -> str:
    """'Bash(npm test *)', or 'WebSearch' for every use of a tool."""
    return f"{tool}({content})" if content else tool


def parse_rule(rule: str) -> tuple[str, str | None]:
    """'Bash(npm test *)' -> ('Bash', 'npm test *'); 'WebSearch' -> ('WebSearch', None)."""
    match = _RULE.fullmatch(rule.strip())
    if match is None:
        raise ValueError(f"invalid rule {rule!r}: use Tool or Tool(pattern)")
    return match[1], match[2] or None


def matches(rule: str, tool: str, subject: str | None) -> bool:
    """Whether a rule allows this use of a tool. The pattern is claude's: `*` stands for anything,
    and a trailing `:*` (or ` *`) for anything after the prefix, nothing included."""
    try:
        name, pattern = parse_rule(rule)
    except ValueError:
        return False
    if name != tool:
        return False
    if pattern is None:
        return True
    if subject is None:
        return False
    for tail in (":*", " *"):
        if pattern.endswith(tail) and subject == pattern[: -len(tail)]:
            return True
    if pattern.endswith(":*"):
        pattern = pattern[:-2] + "*"
    expression = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(expression, subject, re.DOTALL) is not None
