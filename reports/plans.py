"""Action plans kept by the region: plans (one per period) and their item trees.

The one place for the tree rules (`row_errors`: a top-level item is an axis; a child is
deeper than its parent — axe > orientation > objectif > action, levels may be skipped, as
seed 004's "priorité > objectif > action"; codes unique in a plan) used by the back-office
forms, the JSON API and the CSV import (`reports.plan_csv`). Reading needs `reports.view`;
changing needs `events.edit` (the organizers and admins who tag events with the items).
Every change is audited. `axis` (the root ancestor; an axis is its own) is recomputed for
the plan after each change (`people.plans.fill_axes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import N_, _
from events.models import Event
from people import plans as people_plans
from people.models import Clientele, Plan, PlanItem, PlanLevel
from reports.schemas import PLAN_LEVELS, PlanIn, PlanItemIn, PlanItemOut, PlanOut

READ = "reports.view"
EDIT = "events.edit"
LEVEL_RANK = {level: rank for rank, level in enumerate(PLAN_LEVELS)}
LEVEL_LABELS = {
    "axis": N_("axe"),
    "orientation": N_("orientation"),
    "objective": N_("objectif"),
    "action": N_("action"),
}
# French words a CSV may use for the levels (the codes are accepted too).
LEVEL_WORDS = {
    "axe": "axis",
    "axis": "axis",
    "priorité": "axis",
    "priorite": "axis",
    "orientation": "orientation",
    "objectif": "objective",
    "objective": "objective",
    "action": "action",
    "moyen": "action",
}


def level_label(level: str) -> str:
    return _(LEVEL_LABELS[level]) if level in LEVEL_LABELS else level


def level_error(level: str, parent_level: str | None) -> str | None:
    """Why `level` cannot sit under `parent_level` (None: at the top), or None."""
    if parent_level is None:
        if level != PlanLevel.AXIS:
            return _("Un élément sans parent doit être un axe (niveau « axis »).")
        return None
    if LEVEL_RANK.get(level, -1) <= LEVEL_RANK.get(parent_level, 99):
        return _(
            "Le niveau « %(level)s » ne peut pas être sous un élément de niveau « %(parent)s ».",
            level=level_label(level),
            parent=level_label(parent_level),
        )
    return None


# --------------------------------------------------------------------------- reading


async def list_plans(actor: Principal) -> list[PlanOut]:
    authorize(actor, READ)
    plans = await Plan.all().order_by("-period_start", "-period_end", "-id")
    counts: dict[int, int] = {}
    for plan_id in await PlanItem.all().values_list("plan_id", flat=True):
        counts[int(plan_id)] = counts.get(int(plan_id), 0) + 1  # type: ignore[call-overload]
    return [plan_out(p, counts.get(p.id, 0)) for p in plans]


def plan_out(plan: Plan, items_count: int) -> PlanOut:
    return PlanOut(
        id=plan.id,
        name=plan.name,
        period_start=plan.period_start,
        period_end=plan.period_end,
        active=plan.active,
        created_at=plan.created_at,
        items_count=items_count,
    )


async def get_plan(actor: Principal, plan_id: int) -> Plan:
    authorize(actor, READ)
    plan = await Plan.get_or_none(id=plan_id)
    if plan is None:
        raise NotFound(_("Plan d'action introuvable."))
    return plan


@dataclass
class TreeRow:
    """One item in tree order, with its depth and its parent's and axis's codes."""

    item: PlanItem
    depth: int
    parent_code: str | None
    axis_code: str | None

    def out(self) -> PlanItemOut:
        item = self.item
        return PlanItemOut(
            id=item.id,
            code=item.code,
            level=item.level,  # type: ignore[arg-type]
            parent=self.parent_code,
            axis=self.axis_code,
            title=item.title,
            indicator=item.indicator,
            target=item.target,
            target_measure=item.target_measure,  # type: ignore[arg-type]
            clienteles=[c for c in item.clienteles.split(",") if c],
            position=item.position,
        )


def tree_rows(items: Iterable[PlanItem]) -> list[TreeRow]:
    """Items in tree order (each after its parent, siblings by position then code)."""
    ordered = sorted(items, key=lambda i: (i.position, i.code, i.id))
    codes = {i.id: i.code for i in ordered}
    rows: list[TreeRow] = []

    def walk(nodes: list[people_plans.PlanNode], depth: int) -> None:
        for node in nodes:
            item = node.item
            rows.append(
                TreeRow(
                    item,
                    depth,
                    codes.get(item.parent_id) if item.parent_id else None,
                    codes.get(item.axis_id) if item.axis_id else None,
                )
            )
            walk(node.children, depth + 1)

    walk(people_plans.build_tree(ordered), 0)
    return rows


async def plan_rows(actor: Principal, plan_id: int) -> tuple[Plan, list[TreeRow]]:
    plan = await get_plan(actor, plan_id)
    return plan, tree_rows(await PlanItem.filter(plan_id=plan.id))


async def get_item(actor: Principal, item_id: int, permission: str = READ) -> PlanItem:
    authorize(actor, permission)
    item = await PlanItem.get_or_none(id=item_id)
    if item is None:
        raise NotFound(_("Élément du plan introuvable."))
    return item


# --------------------------------------------------------------------------- rules


async def known_clienteles() -> set[str]:
    return set(await Clientele.all().values_list("code", flat=True))  # type: ignore[arg-type]


def row_errors(
    rows: Sequence[tuple[int, PlanItemIn]],
    existing: dict[str, PlanItem],
    clienteles: set[str],
) -> list[dict[str, Any]]:
    """Every problem of a set of rows for one plan, by line: nothing is written when any.

    `existing` holds the plan's items by code: a row with a known code updates it, and a
    parent may be in the rows or already in the plan.
    """
    errors: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    levels: dict[str, str] = {code: item.level for code, item in existing.items()}
    for line, row in rows:
        if row.code in first_line:
            errors.append(
                {
                    "line": line,
                    "error": _(
                        "Code en double : %(code)s (déjà à la ligne %(first)s).",
                        code=row.code,
                        first=first_line[row.code],
                    ),
                }
            )
            continue
        first_line[row.code] = line
        levels[row.code] = row.level
    for line, row in rows:
        if first_line.get(row.code) != line:
            continue
        problems: list[str] = []
        parent_level: str | None = None
        if row.parent:
            if row.parent == row.code:
                problems.append(_("Un élément ne peut pas être son propre parent."))
            elif row.parent not in levels:
                problems.append(_("Parent inconnu : %(code)s.", code=row.parent))
            else:
                parent_level = levels[row.parent]
        if not problems and (problem := level_error(row.level, parent_level)):
            problems.append(problem)
        unknown = [c for c in row.clienteles if c not in clienteles]
        if unknown:
            problems.append(_("Clientèle inconnue : %(codes)s.", codes=", ".join(unknown)))
        if row.target_measure and row.target is None:
            problems.append(_("Une mesure de la cible demande une cible."))
        errors.extend({"line": line, "error": p} for p in problems)
    # Items the rows leave alone must still fit under a parent whose level a row changed.
    codes_by_id = {item.id: code for code, item in existing.items()}
    for code, item in existing.items():
        parent_code = codes_by_id.get(item.parent_id) if item.parent_id else None
        if code in first_line or parent_code not in first_line:
            continue
        if problem := level_error(item.level, levels[parent_code]):
            errors.append(
                {
                    "line": first_line[parent_code],
                    "error": _("%(code)s : %(problem)s", code=code, problem=problem),
                }
            )
    return sorted(errors, key=lambda e: e["line"])


def _columns(row: PlanItemIn, fields: set[str] | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "level": row.level,
        "title": row.title,
        "indicator": row.indicator,
        "target": row.target,
        "target_measure": row.target_measure,
        "clienteles": ",".join(row.clienteles),
    }
    if fields is not None:  # a CSV without a column leaves what the plan holds
        values = {k: v for k, v in values.items() if k in fields or k in ("level", "title")}
    return values


@dataclass
class ApplyCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


async def apply_rows(
    plan: Plan, rows: Sequence[tuple[int, PlanItemIn]], fields: set[str] | None = None
) -> ApplyCounts:
    """Write validated rows into a plan, in order (inside the caller's transaction).

    A known code is updated (its position becomes the row's), a new one created; items
    of the plan that the rows do not name are left as they are."""
    existing = {i.code: i for i in await PlanItem.filter(plan_id=plan.id)}
    counts = ApplyCounts()
    for position, (_line, row) in enumerate(rows, start=1):
        parent = existing.get(row.parent) if row.parent else None
        values = _columns(row, fields)
        values["parent_id"] = parent.id if parent else None
        values["position"] = position
        item = existing.get(row.code)
        if item is None:
            existing[row.code] = await PlanItem.create(plan=plan, code=row.code, **values)
            counts.created += 1
            continue
        changed = {k: v for k, v in values.items() if getattr(item, k) != v}
        if not changed:
            counts.unchanged += 1
            continue
        await PlanItem.filter(id=item.id).update(**changed)
        for key, value in changed.items():
            setattr(item, key, value)
        counts.updated += 1
    await people_plans.fill_axes(plan.id)
    return counts


def refused(errors: list[dict[str, Any]]) -> ValidationFailed:
    fields = {f"ligne {e['line']}": e["error"] for e in errors[:50]}
    return ValidationFailed(
        _("Le plan n'a pas été enregistré : %(n)s erreur(s).", n=len(errors)),
        code="invalid_plan",
        fields=fields,
        extra={"lines": errors[:500]},
    )


# --------------------------------------------------------------------------- plans


def _check_period(data: PlanIn) -> None:
    if data.period_end < data.period_start:
        raise ValidationFailed(fields={"period_end": _("La fin de la période précède son début.")})


async def create_plan(actor: Principal, data: PlanIn, items: Sequence[PlanItemIn] = ()) -> Plan:
    authorize(actor, EDIT)
    _check_period(data)
    rows = list(enumerate(items, start=1))
    errors = row_errors(rows, {}, await known_clienteles()) if rows else []
    if errors:
        raise refused(errors)
    async with in_transaction():
        plan = await Plan.create(**data.model_dump())
        counts = await apply_rows(plan, rows) if rows else ApplyCounts()
        await audit(actor, "plan.created", plan, {"name": plan.name, "items": counts.created})
    return plan


async def update_plan(actor: Principal, plan_id: int, data: PlanIn) -> Plan:
    authorize(actor, EDIT)
    _check_period(data)
    async with in_transaction():
        plan = await get_plan(actor, plan_id)
        changes = {k: v for k, v in data.model_dump().items() if getattr(plan, k) != v}
        if changes:
            await Plan.filter(id=plan.id).update(**changes)
            for key, value in changes.items():
                setattr(plan, key, value)
            await audit(actor, "plan.updated", plan, {"changes": sorted(changes)})
    return plan


async def tagged_count(item_ids: list[int]) -> int:
    """How many events (and campaigns) are tagged with any of these items."""
    if not item_ids:
        return 0
    count = await Event.filter(plan_items__id__in=item_ids).distinct().count()
    from campaigns.models import Campaign

    return count + await Campaign.filter(plan_items__id__in=item_ids).distinct().count()


async def delete_plan(actor: Principal, plan_id: int) -> None:
    """Refused while events or campaigns are tagged with its items (deactivate it instead)."""
    authorize(actor, EDIT)
    async with in_transaction():
        plan = await get_plan(actor, plan_id)
        ids = list(await PlanItem.filter(plan_id=plan.id).values_list("id", flat=True))
        if used := await tagged_count(ids):  # type: ignore[arg-type]
            raise Conflict(
                _(
                    "Ce plan est utilisé par %(n)s événement(s) ou campagne(s) : "
                    "désactivez-le plutôt.",
                    n=used,
                ),
                code="plan_in_use",
            )
        await audit(actor, "plan.deleted", plan, {"name": plan.name, "items": len(ids)})
        await PlanItem.filter(plan_id=plan.id).update(axis_id=None, parent_id=None)
        await PlanItem.filter(plan_id=plan.id).delete()
        await plan.delete()


# --------------------------------------------------------------------------- items


async def _plan_items(plan_id: int) -> dict[str, PlanItem]:
    return {i.code: i for i in await PlanItem.filter(plan_id=plan_id)}


async def add_item(actor: Principal, plan_id: int, data: PlanItemIn) -> PlanItem:
    """A new item at the end of its parent's children."""
    authorize(actor, EDIT)
    async with in_transaction():
        plan = await get_plan(actor, plan_id)
        existing = await _plan_items(plan.id)
        if data.code in existing:
            raise ValidationFailed(
                fields={"code": _("Ce code existe déjà dans ce plan : %(code)s.", code=data.code)}
            )
        errors = row_errors([(1, data)], existing, await known_clienteles())
        if errors:
            raise ValidationFailed(fields={_field_of(e["error"]): e["error"] for e in errors})
        parent = existing.get(data.parent) if data.parent else None
        siblings = [i for i in existing.values() if i.parent_id == (parent.id if parent else None)]
        item = await PlanItem.create(
            plan=plan,
            code=data.code,
            parent=parent,
            axis_id=parent.axis_id if parent else None,
            position=max((i.position for i in siblings), default=0) + 1,
            **_columns(data, None),
        )
        await people_plans.fill_axes(plan.id)
        await audit(actor, "plan_item.created", item, {"code": item.code, "plan": plan.id})
    return item


def _field_of(message: str) -> str:
    """The form field a rule's message is about (for the inline forms)."""
    lowered = message.lower()
    if "parent" in lowered:
        return "parent"
    if "clientèle" in lowered:
        return "clienteles"
    if "cible" in lowered:
        return "target"
    return "level"


async def update_item(actor: Principal, item_id: int, data: PlanItemIn) -> PlanItem:
    """Change an item (its code, level, parent, texts, target); its children follow."""
    authorize(actor, EDIT)
    async with in_transaction():
        item = await get_item(actor, item_id, EDIT)
        existing = await _plan_items(item.plan_id)
        if data.code != item.code and data.code in existing:
            raise ValidationFailed(
                fields={"code": _("Ce code existe déjà dans ce plan : %(code)s.", code=data.code)}
            )
        others = {c: i for c, i in existing.items() if i.id != item.id}
        errors = row_errors([(1, data)], others, await known_clienteles())
        parent = others.get(data.parent) if data.parent else None
        if not errors and parent is not None and _descends_from(parent, item, existing):
            errors = [{"line": 1, "error": _("Un élément ne peut pas être sous son descendant.")}]
        if not errors:
            for child in (i for i in others.values() if i.parent_id == item.id):
                if problem := level_error(child.level, data.level):
                    errors.append({"line": 1, "error": problem})
                    break
        if errors:
            raise ValidationFailed(fields={_field_of(e["error"]): e["error"] for e in errors})
        values = _columns(data, None)
        values["code"] = data.code
        values["parent_id"] = parent.id if parent else None
        if values["parent_id"] != item.parent_id:  # to the end of its new siblings
            siblings = [i for i in others.values() if i.parent_id == values["parent_id"]]
            values["position"] = max((i.position for i in siblings), default=0) + 1
        changes = {k: v for k, v in values.items() if getattr(item, k) != v}
        if changes:
            await PlanItem.filter(id=item.id).update(**changes)
            for key, value in changes.items():
                setattr(item, key, value)
            await people_plans.fill_axes(item.plan_id)
            await audit(
                actor, "plan_item.updated", item, {"code": item.code, "changes": sorted(changes)}
            )
    return item


def _descends_from(candidate: PlanItem, item: PlanItem, by_code: dict[str, PlanItem]) -> bool:
    parents = {i.id: i.parent_id for i in by_code.values()}
    current: int | None = candidate.id
    seen: set[int] = set()
    while current is not None and current not in seen:
        if current == item.id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


async def delete_item(actor: Principal, item_id: int) -> int:
    """Delete an item and its sub-items; refused while any is tagged. Returns the plan id."""
    authorize(actor, EDIT)
    async with in_transaction():
        item = await get_item(actor, item_id, EDIT)
        items = list(await PlanItem.filter(plan_id=item.plan_id))
        parents = {i.id: i.parent_id for i in items}
        subtree = [i.id for i in items if _under(i.id, item.id, parents)]
        if used := await tagged_count(subtree):
            raise Conflict(
                _(
                    "Cet élément (ou un sous-élément) est associé à %(n)s événement(s) ou "
                    "campagne(s).",
                    n=used,
                ),
                code="plan_item_in_use",
            )
        await audit(actor, "plan_item.deleted", item, {"code": item.code, "items": len(subtree)})
        await PlanItem.filter(id__in=subtree).update(axis_id=None, parent_id=None)
        await PlanItem.filter(id__in=subtree).delete()
    return item.plan_id


def _under(item_id: int, root_id: int, parents: dict[int, int | None]) -> bool:
    current: int | None = item_id
    seen: set[int] = set()
    while current is not None and current not in seen:
        if current == root_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


async def move_item(actor: Principal, item_id: int, direction: str) -> PlanItem:
    """Swap an item with its previous or next sibling (display order)."""
    authorize(actor, EDIT)
    async with in_transaction():
        item = await get_item(actor, item_id, EDIT)
        siblings = sorted(
            await PlanItem.filter(plan_id=item.plan_id, parent_id=item.parent_id),
            key=lambda i: (i.position, i.code, i.id),
        )
        index = next(n for n, s in enumerate(siblings) if s.id == item.id)
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(siblings):
            siblings[index], siblings[other] = siblings[other], siblings[index]
            for position, sibling in enumerate(siblings, start=1):
                if sibling.position != position:
                    await PlanItem.filter(id=sibling.id).update(position=position)
            await audit(actor, "plan_item.moved", item, {"code": item.code, "to": direction})
    return item
