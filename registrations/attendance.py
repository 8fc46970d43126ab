"""Who is at the door: live counts, the search by name or ticket code, the scan log and
the check-ins exported as CSV (the tablet's offline copy is `registrations.roster`).

Reads only; the door decisions are made in `registrations.checkin`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q

from core import db
from core.auth import Principal, authorize
from core.errors import NotFound
from core.i18n import _, format_range
from core.panels import ORDER_TODAY, DashboardAsked, Panel, PanelItem, PanelLink
from core.settings import local_tz
from events.models import Event, EventStatus
from registrations.checkin import CheckinWindow, local_day, registration_summary
from registrations.models import (
    CheckIn,
    Registration,
    RegistrationStatus,
    Scan,
)

SEARCH_LIMIT = 25
# No door opens more than this before its event starts (bounds the home page's query).
LONGEST_DOOR_LEAD = timedelta(days=7)


async def counts(event: Event, day: date | None = None) -> dict[str, int]:
    """Present heads today / registered (confirmed) heads, as two aggregate queries
    (tablets poll this every few seconds: no row is brought back to Python)."""
    day = day or local_day(event, datetime.now(UTC))
    registrations = Registration._meta.db_table
    registered = await db.fetch_values(
        Registration,
        f"SELECT COALESCE(SUM(party_size), 0) AS heads FROM {registrations} "  # noqa: S608 - names from the models
        "WHERE event_id = ? AND status = ?",
        [event.id, RegistrationStatus.CONFIRMED.value],
    )
    present = await db.fetch_values(
        CheckIn,
        "SELECT COUNT(*) AS n, COALESCE(SUM(r.party_size), 0) AS heads "  # noqa: S608 - names from the models
        f"FROM {CheckIn._meta.db_table} c JOIN {registrations} r ON r.id = c.registration_id "
        "WHERE c.event_id = ? AND c.day = ? AND c.active_key IS NOT NULL",
        [event.id, day],
    )
    return {
        "present": int(present[0]["heads"]),
        "present_registrations": int(present[0]["n"]),
        "registered": int(registered[0]["heads"]),
    }


async def door_event(actor: Principal, event_id: int) -> Event:
    """The event a door reader (tablet or staff) may see (NotFound if there is none)."""
    authorize(actor, "checkin.scan", event_id=event_id)
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    return event


async def search(event: Event, q: str) -> list[dict[str, Any]]:
    """Registrations of the event by name (first, last or both) or ticket code prefix,
    each marked `checked_in` for today. Fewer than 2 characters find nothing."""
    q = q.strip()[:100]
    if len(q) < 2:
        return []
    code = "".join(ch for ch in q.upper() if ch.isalnum())
    terms = Q(person__first_name__icontains=q) | Q(person__last_name__icontains=q)
    if " " in q:
        first, _sep, last = q.partition(" ")
        terms |= Q(
            person__first_name__icontains=first.strip(), person__last_name__icontains=last.strip()
        )
    if len(code) >= 4:
        terms |= Q(ticket_code__startswith=code)
    found = (
        await Registration.filter(Q(event_id=event.id) & terms)
        .select_related("person", "clientele", "organization")
        .limit(SEARCH_LIMIT)
    )
    day = local_day(event, datetime.now(UTC))
    present = set(
        await CheckIn.filter(
            event_id=event.id,
            day=day,
            active_key__isnull=False,
            registration_id__in=[r.id for r in found],
        ).values_list("registration_id", flat=True)
    )
    items = []
    for registration in found:
        summary = registration_summary(registration)
        summary["checked_in"] = registration.id in present
        items.append(summary)
    return items


async def recent_scans(
    event_id: int, limit: int, offset: int = 0, *, with_staff: bool = False
) -> list[Scan]:
    """The event's scans, newest first, with the person, device and check-in (and the
    staff member, for the back office)."""
    related = ["registration__person", "device", "checkin"] + (["staff"] if with_staff else [])
    return (
        await Scan.filter(event_id=event_id)
        .order_by("-id")
        .offset(offset)
        .limit(limit)
        .select_related(*related)
    )


async def scan_count(event_id: int) -> int:
    return await Scan.filter(event_id=event_id).count()


async def event_checkin(event_id: int, checkin_id: int) -> CheckIn:
    """One check-in of this event, with its person (NotFound for another event's)."""
    row = await CheckIn.get_or_none(id=checkin_id, event_id=event_id).select_related(
        "registration__person"
    )
    if row is None:
        raise NotFound()
    return row


async def checkins_for_export(event_id: int) -> list[CheckIn]:
    """Every check-in of the event (undone ones included), in check-in order, with what
    the CSV export shows."""
    return (
        await CheckIn.filter(event_id=event_id)
        .order_by("checked_in_at", "id")
        .select_related(
            "registration__person",
            "registration__clientele",
            "registration__organization",
            "device",
            "staff",
        )
    )


async def events_at_the_door(actor: Principal, now: datetime) -> list[Event]:
    """The published events whose check-in window overlaps today or tomorrow (local
    days) and whose door this account may work at, in start order."""
    today = datetime.combine(now.astimezone(local_tz()).date(), time(0), tzinfo=local_tz())
    until = datetime.combine(today.date() + timedelta(days=2), time(0), tzinfo=local_tz())
    candidates = await Event.filter(
        status=EventStatus.PUBLISHED,
        ends_at__gte=today,
        starts_at__lt=until + LONGEST_DOOR_LEAD,
    ).order_by("starts_at", "id")
    return [
        event
        for event in candidates
        if CheckinWindow.of_event(event).opens < until
        and actor.can("checkin.scan", event_id=event.id)
    ]


async def door_panel(asked: DashboardAsked) -> Panel | None:
    """The home page of an account that works at the door (and cannot reach the events
    otherwise): today's and tomorrow's events, each with the tablet app's link."""
    actor = asked.actor
    if not actor.can("checkin.scan") or actor.can("events.view"):
        return None
    items = [
        PanelItem(
            title=event.title,
            detail=" · ".join(
                part
                for part in (format_range(event.starts_at, event.ends_at), event.venue_name)
                if part
            ),
            links=(PanelLink(_("Ouvrir l'application d'accueil"), f"/checkin/{event.id}"),),
        )
        for event in await events_at_the_door(actor, asked.now)
    ]
    return Panel(
        title=_("Accueil à la porte"),
        items=items,
        empty=_("Aucun événement aujourd'hui ni demain."),
        order=ORDER_TODAY,
    )
