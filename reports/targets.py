"""Progress toward the action plan's targets (the dashboard's last section).

An action of a plan may have a target ("200 employeurs certifiés") and the measure that
counts toward it (`PlanItem.target_measure`). Its progress is that measure over the plan's
whole period (from 1 January of its first year to today, or to its last day when over),
for the events tagged with the action — whatever the dashboard's other filters: a target
is the plan's, not a view's. People, presences, registrations and organizations come from
the participation report grouped by plan item (one query); events held are counted here
(one query); certified employers (certificates in force on the period's last day, of the
programs tagged with the action) come from `campaigns.certification.stats` (one query).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from campaigns.certification.stats import certified_by_plan_item
from core.auth import Principal, authorize
from core.i18n import N_, _, to_local
from events.models import Event, EventStatus
from people.models import Plan, PlanItem
from people.plans import plan_for_year
from reports.participation import ParticipationFilters, local_midnight, participation

REPORTED = ("people", "attended_headcount", "registrations", "organizations")
MEASURE_LABELS = {
    "people": N_("personnes jointes"),
    "attended_headcount": N_("présences"),
    "registrations": N_("inscriptions"),
    "organizations": N_("organismes joints"),
    "events": N_("événements tenus"),
    "certified_employers": N_("employeurs certifiés"),
}
HELD = (EventStatus.PUBLISHED, EventStatus.COMPLETED)


async def certified_by_code(on: date) -> dict[str, int]:
    """Employers holding a certificate in force on `on`, by plan-item code of the
    certification programs tagged with it."""
    return {str(row["plan_item"]): row["employers"] for row in await certified_by_plan_item(on=on)}


def target_measure_label(measure: str) -> str:
    return _(MEASURE_LABELS[measure]) if measure in MEASURE_LABELS else measure


def target_value(
    measure: str | None, reach: dict[str, Any], events: int, certified: int
) -> int | None:
    """What counts toward an action's target, by its measure (the one rule the dashboard's
    targets and the accountability report share): a measure of the participation report
    (`reach`, the action's row; absent: 0; None where masked), the events held, or the
    employers certified; None for a measure not computed here."""
    if measure in REPORTED:
        value = reach.get(measure, 0)
        return None if value is None else int(value)
    if measure == "events":
        return events
    if measure == "certified_employers":
        return certified
    return None


def target_share(value: int | None, target: int | None) -> float | None:
    """The share of the target reached (may exceed 1); None when either is unknown."""
    if value is None or not target or target <= 0:
        return None
    return value / target


@dataclass
class TargetLine:
    code: str
    title: str
    indicator: str
    measure: str
    target: int
    value: int | None  # None: not measured here

    @property
    def share(self) -> float | None:
        return target_share(self.value, self.target)


@dataclass
class PlanProgress:
    plan_id: int
    plan_name: str
    date_from: date
    date_to: date
    lines: list[TargetLine] = field(default_factory=list)


async def _events_by_item(item_ids: list[int], start: date, end: date, now: datetime) -> Counter:
    """Events held within the dates, by plan item they are tagged with (one query)."""
    pairs = await Event.filter(
        plan_items__id__in=item_ids,
        status__in=list(HELD),
        ends_at__lt=now,
        starts_at__gte=local_midnight(start),
        starts_at__lt=local_midnight(date.fromordinal(end.toordinal() + 1)),
    ).values_list("id", "plan_items__id")
    return Counter(item_id for _event_id, item_id in set(pairs))


async def plan_progress(
    actor: Principal, year: int, now: datetime, plan_id: int | None = None
) -> PlanProgress | None:
    """The targets of the plan `plan_id` (default: the year's plan) and their progress;
    None when there is no plan."""
    authorize(actor, "reports.view")
    plan = await Plan.get_or_none(id=plan_id) if plan_id is not None else None
    plan = plan or await plan_for_year(year)
    if plan is None:
        return None
    today = to_local(now).date()
    start = date(plan.period_start, 1, 1)
    end = min(date(plan.period_end, 12, 31), max(today, start))
    progress = PlanProgress(plan.id, plan.name, start, end)
    items = [
        item
        for item in await PlanItem.filter(plan_id=plan.id, target__isnull=False).order_by(
            "position", "code"
        )
        if item.target_measure
    ]
    if not items:
        return progress
    values: dict[str, dict[str, int]] = {}
    if any(item.target_measure in REPORTED for item in items):
        report = await participation(
            actor,
            ParticipationFilters(date_from=start, date_to=end, plan_id=plan.id),
            ("plan_item",),
        )
        values = {str(row["plan_item"]): row for row in report.rows if row["plan_item"]}
    certified: dict[str, int] = {}
    if any(item.target_measure == "certified_employers" for item in items):
        certified = await certified_by_code(end)
    events: Counter = Counter()
    if any(item.target_measure == "events" for item in items):
        events = await _events_by_item([item.id for item in items], start, end, now)
    for item in items:
        measure = item.target_measure
        value = target_value(
            measure, values.get(item.code, {}), events.get(item.id, 0), certified.get(item.code, 0)
        )
        progress.lines.append(
            TargetLine(item.code, item.title, item.indicator, measure, int(item.target or 0), value)
        )
    return progress
