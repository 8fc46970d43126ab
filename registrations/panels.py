"""The registrations package's panels on the back-office home page (`core.panels`):

- the registrations awaiting approval, by event (`registrations.manage`);
- today's events, with the heads checked in today and the check-in link (`events.view`);
- the upcoming events, with their fill rate and waitlist (`events.view`).

(The panel of a `checkin` account, today's and tomorrow's doors, is
`registrations.attendance.door_panel`.) Each panel runs a fixed number of queries: the
events, then one grouped count for all of them. Editions (events with children) are left
out: their children are listed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.expressions import Subquery
from tortoise.functions import Count, Sum

from core.i18n import _, format_number, format_range, ngettext, to_local
from core.panels import (
    ORDER_TO_DO,
    ORDER_TODAY,
    ORDER_UPCOMING,
    DashboardAsked,
    Panel,
    PanelFigure,
    PanelItem,
    PanelLink,
)
from events.listing import local_day_bounds
from events.models import Event, EventStatus
from registrations.models import CheckIn, Registration, RegistrationStatus

SHOWN = 8


def _not_an_edition() -> Subquery:
    return Subquery(Event.filter(parent_id__isnull=False).values("parent_id"))


def _when(event: Event) -> str:
    return " · ".join(
        part
        for part in (
            format_range(event.starts_at, event.ends_at, event.all_day, event.timezone),
            event.venue_name,
        )
        if part
    )


# --------------------------------------------------------------------------- approvals


async def awaiting_approval(now: datetime) -> list[tuple[Event, int]]:
    """Events not over with registrations awaiting approval, and how many, soonest first."""
    rows = (
        await Registration.filter(
            status=RegistrationStatus.PENDING_APPROVAL, event__ends_at__gte=now
        )
        .annotate(n=Count("id"))
        .group_by("event_id")
        .values_list("event_id", "n")
    )
    counts = {int(event_id): int(n) for event_id, n in rows}
    events = await Event.filter(id__in=list(counts)).order_by("starts_at", "id")
    return [(event, counts[event.id]) for event in events]


async def approvals_panel(asked: DashboardAsked) -> Panel | None:
    if not asked.actor.can("registrations.manage"):
        return None
    waiting = await awaiting_approval(asked.now)
    total = sum(n for _event, n in waiting)
    items = [
        PanelItem(
            title=event.title,
            detail=" · ".join(
                (
                    _when(event),
                    ngettext("%(num)s demande en attente", "%(num)s demandes en attente", n),
                )
            ),
            links=(
                PanelLink(
                    _("Décider"),
                    f"/admin/events/{event.id}/registrations?status=pending_approval",
                ),
            ),
        )
        for event, n in waiting[:SHOWN]
    ]
    figures = (PanelFigure(format_number(total), _("inscriptions à approuver")),) if total else ()
    return Panel(
        title=_("Inscriptions à approuver"),
        items=items,
        figures=figures,
        empty=_("Aucune inscription en attente d'approbation."),
        order=ORDER_TO_DO,
        attention=bool(total),
    )


# --------------------------------------------------------------------------- today


async def todays_events(now: datetime) -> list[tuple[Event, int]]:
    """Published events taking place today (local day), with the heads checked in today."""
    today = to_local(now).date()
    start, end = local_day_bounds(today)
    events = (
        await Event.filter(status=EventStatus.PUBLISHED, starts_at__lt=end, ends_at__gte=start)
        .exclude(id__in=_not_an_edition())
        .order_by("starts_at", "id")
        .limit(SHOWN)
    )
    rows = (
        await CheckIn.filter(
            event_id__in=[e.id for e in events], day=today, active_key__isnull=False
        )
        .annotate(heads=Sum("registration__party_size"))
        .group_by("event_id")
        .values_list("event_id", "heads")
        if events
        else []
    )
    present = {int(event_id): int(heads or 0) for event_id, heads in rows}
    return [(event, present.get(event.id, 0)) for event in events]


async def today_panel(asked: DashboardAsked) -> Panel | None:
    actor = asked.actor
    if not actor.can("events.view"):
        return None
    items = []
    for event, present in await todays_events(asked.now):
        links = [PanelLink(_("Inscriptions"), f"/admin/events/{event.id}/registrations")]
        if actor.can("checkin.scan", event_id=event.id):
            links.insert(0, PanelLink(_("Accueil"), f"/admin/events/{event.id}/checkin"))
        items.append(
            PanelItem(
                title=event.title,
                detail=" · ".join(
                    (
                        _when(event),
                        _(
                            "%(present)s présents sur %(taken)s inscrits",
                            present=format_number(present),
                            taken=format_number(event.seats_taken),
                        ),
                    )
                ),
                links=tuple(links),
            )
        )
    return Panel(
        title=_("Aujourd'hui"),
        items=items,
        empty=_("Aucun événement aujourd'hui."),
        order=ORDER_TODAY,
    )


# --------------------------------------------------------------------------- upcoming


async def upcoming_events(now: datetime) -> list[tuple[Event, int]]:
    """The next published events open to registration after today, with their waitlist
    (registrations waiting for a place)."""
    _start, tomorrow = local_day_bounds(to_local(now).date())
    events = (
        await Event.filter(
            status=EventStatus.PUBLISHED,
            registration_enabled=True,
            starts_at__gte=tomorrow,
            starts_at__lt=tomorrow + timedelta(days=366),
        )
        .exclude(id__in=_not_an_edition())
        .order_by("starts_at", "id")
        .limit(SHOWN)
    )
    rows = (
        await Registration.filter(
            event_id__in=[e.id for e in events], status=RegistrationStatus.WAITLISTED
        )
        .annotate(n=Count("id"))
        .group_by("event_id")
        .values_list("event_id", "n")
        if events
        else []
    )
    waiting = {int(event_id): int(n) for event_id, n in rows}
    return [(event, waiting.get(event.id, 0)) for event in events]


def fill_text(event: Event) -> tuple[str, float | None]:
    """« 32 / 50 places prises (64 %) » and the share, or the heads when unlimited."""
    if not event.capacity:
        return ngettext(
            "%(num)s place prise (sans limite)",
            "%(num)s places prises (sans limite)",
            event.seats_taken,
        ), None
    share = event.seats_taken / event.capacity
    return _(
        "%(taken)s / %(capacity)s places prises (%(rate)s %%)",
        taken=format_number(event.seats_taken),
        capacity=format_number(event.capacity),
        rate=format_number(round(share * 100)),
    ), share


async def upcoming_panel(asked: DashboardAsked) -> Panel | None:
    if not asked.actor.can("events.view"):
        return None
    items = []
    for event, waiting in await upcoming_events(asked.now):
        fill, share = fill_text(event)
        parts = [_when(event), fill]
        links = [PanelLink(_("Inscriptions"), f"/admin/events/{event.id}/registrations")]
        if waiting:
            parts.append(
                ngettext("%(num)s en liste d'attente", "%(num)s en liste d'attente", waiting)
            )
            links.append(
                PanelLink(
                    _("Liste d'attente"),
                    f"/admin/events/{event.id}/registrations?status=waitlisted",
                )
            )
        items.append(
            PanelItem(
                title=event.title,
                detail=" · ".join(parts),
                links=tuple(links),
                progress=None if share is None else min(share, 1.0),
                progress_label=_("Taux de remplissage : %(title)s", title=event.title),
            )
        )
    return Panel(
        title=_("Événements à venir"),
        items=items,
        empty=_("Aucun événement à venir ouvert aux inscriptions."),
        links=(PanelLink(_("Tous les événements"), "/admin/events"),),
        order=ORDER_UPCOMING,
    )
