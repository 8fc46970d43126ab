"""The participation dashboard (`/admin/rapports`): the period at a glance, by clientele
and by participant MRC, month by month against the same months a year earlier, and the
progress of the action plan's targets.

Every number comes from the participation report (`reports.participation.participation`,
the API's): this module only chooses the groupings and the periods and puts the numbers
side by side. The one count the report does not give, the events held, is
`events_held` here. Permission `reports.view` (checked by `dashboard`, and again by
`participation`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery

from core.auth import Principal, authorize
from core.i18n import N_, _, format_month
from events.models import Event, EventStatus
from people.models import PlanItem
from reports.dashboard_filters import DashboardQuery, one_year_earlier
from reports.participation import ParticipationFilters, local_midnight, participation_many
from reports.targets import PlanProgress, plan_progress

# The cards, in order: (measure, label). "events" is counted here, the rest by the report.
CARDS = (
    ("events", N_("Événements tenus")),
    ("registrations", N_("Inscriptions")),
    ("attended_headcount", N_("Présences")),
    ("people", N_("Personnes jointes")),
    ("new_people", N_("Nouvelles personnes")),
    ("organizations", N_("Organismes joints")),
    ("attendance_rate", N_("Taux de présence")),
)
HELD_STATUSES = (EventStatus.PUBLISHED, EventStatus.COMPLETED)


@dataclass
class Card:
    measure: str
    label: str
    value: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        """The change from the previous period, as a share (None when not comparable)."""
        if self.value is None or self.previous in (None, 0):
            return None
        assert self.previous is not None
        if self.measure == "attendance_rate":
            return self.value - self.previous  # points, not a share of a share
        return (self.value - self.previous) / self.previous


@dataclass
class MonthLine:
    month: date
    label: str
    current: dict[str, Any]
    previous: dict[str, Any]


@dataclass
class Dashboard:
    query: DashboardQuery
    previous_from: date
    previous_to: date
    cards: list[Card]
    totals: dict[str, Any]
    previous_totals: dict[str, Any]
    by_clientele: list[dict[str, Any]]
    by_territory: list[dict[str, Any]]
    months: list[MonthLine]
    targets: PlanProgress | None = None


def _month_starts(first: date, last: date) -> list[date]:
    months, current = [], first.replace(day=1)
    while current <= last:
        months.append(current)
        current = (current + timedelta(days=32)).replace(day=1)
    return months


def _plan_descendants(items: list[dict[str, Any]], roots: list[int]) -> list[int]:
    children: dict[int | None, list[int]] = {}
    for item in items:
        children.setdefault(item["parent_id"], []).append(item["id"])
    found, stack = [], list(roots)
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


async def events_held(filters: ParticipationFilters, now: datetime) -> int:
    """Events over by `now`, not cancelled, starting within the filters' dates, of the
    filters' kind, edition, event and plan item (the participants' filters do not apply:
    an event is held whoever came). Editions with activities are counted through their
    activities, not themselves."""
    query = Event.filter(status__in=list(HELD_STATUSES), ends_at__lt=now).exclude(
        id__in=Subquery(Event.filter(parent_id__isnull=False).values("parent_id"))
    )
    if filters.date_from is not None:
        query = query.filter(starts_at__gte=local_midnight(filters.date_from))
    if filters.date_to is not None:
        query = query.filter(starts_at__lt=local_midnight(filters.date_to + timedelta(days=1)))
    if filters.kind is not None:
        query = query.filter(kind=filters.kind)
    if filters.event_id is not None:
        query = query.filter(id=filters.event_id)
    if filters.edition_id is not None:
        query = query.filter(Q(id=filters.edition_id) | Q(parent_id=filters.edition_id))
    if filters.plan_item is not None or filters.plan_id is not None:
        items = PlanItem.all()
        if filters.plan_id is not None:
            items = items.filter(plan_id=filters.plan_id)
        rows = await items.values("id", "parent_id", "code")
        roots = [
            r["id"]
            for r in rows
            if (r["code"] == filters.plan_item if filters.plan_item else r["parent_id"] is None)
        ]
        tagged = Event.filter(plan_items__id__in=_plan_descendants(rows, roots) or [0])
        query = query.filter(id__in=Subquery(tagged.values("id")))
    return await query.count()


async def dashboard(
    actor: Principal, query: DashboardQuery, now: datetime | None = None
) -> Dashboard:
    """The dashboard's numbers for `query`: the period's report by clientele, by MRC and by
    month (one statement), the previous period's by month (one statement), two counts, and
    the plan's targets (a grouped report and a count)."""
    authorize(actor, "reports.view")
    now = now or datetime.now(UTC)
    filters, previous = query.filters, query.previous()
    # Independent reads: on PostgreSQL they run side by side on the pool's connections
    # (SQLite has one connection: one after the other, as written).
    reports, counts, targets = await asyncio.gather(
        asyncio.gather(
            participation_many(actor, filters, [("clientele",), ("territory",), ("month",)]),
            participation_many(actor, previous, [("month",)]),
        ),
        asyncio.gather(events_held(filters, now), events_held(previous, now)),
        plan_progress(actor, query.year, now, query.plan_id),
    )
    (by_clientele, by_territory, this_months), (last_months,) = reports
    held, held_before = counts
    totals = dict(by_clientele.totals, events=held)
    previous_totals = dict(last_months.totals, events=held_before)
    cards = [
        Card(measure, _(label), totals.get(measure), previous_totals.get(measure))
        for measure, label in CARDS
    ]
    current_rows = {row["month"]: row for row in this_months.rows}
    previous_rows = {row["month"]: row for row in last_months.rows}
    starts = _month_starts(query.date_from, query.date_to)
    several_years = starts[0].year != starts[-1].year
    months = [
        MonthLine(
            month=start,
            label=format_month(start, with_year=several_years),
            current=current_rows.get(start.strftime("%Y-%m"), {}),
            previous=previous_rows.get(one_year_earlier(start).strftime("%Y-%m"), {}),
        )
        for start in starts
    ]
    return Dashboard(
        query=query,
        previous_from=previous.date_from or query.date_from,
        previous_to=previous.date_to or query.date_to,
        cards=cards,
        totals=totals,
        previous_totals=previous_totals,
        by_clientele=by_clientele.rows,
        by_territory=by_territory.rows,
        months=months,
        targets=targets,
    )
