"""Command mode: `:missions`, `:logs build`, ... with aliases, completion and the nearest alias
for a typo. Pure: the app maps a parsed command onto a screen."""

from __future__ import annotations

import difflib
from typing import NamedTuple

from overmind.errors import OvermindError


class Verb(NamedTuple):
    name: str
    aliases: tuple[str, ...]
    takes: str | None  # the argument it needs ("NAME"), or None
    key: str | None  # the number key that opens it
    help: str


# The views, in the order of their number keys. A new view is one line here and one screen module.
VERBS = (
    Verb("missions", ("mi", "ms", "m", "ps"), None, "1", "every mission and blueprint, live"),
    Verb("tree", ("tr", "t"), None, "2", "missions under their parents"),
    Verb("rituals", ("ri", "rit", "timers"), None, "3", "scheduled missions: next and last run"),
    Verb("blueprints", ("bp", "b", "pipelines"), None, "4", "blueprints and their agents' DAG"),
    Verb("host", ("ho", "doctor", "status"), None, "5", "systemd, journald and the doctor's checks"),
    Verb("worktrees", ("wt", "worktree", "git"), None, "6", "worktrees: missions, work, ports, services; diffs"),
    Verb("memory", ("mem", "me", "akasha"), None, "7", "the shared memory: newest first, / searches by meaning"),
    Verb("hosts", ("hs", "machines", "fleet"), None, "8", "every host's facts and missions (hosts ls)"),
    Verb("permissions", ("pe", "perm", "approve"), None, None, "what agents wait on: y approve, N deny"),
    Verb("logs", ("lo", "log", "l"), "NAME", None, "a mission's output, followed live"),
    Verb("describe", ("de", "desc", "info", "d"), "NAME", None, "everything known about a mission"),
    Verb("help", ("h", "?"), None, None, "the keys of the current view"),
    Verb("quit", ("q", "q!", "exit"), None, None, "leave"),
)
_BY_WORD = {word: verb for verb in VERBS for word in (verb.name, *verb.aliases)}


class Command(NamedTuple):
    verb: Verb
    argument: str | None


class UnknownCommand(OvermindError):
    def __init__(self, word: str) -> None:
        nearest = difflib.get_close_matches(word, list(_BY_WORD), n=1, cutoff=0.0)
        self.nearest = _BY_WORD[nearest[0]].name if nearest else None
        hint = f"did you mean :{nearest[0]}?" if nearest else "press ? for help"
        super().__init__(f"unknown command ':{word}'", hint=hint)


def parse(text: str) -> Command:
    """`logs build` -> (logs, "build"); an unknown word raises UnknownCommand with the nearest
    alias; a missing or unexpected argument is a one-line error."""
    words = text.strip().lstrip(":").split(maxsplit=1)
    if not words:
        raise OvermindError("empty command", hint="e.g. :missions, :logs NAME, :host")
    word = words[0].lower()
    verb = _BY_WORD.get(word)
    if verb is None:
        raise UnknownCommand(word)
    argument = words[1].strip() if len(words) > 1 else None
    if verb.takes and not argument:
        raise OvermindError(f":{verb.name} needs a {verb.takes}", hint=f"e.g. :{verb.name} build")
    if not verb.takes and argument:
        raise OvermindError(f":{verb.name} takes no argument")
    if argument and "\0" in argument:
        raise OvermindError("the name contains a NUL byte")
    return Command(verb, argument)


def complete(text: str, names: list[str]) -> str | None:
    """The completion of a partly typed command line: a command word, or for a command that
    takes a NAME, a mission name. None when nothing (or nothing new) fits."""
    head, space, rest = text.lstrip(":").partition(" ")
    if not space:
        found = next((w for w in (v.name for v in VERBS) if w.startswith(head.lower())), None)
        found = found or next((w for w in _BY_WORD if w.startswith(head.lower())), None)
        return found if found and found != head else None
    verb = _BY_WORD.get(head.lower())
    if verb is None or not verb.takes:
        return None
    found = next((n for n in sorted(names) if n.startswith(rest)), None)
    return f"{head} {found}" if found and found != rest else None
