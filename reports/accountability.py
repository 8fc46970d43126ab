"""The accountability report (reddition de comptes, issue 15 item 4): for a plan and a
period, per plan item in tree order (actions under their objective and axis), the events
tagged with it and their reach by clientele and by participant MRC, the campaigns tagged
with it and their funnel, and the indicator with its target and progress.

The numbers are `reports.participation`'s (one definition of registrations, attended
heads and people for the dashboard, the API and this report): an item's figures count the
events tagged with it or with any item under it, in the period (events start dates, local
time, both days included). `mask_below=5` hides the cells of fewer than 5 people, for
reports given to outside partners (`participation.mask`; campaign figures under 5 too).

Progress toward a target: the item's `target_measure` names the measure that counts
("people", "attended_headcount", "registrations", "organizations", "events",
"certified_employers": certificates in force on the period's last day, from
`reports.targets.certified_by_code`).

Each event line also carries its evaluation (`evaluations.results.evaluation_summary`):
mean satisfaction and response rate, hidden when masked and fewer than 5 answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from campaigns.funnel import funnel
from campaigns.models import Campaign
from core.auth import Principal, authorize
from core.errors import ValidationFailed
from core.i18n import _
from core.settings import local_tz
from evaluations.results import EvaluationSummary, evaluation_summary
from events.models import Event, EventStatus
from people.models import Plan, PlanItem
from reports import plans
from reports.participation import ParticipationFilters, local_midnight, participation
from reports.targets import certified_by_code, target_share, target_value

REACH = ("registrations", "attended_headcount", "people")
MASK = 5


@dataclass
class EventLine:
    id: int
    title: str
    starts_at: Any
    figures: dict[str, Any]
    evaluation: EvaluationSummary | None = None  # None: no form, or masked


@dataclass
class CampaignLine:
    id: int
    name: str
    status: str
    sent: int | str | None  # "< 5" when masked
    accepted: int | str | None
    registered: int | str | None


@dataclass
class ItemReport:
    row: plans.TreeRow
    totals: dict[str, Any] = field(default_factory=dict)
    by_clientele: list[dict[str, Any]] = field(default_factory=list)
    by_territory: list[dict[str, Any]] = field(default_factory=list)
    events: list[EventLine] = field(default_factory=list)
    events_count: int = 0
    campaigns: list[CampaignLine] = field(default_factory=list)
    progress: dict[str, Any] | None = None

    @property
    def item(self) -> PlanItem:
        return self.row.item

    @property
    def reached(self) -> bool:
        return bool(self.events_count or self.campaigns)


@dataclass
class Accountability:
    plan: Plan
    date_from: date
    date_to: date
    masked: bool
    items: list[ItemReport]
    totals: dict[str, Any]


def default_period(plan: Plan) -> tuple[date, date]:
    return date(plan.period_start, 1, 1), date(plan.period_end, 12, 31)


def _subtrees(rows: list[plans.TreeRow]) -> dict[int, set[int]]:
    """Each item's id with the ids of every item under it."""
    children: dict[int | None, list[int]] = {}
    for row in rows:
        children.setdefault(row.item.parent_id, []).append(row.item.id)
    found: dict[int, set[int]] = {}

    def collect(item_id: int) -> set[int]:
        if item_id not in found:
            ids = {item_id}
            for child in children.get(item_id, []):
                ids |= collect(child)
            found[item_id] = ids
        return found[item_id]

    for row in rows:
        collect(row.item.id)
    return found


def _progress(
    item: PlanItem, totals: dict[str, Any], events: int, certified: dict[str, int]
) -> dict[str, Any] | None:
    if not item.target:
        return None
    measure = item.target_measure
    value = target_value(measure, totals, events, certified.get(item.code, 0))
    share = target_share(value, item.target)
    ratio = round(share, 4) if share is not None else None
    return {"measure": measure, "value": value, "target": item.target, "ratio": ratio}


def _masked(value: int | None, mask: bool) -> int | str | None:
    return f"< {MASK}" if mask and value is not None and value < MASK else value


async def _campaign_lines(
    item_ids: set[int], start: Any, end: Any, mask: bool
) -> list[CampaignLine]:
    campaigns = (
        await Campaign.filter(plan_items__id__in=list(item_ids))
        .distinct()
        .select_related("audience")
        .order_by("created_at", "id")
    )
    lines = []
    for campaign in campaigns:
        moment = campaign.started_at or campaign.scheduled_at or campaign.created_at
        if not start <= moment < end:
            continue
        figures = await funnel(campaign)
        lines.append(
            CampaignLine(
                campaign.id,
                campaign.name,
                str(campaign.status),
                _masked(figures["sent"], mask),
                _masked(figures["accepted"], mask),
                _masked(figures["registered"], mask),
            )
        )
    return lines


async def accountability(
    actor: Principal,
    plan_id: int,
    date_from: date | None = None,
    date_to: date | None = None,
    *,
    mask: bool = False,
) -> Accountability:
    """The report's table: every item of the plan, in tree order, with its reach."""
    authorize(actor, "reports.view")
    plan, rows = await plans.plan_rows(actor, plan_id)
    first, last = default_period(plan)
    date_from, date_to = date_from or first, date_to or last
    if date_to < date_from:
        raise ValidationFailed(fields={"to": _("La fin de la période précède son début.")})
    start, end = local_midnight(date_from), local_midnight(date_to) + timedelta(days=1)
    mask_below = MASK if mask else 0
    subtrees = _subtrees(rows)

    # The events of the period tagged with an item of the plan: item id -> event ids.
    tagged: dict[int, set[int]] = {}
    events: dict[int, Event] = {}
    found = (
        await Event.filter(
            plan_items__plan_id=plan.id,
            starts_at__gte=start,
            starts_at__lt=end,
        )
        .exclude(status=EventStatus.CANCELLED)
        .distinct()
        .prefetch_related("plan_items")
        .order_by("starts_at", "id")
    )
    for event in found:
        events[event.id] = event
        for item in event.plan_items:
            tagged.setdefault(item.id, set()).add(event.id)

    base = ParticipationFilters(date_from=date_from, date_to=date_to, plan_id=plan.id)
    certified: dict[str, int] = {}
    if any(row.item.target and row.item.target_measure == "certified_employers" for row in rows):
        certified = await certified_by_code(min(date_to, local_day(datetime.now(UTC))))
    evaluations: dict[int, EvaluationSummary | None] = {}
    per_event: dict[int, dict[str, Any]] = {}
    reports: list[ItemReport] = []
    for row in rows:
        report = ItemReport(row)
        subtree = subtrees[row.item.id]
        event_ids = set().union(*(tagged.get(i, set()) for i in subtree))
        report.events_count = len(event_ids)
        if event_ids:
            filters = replace(base, plan_item=row.item.code)
            by_clientele = await participation(
                actor, filters, ("clientele",), mask_below=mask_below
            )
            by_territory = await participation(
                actor, filters, ("territory",), mask_below=mask_below
            )
            report.totals = by_clientele.totals
            report.by_clientele = by_clientele.rows
            report.by_territory = by_territory.rows
            for event_id in sorted(
                tagged.get(row.item.id, set()), key=lambda i: (events[i].starts_at, i)
            ):
                if event_id not in per_event:
                    one = await participation(
                        actor,
                        replace(base, event_id=event_id),
                        mask_below=mask_below,
                    )
                    per_event[event_id] = one.totals
                    summary = await evaluation_summary(event_id)
                    if summary is not None and mask and summary.responses < MASK:
                        summary = None
                    evaluations[event_id] = summary
                event = events[event_id]
                report.events.append(
                    EventLine(
                        event.id,
                        event.title,
                        event.starts_at,
                        per_event[event_id],
                        evaluations[event_id],
                    )
                )
        report.campaigns = await _campaign_lines(subtree, start, end, mask)
        report.progress = _progress(row.item, report.totals, report.events_count, certified)
        reports.append(report)
    overall = await participation(actor, base, mask_below=mask_below)
    return Accountability(plan, date_from, date_to, mask, reports, overall.totals)


def local_day(moment: Any) -> date:
    return moment.astimezone(local_tz()).date()
