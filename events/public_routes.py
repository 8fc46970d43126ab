"""Public event pages: the list, an event's page (with an edition's activities), the JPS
calendar; and the page helpers the back office shares.

Thin: the listing rules live in `events.listing`, editions in `events.editions`. Public
pages are French first, phone first and paginated (no page over 100 KB); descriptions are
plain text, always escaped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import i18n
from core.auth import current_principal
from core.http import path_id
from core.i18n import _
from core.paging import page_number
from core.settings import local_tz
from core.templating import render
from events import editions, labels, listing, service
from events.listing import EventFilters, ListedEvent
from events.models import Event
from people import reference as people_reference

PUBLIC_PER_PAGE = 20
CHILDREN_PER_PAGE = 25
JPS_PER_PAGE = 30
MAX_EDITION_DAYS = 31


# --------------------------------------------------------------------------- page helpers


def page_of(request: Request) -> int:
    return page_number(request.query_params.get("page", "1"))


def template_helpers() -> dict[str, Any]:
    return {
        "kind_label": labels.kind_label,
        "status_label": labels.status_label,
        "mode_label": labels.mode_label,
        "visibility_label": labels.visibility_label,
        "role_label": labels.partner_role_label,
        "phone_field_label": labels.phone_field_label,
        "format_day": i18n.format_day,
    }


async def reference_options(*, language: str) -> dict[str, Any]:
    clienteles = await people_reference.list_clienteles(active_only=True)
    return {
        "territory_groups": await people_reference.territories_by_region(),
        "clientele_options": [(c.code, c.name(language)) for c in clienteles],
        "kind_options": labels.kind_choices(),
    }


def pager_params(pairs: dict[str, Any]) -> str:
    """`&a=b…` for the pager (its links start with `?page=`)."""
    clean = {k: v for k, v in pairs.items() if v not in (None, "")}
    return "&" + urlencode(clean) if clean else ""


# --------------------------------------------------------------------------- public pages


async def public_list(request: Request) -> Response:
    await current_principal(request)
    language = i18n.current_language.get()
    filters = EventFilters.from_params(request.query_params)
    filters.status = None
    filters.parent_id = None
    filters.day = None
    upcoming = filters.date_from is None and filters.date_to is None
    effective = (
        dataclasses.replace(filters, date_from=listing.local_today()) if upcoming else filters
    )
    page = page_of(request)
    events, total = await listing.listed_events(effective, page=page, per_page=PUBLIC_PER_PAGE)
    values = {
        "kind": filters.kind or "",
        "territory": filters.territory or "",
        "clientele": filters.clientele or "",
        "from": filters.date_from.isoformat() if filters.date_from else "",
        "to": filters.date_to.isoformat() if filters.date_to else "",
        "q": filters.q or "",
    }
    feed = {k: values[k] for k in ("kind", "territory", "clientele") if values[k]}
    context: dict[str, Any] = {
        "events": events,
        "total": total,
        "page": page,
        "has_next": page * PUBLIC_PER_PAGE < total,
        "params": pager_params(values),
        "values": values,
        "errors": filters.errors,
        "upcoming": upcoming,
        "feed_url": "/calendar.ics" + ("?" + urlencode(feed) if feed else ""),
        **template_helpers(),
        **await reference_options(language=language),
    }
    return render(request, "events/list.html", context)


async def public_event(request: Request) -> Response:
    principal = await current_principal(request)
    event = await service.get_event(principal, path_id(request))
    staff = principal is not None and principal.can("events.view")
    await service.load_relations(event)
    context: dict[str, Any] = {
        "event": event,
        "partners": await service.partners_of(event),
        "staff": staff,
        "now": datetime.now(UTC),
        "language": i18n.current_language.get(),
        **template_helpers(),
    }
    parent = event.parent
    if parent is not None and listing.visible_to_public(parent):
        context["parent"] = parent
    if await listing.has_children(event):
        territory = (request.query_params.get("territory") or "").strip()[:10]
        page = page_of(request)
        filters = EventFilters(parent_id=event.id, territory=territory or None)
        children, total = await listing.listed_events(
            filters, page=page, per_page=CHILDREN_PER_PAGE
        )
        context.update(
            {
                "children": children,
                "children_total": total,
                "children_page": page,
                "children_has_next": page * CHILDREN_PER_PAGE < total,
                "children_params": pager_params({"territory": territory}),
                "children_territory": territory,
                "mrc_options": await listing.children_territories(event),
            }
        )
    return render(request, "events/detail.html", context)


def _day_list(edition: Event) -> list[date]:
    first, last = editions.edition_days(edition)
    days: list[date] = []
    while first <= last and len(days) < MAX_EDITION_DAYS:
        days.append(first)
        first += timedelta(days=1)
    return days


def _group_by_day(events: Iterable[ListedEvent]) -> list[tuple[date, list[ListedEvent]]]:
    groups: list[tuple[date, list[ListedEvent]]] = []
    zone = local_tz()
    for event in events:
        day = event.starts_at.astimezone(zone).date()
        if not groups or groups[-1][0] != day:
            groups.append((day, []))
        groups[-1][1].append(event)
    return groups


async def jps_calendar(request: Request) -> Response:
    await current_principal(request)
    language = i18n.current_language.get()
    edition = await editions.current_jps_edition()
    context: dict[str, Any] = {"edition": edition, **template_helpers()}
    if edition is None:
        return render(request, "events/jps.html", context)
    await service.load_relations(edition, "territory")
    params = request.query_params
    errors: dict[str, str] = {}
    days = _day_list(edition)
    territory = (params.get("territory") or "").strip()[:10]
    clientele = (params.get("clientele") or "").strip()[:32]
    day: date | None = None
    raw_day = (params.get("day") or "").strip()
    if raw_day:
        try:
            day = date.fromisoformat(raw_day[:10])
        except ValueError:
            errors["day"] = _("Date invalide (format attendu : 2027-02-16).")
        if day is not None and day not in days:
            errors["day"] = _("Choisissez un jour de l'édition.")
            day = None
    filters = EventFilters(
        parent_id=edition.id, territory=territory or None, clientele=clientele or None, day=day
    )
    page = page_of(request)
    events, total = await listing.listed_events(filters, page=page, per_page=JPS_PER_PAGE)
    clienteles = await people_reference.list_clienteles(active_only=True)
    values = {"territory": territory, "clientele": clientele, "day": day.isoformat() if day else ""}
    context.update(
        {
            "groups": _group_by_day(events),
            "total": total,
            "page": page,
            "has_next": page * JPS_PER_PAGE < total,
            "params": pager_params(values),
            "values": values,
            "errors": errors,
            "days": days,
            "mrc_options": await listing.children_territories(edition),
            "clientele_options": [(c.code, c.name(language)) for c in clienteles],
        }
    )
    return render(request, "events/jps.html", context)


routes = [
    Route("/events", public_list, name="events_list"),
    Route("/events/{id:int}", public_event, name="event_page"),
    Route("/jps", jps_calendar, name="jps_calendar"),
]
