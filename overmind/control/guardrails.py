"""Guard rails at scale: one rule for every cap on how many missions something may start.

A tree's `--max-children` and an apply's `--max-new` are the same rule (`refuse_over`): what
would exceed the cap is refused before anything starts, in one line that says how many, the
cap, and how to allow it. `--max-cost-usd` refuses new children once the tree has spent it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from overmind.errors import OvermindError
from overmind.store import Mission, Store

if TYPE_CHECKING:
    from overmind.control.missions import Record
    from overmind.mission.tree import Tree

DEFAULT_MAX_NEW = 500  # new missions one apply may create
MAX_NEW_VARIABLE = "OVERMIND_MAX_NEW"


def over(count: int, limit: int | None, what: str, allow: str) -> OvermindError | None:
    """The one rule: `count` (what there would be) may not exceed `limit`. `what` says what
    would have `count` ("mission 'x' would have 3 missions below it"); `allow` how to allow more.
    The refusal, or None within the limit."""
    if limit is not None and count > limit:
        return OvermindError(f"{what}, more than its limit of {limit}", hint=allow)
    return None


def refuse_over(count: int, limit: int | None, what: str, allow: str) -> None:
    refusal = over(count, limit, what, allow)
    if refusal is not None:
        raise refusal


def check_budgets(family: Tree[Record], parent: Mission, store: Store) -> None:
    """Refuse a new child when any ancestor's --max-children or --max-cost-usd is used up.
    --max-children counts every mission below the ancestor that is not yet collected: running
    or finished, until `overmind gc` forgets it."""
    from overmind.control.quests import last_result

    for ancestor in [*family.ancestors(parent), parent]:
        if not isinstance(ancestor, Mission):
            continue
        below = [m for m in family.descendants(ancestor) if isinstance(m, Mission)]
        refuse_over(len(below) + 1, ancestor.spec.get("max_children"),
                    f"mission '{ancestor.name}' would have {len(below) + 1} missions below it",
                    "raise --max-children on a new tree, or collect its finished children: overmind gc")
        budget = ancestor.spec.get("max_cost_usd")
        if budget is not None:
            spent = sum(result.cost_usd or 0 for m in below if (result := last_result(m, store)) is not None)
            if spent >= budget:
                raise OvermindError(f"mission '{ancestor.name}' has spent ${spent:.2f} of its "
                                    f"${budget:.2f} budget: no more children",
                                    hint="raise --max-cost-usd on a new tree")


def max_new(given: int | None = None) -> int:
    """The most new missions one apply may create: --max-new, else $OVERMIND_MAX_NEW, else 500."""
    if given is not None:
        return given
    text = os.environ.get(MAX_NEW_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_NEW
    if not text.isdigit():
        raise OvermindError(f"invalid {MAX_NEW_VARIABLE} {text!r}: give a whole number of missions")
    return int(text)


def new_missions_refusal(blueprint: str, count: int, limit: int) -> OvermindError | None:
    """Why an apply that would create `count` new missions is refused, or None within its limit."""
    return over(count, limit, f"applying '{blueprint}' would create {count} new missions",
                f"allow it with --max-new {count} (or {MAX_NEW_VARIABLE}={count})")


def check_new(blueprint: str, count: int, limit: int) -> None:
    refusal = new_missions_refusal(blueprint, count, limit)
    if refusal is not None:
        raise refusal
