"""What each calendar (ICS) holds: an event, the public feed, an edition and its activities.

The queries behind the calendar routes, and the `Fingerprint` that identifies a calendar's
content in one aggregate query (no rows loaded), so the routes can answer 304 or reuse a
built body without reading events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.functions import Count, Max, Sum
from tortoise.queryset import QuerySet

from core.i18n import _
from events.ics import ICS_FIELDS, CalendarEvent, EventRow
from events.listing import EventFilters, filtered_events, listed, local_today
from events.models import Event
from people.models import Clientele, Territory

PAST_DAYS = 365  # how far back the public feed goes when `from` is not given
FEED_PARAMS = ("kind", "territory", "clientele", "from", "to")


def utc(value: datetime) -> datetime:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def latest(*values: datetime | None) -> datetime | None:
    present = [utc(v) for v in values if v is not None]
    return max(present) if present else None


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a calendar's content: its events' count, ids, sequences, last change.

    Every change that alters an event's ICS goes through `Model.save()` (which moves
    `updated_at`); an event entering or leaving the set changes the count, the id sum or
    the latest change. A status change by queryset update (published -> completed, the
    worker) does not alter the ICS (both are CONFIRMED).
    """

    count: int = 0
    latest: datetime | None = None
    id_sum: int = 0
    sequence_sum: int = 0

    @classmethod
    def of(cls, events: Sequence[CalendarEvent]) -> Fingerprint:
        return cls(
            count=len(events),
            latest=latest(*(e.updated_at for e in events)),
            id_sum=sum(e.id for e in events),
            sequence_sum=sum(e.sequence for e in events),
        )

    def __add__(self, other: Fingerprint) -> Fingerprint:
        return Fingerprint(
            self.count + other.count,
            latest(self.latest, other.latest),
            self.id_sum + other.id_sum,
            self.sequence_sum + other.sequence_sum,
        )


async def fingerprint(query: QuerySet[Event]) -> Fingerprint:
    """One aggregate query (no rows loaded)."""
    rows = await query.annotate(
        n=Count("id"), latest=Max("updated_at"), ids=Sum("id"), sequences=Sum("sequence")
    ).values("n", "latest", "ids", "sequences")
    row = rows[0] if rows else {}
    last = row.get("latest")
    if isinstance(last, str):  # SQLite gives the stored text
        last = datetime.fromisoformat(last)
    return Fingerprint(
        count=int(row.get("n") or 0),
        latest=utc(last) if isinstance(last, datetime) else None,
        id_sum=int(row.get("ids") or 0),
        sequence_sum=int(row.get("sequences") or 0),
    )


async def calendar_rows(query: QuerySet[Event]) -> list[CalendarEvent]:
    """The events of `query` as ICS rows, by start time."""
    rows = await query.order_by("starts_at", "id").values(*ICS_FIELDS)
    return [EventRow(**row) for row in rows]


async def feed_filters(params: Any) -> tuple[EventFilters, list[str]]:
    """The public feed's filters from query parameters, and what is wrong with them."""
    parsed = EventFilters.from_params(params)
    errors = [parsed.errors[key] for key in FEED_PARAMS if key in parsed.errors]
    filters = EventFilters(
        kind=parsed.kind,
        territory=parsed.territory,
        clientele=parsed.clientele,
        date_from=parsed.date_from,
        date_to=parsed.date_to,
    )
    if filters.territory and not await Territory.exists(code=filters.territory):
        errors.append(_("Territoire inconnu : %(code)s.", code=filters.territory))
    if filters.clientele and not await Clientele.exists(code=filters.clientele):
        errors.append(_("Clientèle inconnue : %(codes)s.", codes=filters.clientele))
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        errors.append(_("La date de fin doit suivre la date de début."))
    return filters, errors


async def public_feed(filters: EventFilters) -> QuerySet[Event]:
    """The listed events matching `filters`; without `from`, starting a year back."""
    if filters.date_from is None:
        filters.date_from = local_today() - timedelta(days=PAST_DAYS)
    return await filtered_events(filters, public=True)


async def public_feed_changed() -> datetime | None:
    """The latest change of any event (one that left the feed changed the feed too)."""
    return (await fingerprint(Event.all())).latest


def edition_feed(edition: Event) -> QuerySet[Event]:
    """An edition's listed activities."""
    return listed(Event.filter(parent_id=edition.id))


async def edition_feed_changed(edition: Event) -> datetime | None:
    """The latest change of an edition or of any of its activities."""
    children = await fingerprint(Event.filter(parent_id=edition.id))
    return latest(edition.updated_at, children.latest)
