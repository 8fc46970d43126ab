"""The public listing: which events anyone may see or find, the list filters, list pages.

Two rules live here: an event is *visible to the public* (its page and its calendar open
to anyone) when it is published, cancelled or completed and not private; it is *listed*
(in the public list, calendars and feeds) when it is also public, not only unlisted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from core.auth import Principal, authorize
from core.i18n import _
from core.inputs import MAX_YEAR, MIN_YEAR, parse_day, parse_id
from core.settings import local_tz
from events.editions import edition_region
from events.models import Event, EventKind, EventStatus, Visibility
from people.models import Clientele, Territory, TerritoryKind
from people.service import name_key

PUBLIC_STATUSES = (EventStatus.PUBLISHED, EventStatus.CANCELLED, EventStatus.COMPLETED)
LIST_COLUMNS = (
    "id",
    "title",
    "kind",
    "status",
    "starts_at",
    "ends_at",
    "all_day",
    "timezone",
    "mode",
    "venue_name",
    "address",
    "territory_id",
    "parent_id",
)


def visible_to_public(event: Event) -> bool:
    """Anyone may open this event's page and calendar (public or unlisted, not a draft)."""
    return event.status in PUBLIC_STATUSES and event.visibility != Visibility.PRIVATE


def listed(query: QuerySet[Event]) -> QuerySet[Event]:
    """Only the events anyone may find in lists and feeds."""
    return query.filter(status__in=PUBLIC_STATUSES, visibility=Visibility.PUBLIC)


def local_day_bounds(day: date, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone or local_tz())
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def local_today() -> date:
    return datetime.now(UTC).astimezone(local_tz()).date()


@dataclass
class EventFilters:
    kind: str | None = None
    territory: str | None = None
    clientele: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    parent_id: int | None = None
    status: str | None = None
    day: date | None = None
    top_level: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> EventFilters:
        """From query parameters; bad values are ignored and reported in `errors`."""
        filters = cls()
        errors = filters.errors
        kind = (params.get("kind") or "").strip()
        if kind:
            if kind in {k.value for k in EventKind}:
                filters.kind = kind
            else:
                errors["kind"] = _("Type d'événement inconnu.")
        filters.territory = (params.get("territory") or "").strip()[:10] or None
        filters.clientele = (params.get("clientele") or "").strip()[:32] or None
        for key, attr in (("from", "date_from"), ("to", "date_to"), ("day", "day")):
            try:
                setattr(filters, attr, parse_day(params.get(key)))
            except ValueError:
                errors[key] = _(
                    "Date invalide (format attendu : 2027-02-16, années %(low)s à %(high)s).",
                    low=MIN_YEAR,
                    high=MAX_YEAR,
                )
        filters.q = (params.get("q") or "").strip()[:200] or None
        try:
            filters.parent_id = parse_id(params.get("parent_id"))
        except ValueError:
            errors["parent_id"] = _("Identifiant invalide.")
        status = (params.get("status") or "").strip()
        if status in {s.value for s in EventStatus}:
            filters.status = status
        elif status:
            errors["status"] = _("Statut inconnu.")
        return filters

    def query_string(self) -> str:
        pairs = {
            "kind": self.kind,
            "territory": self.territory,
            "clientele": self.clientele,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "day": self.day.isoformat() if self.day else None,
            "q": self.q,
            "parent_id": self.parent_id,
            "status": self.status,
        }
        return urlencode({k: v for k, v in pairs.items() if v not in (None, "")})


async def _territory_ids(code: str) -> list[int]:
    territory = await Territory.get_or_none(code=code)
    if territory is None:
        return []
    ids = [territory.id]
    if territory.kind == TerritoryKind.REGION:
        ids += [child.id for child in await Territory.filter(parent_id=territory.id).only("id")]
    return ids


async def filtered_events(filters: EventFilters, *, public: bool = True) -> QuerySet[Event]:
    """The events matching `filters`; `public` keeps only what anyone may list."""
    query = Event.all()
    if public:
        query = listed(query)
    elif filters.status:
        query = query.filter(status=filters.status)
    if filters.kind:
        query = query.filter(kind=filters.kind)
    if filters.territory:
        query = query.filter(territory_id__in=await _territory_ids(filters.territory))
    if filters.clientele:
        ids = await Event.filter(clienteles__code=filters.clientele).values_list("id", flat=True)
        query = query.filter(id__in=list(ids))
    if filters.day:
        start, end = local_day_bounds(filters.day)
        query = query.filter(starts_at__lt=end, ends_at__gt=start)
    if filters.date_from:
        query = query.filter(ends_at__gt=local_day_bounds(filters.date_from)[0])
    if filters.date_to:
        query = query.filter(starts_at__lt=local_day_bounds(filters.date_to)[1])
    if filters.q:
        query = query.filter(
            Q(title__icontains=filters.q)
            | Q(description__icontains=filters.q)
            | Q(venue_name__icontains=filters.q)
            | Q(address__icontains=filters.q)
        )
    if filters.parent_id is not None:
        query = query.filter(parent_id=filters.parent_id)
    elif filters.top_level:
        query = query.filter(parent_id__isnull=True)
    return query


async def list_events(
    actor: Principal | None,
    filters: EventFilters,
    *,
    page: int = 1,
    per_page: int = 50,
    public: bool = True,
    related: bool = True,
) -> tuple[list[Event], int]:
    """One page of events; `related` also reads their territory, parent and clienteles
    (the back office's list shows them; the API reads what it shows in one batch,
    events.output)."""
    if not public:
        authorize(actor, "events.view")
    query = await filtered_events(filters, public=public)
    total = await query.count()
    query = query.order_by("starts_at", "id").offset((max(1, page) - 1) * per_page).limit(per_page)
    if related:
        query = query.select_related("territory", "parent").prefetch_related("clienteles")
    return list(await query), total


# --------------------------------------------------------------------------- list pages


@dataclass
class Ref:
    id: int
    name: str

    @property
    def title(self) -> str:
        return self.name


@dataclass
class ListedEvent:
    """What a public list row shows (read as plain rows: list pages are the hot path)."""

    id: int
    title: str
    kind: str
    status: str
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    timezone: str
    mode: str
    venue_name: str
    address: str
    territory: Ref | None
    parent: Ref | None
    clienteles: list[Clientele]


async def listed_events(
    filters: EventFilters, *, page: int, per_page: int
) -> tuple[list[ListedEvent], int]:
    """The public events matching `filters` (same rules as `list_events`), one page,
    in five small queries whatever the page size (no N+1, no full model rows)."""
    query = await filtered_events(filters, public=True)
    total = await query.count()
    rows = (
        await query.order_by("starts_at", "id")
        .offset((max(1, page) - 1) * per_page)
        .limit(per_page)
        .values(*LIST_COLUMNS)
    )
    if not rows:
        return [], total
    ids = [row["id"] for row in rows]
    territory_ids = {row["territory_id"] for row in rows if row["territory_id"]}
    parent_ids = {row["parent_id"] for row in rows if row["parent_id"]}
    territories = (
        dict(await Territory.filter(id__in=list(territory_ids)).values_list("id", "name"))
        if territory_ids
        else {}
    )
    parents = (
        dict(await Event.filter(id__in=list(parent_ids)).values_list("id", "title"))
        if parent_ids
        else {}
    )
    clienteles = {c.id: c for c in await Clientele.all()}
    links: dict[int, list[Clientele]] = {}
    for event_id, clientele_id in await Event.filter(id__in=ids).values_list(
        "id", "clienteles__id"
    ):
        if clientele_id in clienteles:
            links.setdefault(event_id, []).append(clienteles[clientele_id])
    events = []
    for row in rows:
        territory_id, parent_id = row["territory_id"], row["parent_id"]
        events.append(
            ListedEvent(
                id=row["id"],
                title=row["title"],
                kind=str(row["kind"]),
                status=str(row["status"]),
                starts_at=row["starts_at"],
                ends_at=row["ends_at"],
                all_day=bool(row["all_day"]),
                timezone=row["timezone"],
                mode=str(row["mode"]),
                venue_name=row["venue_name"],
                address=row["address"],
                territory=Ref(territory_id, territories[territory_id])
                if territory_id in territories
                else None,
                parent=Ref(parent_id, parents[parent_id]) if parent_id in parents else None,
                clienteles=sorted(links.get(row["id"], []), key=lambda c: (c.position, c.code)),
            )
        )
    return events, total


async def has_children(event: Event) -> bool:
    return await Event.exists(parent_id=event.id)


async def children_territories(edition: Event) -> list[Territory]:
    """The territories a visitor may filter an edition's listed children by: theirs, and
    the active MRCs of the edition's region."""
    ids = set(
        await listed(Event.filter(parent_id=edition.id, territory_id__isnull=False)).values_list(
            "territory_id", flat=True
        )
    )
    region = await edition_region(edition)
    if region is not None:
        ids |= set(
            await Territory.filter(parent_id=region.id, active=True).values_list("id", flat=True)
        )
    return sorted(await Territory.filter(id__in=list(ids)), key=lambda t: name_key(t.name))
