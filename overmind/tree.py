"""Parent/child trees of missions, laid out as nested systemd slices.

A mission lives in its parent's children slice (top-level missions in the prefix's own slice),
and its own children go into a slice named after its id, nested inside the slice it lives in:

    overmind\\x2dagent.slice                              top-level missions
    overmind\\x2dagent-1a2b3c4d.slice                     children of mission 1a2b3c4d
    overmind\\x2dagent-1a2b3c4d-5e6f7a8b.slice            grandchildren through 5e6f7a8b

Stopping a mission's children slice stops its whole subtree at once, deepest units first.
Ids, not names, make up the slices: a name can be reused, an id cannot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from overmind.names import unit_prefix
from overmind.store import Mission


def _escape(part: str) -> str:
    """systemd-escape for the characters a prefix or id can hold: '-' nests slices."""
    return part.replace("-", "\\x2d")


def root_slice() -> str:
    return f"{_escape(unit_prefix())}.slice"


def children_slice(ancestry: list[str]) -> str:
    """The slice for the children of the last id in `ancestry` (root first)."""
    return "-".join([_escape(unit_prefix()), *ancestry]) + ".slice"


class Tree:
    """Parent links of every known mission, for walking subtrees and drawing them."""

    def __init__(self, missions: Iterable[Mission]) -> None:
        self.by_id = {m.id: m for m in missions}
        self.children: dict[str | None, list[Mission]] = defaultdict(list)
        for mission in sorted(self.by_id.values(), key=lambda m: m.created_at):
            parent = mission.parent if mission.parent in self.by_id else None
            self.children[parent].append(mission)

    def ancestry(self, mission: Mission) -> list[str]:
        """Ids from the root down to and including `mission`."""
        chain = [mission.id]
        while (parent := self.by_id.get(chain[0])) and parent.parent in self.by_id:
            chain.insert(0, parent.parent)
        return chain

    def ancestors(self, mission: Mission) -> list[Mission]:
        return [self.by_id[i] for i in self.ancestry(mission)[:-1]]

    def descendants(self, mission: Mission) -> list[Mission]:
        """The whole subtree below `mission`, deepest first (children before their parents)."""
        found: list[Mission] = []
        for child in self.children.get(mission.id, []):
            found += self.descendants(child)
            found.append(child)
        return found

    def walk(self, roots: list[Mission] | None = None) -> Iterator[tuple[str, Mission]]:
        """(box-drawing prefix, mission) in display order, children under their parent."""
        def visit(mission: Mission, lead: str, last: bool, top: bool) -> Iterator[tuple[str, Mission]]:
            yield ("" if top else lead + ("└─ " if last else "├─ ")), mission
            kids = self.children.get(mission.id, [])
            below = "" if top else lead + ("   " if last else "│  ")
            for index, kid in enumerate(kids):
                yield from visit(kid, below, index == len(kids) - 1, False)

        for root in roots if roots is not None else self.children.get(None, []):
            yield from visit(root, "", True, True)
