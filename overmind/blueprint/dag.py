"""The depends_on graph: a stable topological order, and the cycle that prevents one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class CycleError(ValueError):
    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(cycle))
        self.cycle = cycle  # first node repeated at the end: [a, b, a]


def topological_order(depends_on: Mapping[str, Sequence[str]]) -> list[str]:
    """Every node after its dependencies; ties keep the mapping's (the file's) order.

    Dependencies must be nodes of the mapping. Raises CycleError naming one cycle.
    """
    position = {node: index for index, node in enumerate(depends_on)}
    waiting_on = {node: set(deps) for node, deps in depends_on.items()}
    dependents: dict[str, list[str]] = {node: [] for node in depends_on}
    for node, deps in depends_on.items():
        for dep in deps:
            dependents[dep].append(node)
    ready = sorted((n for n, deps in waiting_on.items() if not deps), key=position.__getitem__)
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for dependent in dependents[node]:
            waiting_on[dependent].discard(node)
            if not waiting_on[dependent]:
                ready.append(dependent)
        ready.sort(key=position.__getitem__)
    if len(order) < len(depends_on):
        raise CycleError(find_cycle({n: d for n, d in depends_on.items() if n not in set(order)}))
    return order


def find_cycle(depends_on: Mapping[str, Sequence[str]]) -> list[str]:
    """One cycle among nodes that all sit on or behind a cycle, told from its earliest node."""
    start = next(iter(depends_on))
    path: list[str] = []
    seen: dict[str, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(dep for dep in depends_on[node] if dep in depends_on)
    cycle = path[seen[node]:]
    order = list(depends_on)
    first = min(range(len(cycle)), key=lambda i: order.index(cycle[i]))
    cycle = cycle[first:] + cycle[:first]
    return [*cycle, cycle[0]]


def dependents_closure(depends_on: Mapping[str, Sequence[str]], roots: set[str]) -> set[str]:
    """The roots and everything that depends on them, directly or not."""
    found = set(roots)
    changed = True
    while changed:
        changed = False
        for node, deps in depends_on.items():
            if node not in found and found.intersection(deps):
                found.add(node)
                changed = True
    return found
