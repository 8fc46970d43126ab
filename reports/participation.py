"""Participation: whom the events reached, grouped by one or two keys (issue 15, item 2).

One query (`reports.participation_sql`), aggregated in SQL (GROUP BY), the same on SQLite
and PostgreSQL; Python only names the groups and computes the rate of each row.

What is counted (the definitions the reports, the API and the exports share):

- The set: the registrations with status *confirmed* (which includes those checked in and
  the walk-ins, always confirmed) of the events the filters keep. Waitlisted registrations,
  those awaiting approval or the confirmation e-mail, declined and cancelled ones are not
  counted: they hold no place at the event (a registration cancelled after its check-in
  is not counted either). Dates filter on the event's start, in the local time zone, both
  days included. An edition filter keeps the edition and its events.
- `registrations`: how many registrations of the set.
- `headcount`: the heads they bring (sum of party sizes).
- `attended_headcount`: heads present, per day: each active (not undone) check-in counts
  its registration's party size, so a group of 3 checked in on both days of a two-day
  event counts 6.
- `attendance_rate`: of the heads expected at events that have started, the share that
  came at least once (heads of registrations with an active check-in / headcount of the
  registrations of started events); None when no event of the group has started. Counted
  once per registration, it stays within 0–1 on multi-day events.
- `walkins`: registrations made at the door (source *walkin*).
- `no_shows`: registrations of events that are over with no active check-in.
- `people`: distinct people; `organizations`: distinct organizations named by the
  registrations (none: not counted).
- `new_people`: distinct people of the set for whom one of their registrations in the set
  is their first participation ever — no counted registration of theirs, at any event,
  whatever the filters, is for an event that started earlier.
- Erased people (`Person.erased_at`) keep their anonymized registrations: they stay
  counted, anonymously; nothing here reads a name or an e-mail.

Group keys: `clientele`, `territory` (the participant's MRC, on the registration),
`region` (that MRC's region), `event_territory` (the event's MRC), `sector` (of the
registration's organization), `kind` (of event), `plan_item` and `axis` (the event's
plan items and their root axes: an event tagged with several items counts in each of
them, so those rows do not add up to the totals), `month` (of the event's start, local
time) and `edition` (the event's parent). A group whose value is not stated has the value
None and the label "Non précisé". Totals are computed over the whole set, never summed
from rows (people counted in two groups count once).

Privacy: aggregates only. `mask_below=n` hides every measure of a row (and of the totals)
counting fewer than n people, and then at least one more row, so a hidden row cannot be
recovered by subtracting the others from the totals (exports for outside partners).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from core.auth import Principal, authorize
from core.errors import NotFound, ValidationFailed
from core.i18n import gettext as _
from core.settings import local_tz
from events.models import Event
from people.models import Clientele, PlanItem, Sector, Territory, TerritoryKind
from reports import participation_sql as q
from reports.participation_labels import label_rows

GROUP_KEYS = (
    "clientele",
    "territory",
    "region",
    "event_territory",
    "sector",
    "kind",
    "plan_item",
    "axis",
    "month",
    "edition",
)
MEASURES = (
    "registrations",
    "headcount",
    "attended_headcount",
    "attendance_rate",
    "walkins",
    "no_shows",
    "people",
    "new_people",
    "organizations",
)
MAX_GROUP_KEYS = 2


@dataclass(frozen=True)
class ParticipationFilters:
    date_from: date | None = None  # on the event's start date (local time), inclusive
    date_to: date | None = None
    kind: str | None = None
    event_id: int | None = None
    edition_id: int | None = None
    clientele: str | None = None
    territory: str | None = None  # participant MRC code (a region code: its MRCs)
    sector: str | None = None
    plan_item: str | None = None  # an axis / objective includes its descendants' events
    plan_id: int | None = None


@dataclass
class Participation:
    group_by: tuple[str, ...]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]


def local_midnight(day: date) -> datetime:
    """The start of a local day, in UTC: bound values are compared with stored UTC
    datetimes (on SQLite, as text: every bound datetime must be in UTC)."""
    return datetime.combine(day, time.min, tzinfo=local_tz()).astimezone(UTC)


def _months(first: datetime, last: datetime) -> list[tuple[str, datetime, datetime]]:
    """(YYYY-MM, start, end) of every local month from `first` to `last`."""
    start = first.astimezone(local_tz()).date().replace(day=1)
    end = last.astimezone(local_tz()).date()
    months = []
    while start <= end:
        following = (start + timedelta(days=32)).replace(day=1)
        months.append((start.strftime("%Y-%m"), local_midnight(start), local_midnight(following)))
        start = following
    return months


async def _plan_item_ids(code: str | None, plan_id: int | None) -> list[int] | None:
    """The plan items a plan-item / plan filter keeps: the item(s) and their descendants."""
    if code is None and plan_id is None:
        return None
    items = await PlanItem.all().values("id", "parent_id", "code", *_plan_column())
    children: dict[int | None, list[int]] = {}
    for item in items:
        children.setdefault(item["parent_id"], []).append(item["id"])
    if code is not None:
        roots = [i["id"] for i in items if i["code"] == code]
        if not roots:
            raise ValidationFailed(fields={"plan_item": _("Élément du plan inconnu.")})
    else:
        roots = [i["id"] for i in items if i["parent_id"] is None]
    if plan_id is not None and _plan_column():
        roots = [i["id"] for i in items if i["id"] in roots and i.get("plan_id") == plan_id]
    found: list[int] = []
    stack = list(roots)
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return sorted(found)


def _plan_column() -> tuple[str, ...]:
    """("plan_id",) once plan items belong to a plan; () before."""
    return ("plan_id",) if "plan_id" in PlanItem._meta.fields_db_projection else ()


async def _where(filters: ParticipationFilters) -> q.Where:
    where = q.Where()
    if filters.date_from is not None:
        where.add("e.starts_at >= ?", local_midnight(filters.date_from))
    if filters.date_to is not None:
        where.add("e.starts_at < ?", local_midnight(filters.date_to + timedelta(days=1)))
    if filters.kind is not None:
        where.add("e.kind = ?", filters.kind)
    if filters.event_id is not None:
        where.add("e.id = ?", filters.event_id)
    if filters.edition_id is not None:
        where.add("(e.id = ? OR e.parent_id = ?)", filters.edition_id, filters.edition_id)
    if filters.clientele is not None:
        clientele = await Clientele.get_or_none(code=filters.clientele)
        if clientele is None:
            raise ValidationFailed(fields={"clientele": _("Clientèle inconnue.")})
        where.add("r.clientele_id = ?", clientele.id)
    if filters.territory is not None:
        territory = await Territory.get_or_none(code=filters.territory)
        if territory is None:
            raise ValidationFailed(fields={"territory": _("Territoire inconnu.")})
        ids = [territory.id]
        if territory.kind == TerritoryKind.REGION:
            children = await Territory.filter(parent_id=territory.id).values("id")
            ids += [child["id"] for child in children]
        where.add_in("r.territory_id", ids)
    if filters.sector is not None:
        if filters.sector not in {s.value for s in Sector}:
            raise ValidationFailed(fields={"sector": _("Secteur inconnu.")})
        where.add("o.sector = ?", filters.sector)
        where.needs_organization = True
    items = await _plan_item_ids(filters.plan_item, filters.plan_id)
    if items is not None:
        where.tag_items = items
        if items:
            marks = ", ".join("?" for _ in items)
            where.add(
                "e.id IN (SELECT events_event_id FROM events_event_plan_item "  # noqa: S608
                f"WHERE planitem_id IN ({marks}))",
                *items,
            )
        else:
            where.add("1 = 0")
    return where


async def _month_range(filters: ParticipationFilters) -> list[tuple[str, datetime, datetime]]:
    """The months the month key may meet: the filter's dates, narrowed to the events' span
    (so a wide filter does not make a CASE of centuries)."""
    earliest = await Event.all().order_by("starts_at").first()
    latest = await Event.all().order_by("-starts_at").first()
    if earliest is None or latest is None:
        return []
    first, last = earliest.starts_at, latest.starts_at
    if filters.date_from is not None:
        first = max(first, local_midnight(filters.date_from))
    if filters.date_to is not None:
        last = min(last, local_midnight(filters.date_to + timedelta(days=1)) - timedelta(seconds=1))
    if first > last:
        return []
    return _months(first, last)


def check_group_by(group_by: Sequence[str]) -> tuple[str, ...]:
    keys = tuple(group_by)
    unknown = [k for k in keys if k not in GROUP_KEYS]
    if unknown or len(keys) > MAX_GROUP_KEYS or len(set(keys)) != len(keys):
        raise ValidationFailed(
            fields={"group_by": _("Regroupement invalide : au plus deux clés parmi la liste.")}
        )
    return keys


def _measures(raw: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {name: int(raw.get(name) or 0) for name in q.AGGREGATE_NAMES}
    expected = values.pop("expected_heads")
    came = values.pop("came_heads")
    values["attendance_rate"] = round(came / expected, 4) if expected else None
    return {name: values[name] for name in MEASURES}


def mask(rows: list[dict[str, Any]], totals: dict[str, Any], below: int) -> None:
    """Hide the measures of rows (and totals) of fewer than `below` people, in place."""
    for row in rows:
        row["masked"] = False
    totals["masked"] = False
    if below <= 0:
        return
    small = [row for row in rows if row["people"] < below]
    others = sorted((row for row in rows if row["people"] >= below), key=lambda r: r["people"])
    if len(small) == 1 and others:
        small.append(others[0])  # a lone hidden row would be totals minus the others
    for row in small:
        row.update({name: None for name in MEASURES}, masked=True)
    if totals["people"] < below:
        totals.update({name: None for name in MEASURES}, masked=True)


# PostgreSQL settings for the report's statement only (SET LOCAL: its transaction), each
# measured on bench/reports.py's data (bench/RESULTS.md, 2026-12-03): a custom plan each
# time (the driver prepares the statement and, after five runs, PostgreSQL would switch to
# a generic plan made without the values: 40 % slower); sorting a year's ~40,000 rows in
# memory instead of on disk (4 MB by default); no JIT (its compilation cost more than it
# saved); parallel workers priced low enough that a year's scan and joins are split over
# the cores (max_parallel_workers_per_gather, 2 by default: ~100 → ~85 ms). A small
# database stays below min_parallel_table_scan_size and runs as before.
POSTGRES_SETTINGS = (
    "SET LOCAL plan_cache_mode = force_custom_plan; "
    "SET LOCAL work_mem = '32MB'; "
    "SET LOCAL jit = off; "
    "SET LOCAL parallel_setup_cost = 10; "
    "SET LOCAL parallel_tuple_cost = 0.001"
)


async def _run(sql: str, params: list[Any], dialect: str) -> list[dict[str, Any]]:
    if dialect != "postgres":
        return list(await connections.get("default").execute_query_dict(sql, params))
    async with in_transaction() as connection:
        await connection.execute_script(POSTGRES_SETTINGS)
        return list(await connection.execute_query_dict(sql, params))


async def participation(
    actor: Principal,
    filters: ParticipationFilters,
    group_by: Sequence[str] = (),
    *,
    mask_below: int = 0,
) -> Participation:
    """The measures of the filtered set, per group of `group_by` (0 to 2 GROUP_KEYS)."""
    return (await participation_many(actor, filters, [group_by], mask_below=mask_below))[0]


async def participation_many(
    actor: Principal,
    filters: ParticipationFilters,
    groupings: Sequence[Sequence[str]],
    *,
    mask_below: int = 0,
) -> list[Participation]:
    """`participation(actor, filters, keys)` for each `keys` of `groupings`, in one
    statement: the filtered set is built once and aggregated once per grouping (the
    dashboard's bars and timeline). The same results as one call per grouping."""
    authorize(actor, "reports.view")
    all_keys = [check_group_by(keys) for keys in groupings]
    where = await _where(filters)
    months = await _month_range(filters) if any("month" in keys for keys in all_keys) else []
    dialect = connections.get("default").capabilities.dialect
    sql, params = q.build_many(all_keys, where, datetime.now(UTC), months, dialect)
    result = await _run(q.numbered(sql, dialect), params, dialect)
    total_row: dict[str, Any] = next((r for r in result if r["g"] == -1), {})
    reports = []
    for j, keys in enumerate(all_keys):
        totals = _measures(total_row)
        rows = []
        for raw in result:
            if raw["g"] != j:
                continue
            row: dict[str, Any] = {key: raw[f"g{j}k{i}"] for i, key in enumerate(keys)}
            row.update(_measures(raw))
            rows.append(row)
        rows = await label_rows(keys, rows)
        if not keys and totals["registrations"]:
            rows = [dict(totals)]
        mask(rows, totals, mask_below)
        reports.append(Participation(group_by=keys, rows=rows, totals=totals))
    return reports


@dataclass
class EventParticipation:
    """One event's summary: registered vs attended by clientele and by participant MRC."""

    event_id: int
    title: str
    started: bool
    over: bool
    by_clientele: list[dict[str, Any]] = field(default_factory=list)
    by_territory: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)


async def event_participation(actor: Principal, event_id: int) -> EventParticipation:
    """The participation of one event (its registrations only, not its children's)."""
    authorize(actor, "reports.view")
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    now = datetime.now(UTC)
    filters = ParticipationFilters(event_id=event_id)
    by_clientele = await participation(actor, filters, ("clientele",))
    by_territory = await participation(actor, filters, ("territory",))
    return EventParticipation(
        event_id=event.id,
        title=event.title,
        started=event.starts_at <= now,
        over=event.ends_at < now,
        by_clientele=by_clientele.rows,
        by_territory=by_territory.rows,
        totals=by_clientele.totals,
    )
