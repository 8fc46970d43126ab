"""Which action plan a plan-item code belongs to, and the plan's tree.

Codes are unique within a plan only ("1.1.3" may exist in the 2023-2028 plan and in the
next one). Events (and campaigns) are tagged by code; a code is resolved in ONE plan:
an explicit plan when the caller names it, otherwise the plan of the year (`plan_for_year`:
the active plan whose period contains the year, newest first; else the most recent active
plan). Editing (`reports.plans`) and import (`reports.plan_csv`) live in `reports`; this
module is what `people` and `events` need to read and tag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from people.models import Plan, PlanItem

DEFAULT_PLAN_NAME = "Plan d'action régional 2023-2028"
DEFAULT_PLAN_PERIOD = (2023, 2028)


async def default_plan() -> Plan:
    """The plan seed 003's tree goes to (the one migration 0006 created), made when missing."""
    plan = await Plan.filter(name=DEFAULT_PLAN_NAME).order_by("id").first()
    if plan is None:
        start, end = DEFAULT_PLAN_PERIOD
        plan = await Plan.create(name=DEFAULT_PLAN_NAME, period_start=start, period_end=end)
    return plan


async def plan_by_id(plan_id: int | str | None) -> Plan | None:
    """A plan by id (as typed in a form: "" or junk gives None)."""
    try:
        number = int(plan_id) if plan_id not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if number is None or not 0 < number < 2**31:
        return None
    return await Plan.get_or_none(id=number)


async def plan_for_year(year: int | None = None) -> Plan | None:
    """The active plan whose period contains `year` (newest first), else the newest active one."""
    active = Plan.filter(active=True).order_by("-period_start", "-period_end", "-id")
    if year is not None:
        plan = await active.filter(period_start__lte=year, period_end__gte=year).first()
        if plan is not None:
            return plan
    return await active.first()


async def resolve_codes(
    codes: Iterable[str], *, year: int | None = None, plan_id: int | None = None
) -> tuple[list[PlanItem], list[str]]:
    """The items the codes name in one plan (explicit, else the year's), and the unknown codes."""
    wanted = list(dict.fromkeys(c for c in codes if c))
    if not wanted:
        return [], []
    plan = await Plan.get_or_none(id=plan_id) if plan_id is not None else await plan_for_year(year)
    if plan is None:
        return [], wanted
    found = {p.code: p for p in await PlanItem.filter(plan_id=plan.id, code__in=wanted)}
    return [found[c] for c in wanted if c in found], [c for c in wanted if c not in found]


def axis_of(item_id: int, parents: dict[int, int | None]) -> int:
    """The root ancestor of an item, from {id: parent_id} (an axis is its own root)."""
    seen = {item_id}
    current = item_id
    while (parent := parents.get(current)) is not None and parent not in seen:
        seen.add(parent)
        current = parent
    return current


async def fill_axes(plan_id: int) -> int:
    """Recompute `axis` for every item of a plan; returns how many rows changed."""
    items = await PlanItem.filter(plan_id=plan_id).only("id", "parent_id", "axis_id")
    parents = {item.id: item.parent_id for item in items}
    changed = 0
    for item in items:
        axis = axis_of(item.id, parents)
        if item.axis_id != axis:
            await PlanItem.filter(id=item.id).update(axis_id=axis)
            changed += 1
    return changed


@dataclass
class PlanNode:
    item: PlanItem
    children: list[PlanNode] = field(default_factory=list)


def build_tree(items: Iterable[PlanItem]) -> list[PlanNode]:
    """Items (in display order) as a forest: children under their parent, in order."""
    ordered = list(items)
    nodes = {item.id: PlanNode(item) for item in ordered}
    roots: list[PlanNode] = []
    for item in ordered:
        parent_id = item.parent_id
        if parent_id in nodes:
            nodes[parent_id].children.append(nodes[item.id])
        else:
            roots.append(nodes[item.id])
    return roots


async def plan_tree(plan_id: int | None = None) -> list[PlanNode]:
    """The tree of a plan (default: the current year's plan); empty when there is none."""
    if plan_id is None:
        plan = await plan_for_year(None)
        if plan is None:
            return []
        plan_id = plan.id
    return build_tree(await PlanItem.filter(plan_id=plan_id).order_by("position", "code", "id"))
