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
from typing import Generic, Protocol, TypeVar

from overmind.names import unit_prefix


def _escape(part: str) -> str:
    """systemd-escape for the characters a prefix or id can hold: '-' nests slices."""
    return part.replace("-", "\\x2d")


def root_slice() -> str:
    return f"{_escape(unit_prefix())}.slice"


def children_slice(ancestry: list[str]) -> str:
    """The slice for the children of the last id in `ancestry` (root first)."""
    return "-".join([_escape(unit_prefix()), *ancestry]) + ".slice"


class Node(Protocol):
    """What a tree needs of a mission or blueprint record."""

    @property
    def id(self) -> str: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def created_at(self) -> float: ...


N = TypeVar("N", bound=Node)


class Tree(Generic[N]):
    """Parent links of every known mission (and blueprint), for walking subtrees and drawing them."""

    def __init__(self, nodes: Iterable[N]) -> None:
        self.by_id = {n.id: n for n in nodes}
        self.children: dict[str | None, list[N]] = defaultdict(list)
        for node in sorted(self.by_id.values(), key=lambda n: n.created_at):
            parent = node.parent if node.parent in self.by_id else None
            self.children[parent].append(node)

    def ancestry(self, node: N) -> list[str]:
        """Ids from the root down to and including `node`."""
        chain = [node.id]
        while (above := self.by_id.get(chain[0])) and above.parent in self.by_id:
            assert above.parent is not None
            chain.insert(0, above.parent)
        return chain

    def ancestors(self, node: N) -> list[N]:
        return [self.by_id[i] for i in self.ancestry(node)[:-1]]

    def descendants(self, node: N) -> list[N]:
        """The whole subtree below `node`, deepest first (children before their parents)."""
        found: list[N] = []
        for child in self.children.get(node.id, []):
            found += self.descendants(child)
            found.append(child)
        return found

    def walk(self, roots: list[N] | None = None) -> Iterator[tuple[str, N]]:
        """(box-drawing prefix, node) in display order, children under their parent."""
        def visit(node: N, lead: str, last: bool, top: bool) -> Iterator[tuple[str, N]]:
            yield ("" if top else lead + ("└─ " if last else "├─ ")), node
            kids = self.children.get(node.id, [])
            below = "" if top else lead + ("   " if last else "│  ")
            for index, kid in enumerate(kids):
                yield from visit(kid, below, index == len(kids) - 1, False)

        for root in roots if roots is not None else self.children.get(None, []):
            yield from visit(root, "", True, True)
