"""A worktree's work as a reviewer reads it: its diff against the base split per file (with
added and removed line counts and numbered lines), and the commits on its branch.

What it compares is what `worktree diff` prints (keeping.compared). File names, contents and
commit messages are anyone's text: they are decoded leniently here and escaped by whoever
shows them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from overmind.errors import OvermindError
from overmind.isolation import git, keeping
from overmind.isolation.model import Contract
from overmind.store.worktrees import WorktreeRecord

MAX_COMMITS = 200
_STATUS = {"A": "added", "M": "modified", "D": "deleted", "R": "renamed", "C": "copied", "T": "type changed"}
_HUNK = re.compile(r"@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


class DiffLine(NamedTuple):
    kind: str  # hunk | add | del | ctx | note ("\ No newline at end of file")
    text: str  # without its +/-/space prefix
    old: int | None  # its number in the base's file
    new: int | None  # its number in the worktree's file


@dataclass(frozen=True)
class FileDiff:
    path: str
    old_path: str | None  # a renamed or copied file's former name
    status: str  # added | modified | deleted | renamed | copied | type changed
    added: int | None  # None for a binary file
    removed: int | None
    lines: tuple[DiffLine, ...]

    @property
    def binary(self) -> bool:
        return self.added is None

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "old_path": self.old_path, "status": self.status, "added": self.added,
                "removed": self.removed, "binary": self.binary,
                "lines": [{"kind": line.kind, "text": line.text, "old": line.old, "new": line.new}
                          for line in self.lines]}


class Commit(NamedTuple):
    sha: str
    author: str
    at: float
    subject: str

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def _present(record: WorktreeRecord) -> None:
    if not os.path.isdir(record.path):
        raise OvermindError(f"the folder of worktree '{record.name}' is gone ({record.path})",
                            hint=f"forget it with 'overmind worktree rm {record.name}'")


def files(record: WorktreeRecord, contract: Contract | None) -> list[FileDiff]:
    """Every file the worktree changed since it forked from its base, uncommitted and untracked
    ones included, in git's order."""
    _present(record)
    fork, tree = keeping.compared(record, contract)
    summary = git.read(["diff", "-z", "-M", "--no-ext-diff", "--raw", "--numstat", fork, tree], record.path)
    patch = git.read(["diff", "-M", "--no-ext-diff", "--no-color", fork, tree], record.path)
    entries = parse_summary(summary)
    sections = split_patch(patch)
    return [FileDiff(path, old_path, status, added, removed, parse_lines(section))
            for (path, old_path, status, added, removed), section in
            zip(entries, sections + [[]] * (len(entries) - len(sections)), strict=False)]


def parse_summary(text: str) -> list[tuple[str, str | None, str, int | None, int | None]]:
    """`git diff -z --raw --numstat`: (path, old path, status, added, removed) per file."""
    fields = text.split("\0")
    raw: list[tuple[str, str, str | None]] = []  # status, path, old path
    index = 0
    while index < len(fields) and fields[index].startswith(":"):
        letter = fields[index].split()[-1][:1]
        if letter in "RC":
            raw.append((letter, fields[index + 2], fields[index + 1]))
            index += 3
        else:
            raw.append((letter, fields[index + 1], None))
            index += 2
    counts: list[tuple[int | None, int | None]] = []
    while index < len(fields) and fields[index]:
        added, removed, path = fields[index].split("\t", 2)
        counts.append((None, None) if added == "-" else (int(added), int(removed)))
        index += 3 if not path else 1  # a rename's numstat names both paths in the fields after it
    counts += [(None, None)] * (len(raw) - len(counts))
    return [(path, old, _STATUS.get(letter, "modified"), added, removed)
            for (letter, path, old), (added, removed) in zip(raw, counts, strict=False)]


def split_patch(patch: str) -> list[list[str]]:
    """The patch's lines, one list per file. Lines inside hunks always start with a prefix
    (+, -, space, backslash), so a file's content can never pass for the next file's header."""
    sections: list[list[str]] = []
    for line in patch.split("\n"):
        if line.startswith("diff --git "):
            sections.append([])
        elif sections:
            sections[-1].append(line)
    return sections


def parse_lines(section: list[str]) -> tuple[DiffLine, ...]:
    found: list[DiffLine] = []
    old = new = 0
    in_hunk = False
    for line in section:
        if line.startswith("@@"):
            match = _HUNK.match(line)
            old, new = (int(match[1]), int(match[2])) if match else (0, 0)
            in_hunk = True
            found.append(DiffLine("hunk", line, None, None))
        elif not in_hunk:
            continue  # the file's header (index, ---, +++, modes); the summary says it better
        elif line.startswith("+"):
            found.append(DiffLine("add", line[1:], None, new))
            new += 1
        elif line.startswith("-"):
            found.append(DiffLine("del", line[1:], old, None))
            old += 1
        elif line.startswith(" "):
            found.append(DiffLine("ctx", line[1:], old, new))
            old, new = old + 1, new + 1
        elif line.startswith("\\"):
            found.append(DiffLine("note", line[2:] if line.startswith("\\ ") else line[1:], None, None))
    return tuple(found)


def commits(record: WorktreeRecord) -> list[Commit]:
    """The commits checked out in the worktree that its base does not have, newest first."""
    _present(record)
    base = keeping.base_ref(record)
    # One commit per NUL; its fields one per line (neither a name nor a subject holds a line break).
    text = git.read(["log", "-z", f"--max-count={MAX_COMMITS}", "--format=%H %at%n%an%n%s", f"{base}..HEAD", "--"],
                    record.path)
    found = []
    for entry in text.split("\0"):
        head, _, rest = entry.strip("\n").partition("\n")
        author, _, subject = rest.partition("\n")
        sha, _, at = head.partition(" ")
        if sha:
            found.append(Commit(sha, author, float(at or 0), subject))
    return found
