"""Event pages: the public list, event and edition pages, the JPS calendar; the back office.

Thin: every rule lives in `events.service`. Public pages are French first, phone first and
paginated (no page over 100 KB); descriptions are plain text, always escaped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import i18n
from core.auth import Principal, current_principal, requires
from core.errors import AppError, Conflict, NotFound, ValidationFailed
from core.http import flash, read_form, redirect, validate
from core.i18n import N_, _
from core.paging import page_number
from core.templating import render
from events import service
from events.models import (
    AttendanceMode,
    Event,
    EventKind,
    EventPartner,
    EventStatus,
    PartnerRole,
    Visibility,
)
from events.schemas import CancelIn, DuplicateIn, EventIn
from people import service as people_service
from people.models import Clientele, PlanLevel, Territory, TerritoryKind

PUBLIC_PER_PAGE = 20
CHILDREN_PER_PAGE = 25
JPS_PER_PAGE = 30
ADMIN_PER_PAGE = 50
EXTRA_PARTNER_ROWS = 3
MAX_PARTNER_ROWS = 50
TIMEZONES = ("America/Toronto", "America/Halifax", "America/Blanc-Sablon")


# --------------------------------------------------------------------------- helpers


def _actor(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def _page(request: Request) -> int:
    return page_number(request.query_params.get("page", "1"))


def _event_id(request: Request) -> int:
    return int(request.path_params["id"])


ROLE_LABELS = {
    PartnerRole.FIDUCIARY: N_("Fiduciaire"),
    PartnerRole.PARTNER: N_("Partenaire"),
    PartnerRole.HOST: N_("Hôte"),
    PartnerRole.FUNDER: N_("Bailleur de fonds"),
}


def partner_role_label(role: str) -> str:
    return _(ROLE_LABELS[PartnerRole(role)])


def local_input(value: datetime | None, zone: str = service.LOCAL_TZ.key) -> str:
    """A datetime as a datetime-local input value in the event's time zone."""
    if value is None:
        return ""
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%dT%H:%M")
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def _helpers() -> dict[str, Any]:
    return {
        "kind_label": service.kind_label,
        "status_label": service.status_label,
        "mode_label": service.mode_label,
        "visibility_label": service.visibility_label,
        "role_label": partner_role_label,
        "when_range": i18n.format_range,
        "format_day": i18n.format_day,
        "all_day": i18n.is_all_day,
        "iso": lambda value: value.astimezone(UTC).isoformat() if value else "",
    }


async def _reference(*, language: str) -> dict[str, Any]:
    clienteles = await people_service.list_clienteles(active_only=True)
    return {
        "territory_groups": await people_service.territories_by_region(),
        "clientele_options": [(c.code, c.name(language)) for c in clienteles],
        "kind_options": service.kind_choices(),
    }


def _params(pairs: dict[str, Any]) -> str:
    """`&a=b…` for the pager (its links start with `?page=`)."""
    clean = {k: v for k, v in pairs.items() if v not in (None, "")}
    return "&" + urlencode(clean) if clean else ""


def _today() -> date:
    return datetime.now(UTC).astimezone(service.LOCAL_TZ).date()


# --------------------------------------------------------------------------- public pages

LIST_COLUMNS = (
    "id",
    "title",
    "kind",
    "status",
    "starts_at",
    "ends_at",
    "mode",
    "venue_name",
    "address",
    "territory_id",
    "parent_id",
)


@dataclasses.dataclass
class Ref:
    id: int
    name: str

    @property
    def title(self) -> str:
        return self.name


@dataclasses.dataclass
class ListedEvent:
    """What a public list row shows (read as plain rows: list pages are the hot path)."""

    id: int
    title: str
    kind: str
    status: str
    starts_at: datetime
    ends_at: datetime
    mode: str
    venue_name: str
    address: str
    territory: Ref | None
    parent: Ref | None
    clienteles: list[Clientele]


async def listed_events(
    filters: service.EventFilters, *, page: int, per_page: int
) -> tuple[list[ListedEvent], int]:
    """The public events matching `filters` (same rules as `service.list_events`), one page,
    in five small queries whatever the page size (no N+1, no full model rows)."""
    query = await service.filtered_events(filters, public=True)
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


async def public_list(request: Request) -> Response:
    await current_principal(request)
    language = i18n.current_language.get()
    filters = service.EventFilters.from_params(request.query_params)
    filters.status = None
    filters.parent_id = None
    filters.day = None
    upcoming = filters.date_from is None and filters.date_to is None
    effective = dataclasses.replace(filters, date_from=_today()) if upcoming else filters
    page = _page(request)
    events, total = await listed_events(effective, page=page, per_page=PUBLIC_PER_PAGE)
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
        "params": _params(values),
        "values": values,
        "errors": filters.errors,
        "upcoming": upcoming,
        "feed_url": "/calendar.ics" + ("?" + urlencode(feed) if feed else ""),
        **_helpers(),
        **await _reference(language=language),
    }
    return render(request, "events/list.html", context)


async def _mrc_options_for(event: Event) -> list[Territory]:
    """The territories a visitor may filter an edition's children by."""
    rows = await Event.filter(
        parent_id=event.id,
        status__in=service.PUBLIC_STATUSES,
        visibility=Visibility.PUBLIC,
        territory_id__isnull=False,
    ).values_list("territory_id", flat=True)
    ids = set(rows)
    region = event.territory
    if region is not None and region.kind == TerritoryKind.MRC:
        region = await Territory.get_or_none(id=region.parent_id)  # type: ignore[attr-defined]
    if region is not None:
        ids |= set(
            await Territory.filter(parent_id=region.id, active=True).values_list("id", flat=True)
        )
    return sorted(
        await Territory.filter(id__in=list(ids)), key=lambda t: people_service.name_key(t.name)
    )


async def public_event(request: Request) -> Response:
    principal = await current_principal(request)
    event = await service.get_event(principal, _event_id(request))
    staff = principal is not None and principal.can("events.view")
    await event.fetch_related("clienteles", "plan_items")
    partners = (
        await EventPartner.filter(event_id=event.id)
        .select_related("organization")
        .order_by("role", "id")
    )
    context: dict[str, Any] = {
        "event": event,
        "partners": partners,
        "staff": staff,
        "places_left": (
            max(0, event.capacity - event.seats_taken) if event.capacity is not None else None
        ),
        "now": datetime.now(UTC),
        "language": i18n.current_language.get(),
        **_helpers(),
    }
    parent = event.parent
    if parent is not None and (
        parent.status in service.PUBLIC_STATUSES and parent.visibility != Visibility.PRIVATE
    ):
        context["parent"] = parent
    if await Event.exists(parent_id=event.id):
        territory = (request.query_params.get("territory") or "").strip()[:10]
        page = _page(request)
        filters = service.EventFilters(parent_id=event.id, territory=territory or None)
        children, total = await listed_events(filters, page=page, per_page=CHILDREN_PER_PAGE)
        context.update(
            {
                "children": children,
                "children_total": total,
                "children_page": page,
                "children_has_next": page * CHILDREN_PER_PAGE < total,
                "children_params": _params({"territory": territory}),
                "children_territory": territory,
                "mrc_options": await _mrc_options_for(event),
            }
        )
    return render(request, "events/detail.html", context)


def _edition_days(edition: Event) -> list[date]:
    first = edition.starts_at.astimezone(service.LOCAL_TZ).date()
    last = edition.ends_at.astimezone(service.LOCAL_TZ).date()
    days: list[date] = []
    while first <= last and len(days) < 31:
        days.append(first)
        first += timedelta(days=1)
    return days


def _group_by_day(events: Iterable[ListedEvent]) -> list[tuple[date, list[ListedEvent]]]:
    groups: list[tuple[date, list[ListedEvent]]] = []
    for event in events:
        day = event.starts_at.astimezone(service.LOCAL_TZ).date()
        if not groups or groups[-1][0] != day:
            groups.append((day, []))
        groups[-1][1].append(event)
    return groups


async def jps_calendar(request: Request) -> Response:
    await current_principal(request)
    language = i18n.current_language.get()
    edition = await service.current_jps_edition()
    context: dict[str, Any] = {"edition": edition, **_helpers()}
    if edition is None:
        return render(request, "events/jps.html", context)
    await edition.fetch_related("territory")
    params = request.query_params
    errors: dict[str, str] = {}
    days = _edition_days(edition)
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
    filters = service.EventFilters(
        parent_id=edition.id, territory=territory or None, clientele=clientele or None, day=day
    )
    page = _page(request)
    events, total = await listed_events(filters, page=page, per_page=JPS_PER_PAGE)
    clienteles = await people_service.list_clienteles(active_only=True)
    values = {"territory": territory, "clientele": clientele, "day": day.isoformat() if day else ""}
    context.update(
        {
            "groups": _group_by_day(events),
            "total": total,
            "page": page,
            "has_next": page * JPS_PER_PAGE < total,
            "params": _params(values),
            "values": values,
            "errors": errors,
            "days": days,
            "mrc_options": await _mrc_options_for(edition),
            "clientele_options": [(c.code, c.name(language)) for c in clienteles],
        }
    )
    return render(request, "events/jps.html", context)


# --------------------------------------------------------------------------- back office

TEXT_FIELDS = [
    "title",
    "kind",
    "starts_at",
    "ends_at",
    "timezone",
    "description",
    "mode",
    "venue_name",
    "address",
    "territory",
    "online_url",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "parent_id",
    "visibility",
    "organizer_organization_id",
    "contact_name",
    "contact_email",
    "contact_phone",
    "image_url",
    "image_alt",
    "expected_participants",
]
BOOL_FIELDS = [
    "waitlist",
    "requires_approval",
    "allow_walkins_over_capacity",
    "registration_enabled",
]
OPTIONAL_FIELDS = {
    "mode",
    "territory",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "parent_id",
    "organizer_organization_id",
    "expected_participants",
    "timezone",
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def form_values(form: FormData) -> dict[str, Any]:
    """What the organizer typed, kept as is to re-render the form on errors."""
    values: dict[str, Any] = {name: _text(form, name) for name in TEXT_FIELDS}
    # Keep the description's inner line breaks; only trim it.
    raw_description = form.get("description", "")
    values["description"] = raw_description.strip() if isinstance(raw_description, str) else ""
    for name in BOOL_FIELDS:
        values[name] = form.get(name) in ("on", "1", "true", "yes")
    values["clienteles"] = [v for v in form.getlist("clienteles") if isinstance(v, str) and v][:20]
    values["plan_items"] = [v for v in form.getlist("plan_items") if isinstance(v, str) and v][:50]
    try:
        rows = max(0, min(int(_text(form, "partner_rows") or "0"), MAX_PARTNER_ROWS))
    except ValueError:
        rows = 0
    values["partners"] = [
        {
            "organization_id": _text(form, f"partner_org_{i}"),
            "role": _text(form, f"partner_role_{i}") or PartnerRole.PARTNER.value,
        }
        for i in range(rows)
    ]
    return values


def input_data(values: dict[str, Any]) -> dict[str, Any]:
    """The form values as EventIn input (empty optional fields left out)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = values.get(name, "")
        if name in OPTIONAL_FIELDS and value == "":
            continue
        data[name] = value
    for name in BOOL_FIELDS:
        data[name] = bool(values.get(name))
    data["clienteles"] = list(values.get("clienteles", []))
    data["plan_items"] = list(values.get("plan_items", []))
    data["partners"] = [
        {"organization_id": row["organization_id"], "role": row["role"]}
        for row in values.get("partners", [])
        if row.get("organization_id")
    ]
    return data


def form_errors(fields: dict[str, str]) -> dict[str, str]:
    """Service/pydantic field paths ("partners.0.role") folded onto the form's fields."""
    errors: dict[str, str] = {}
    for key, message in fields.items():
        name = key.split(".", 1)[0]
        errors.setdefault(name, message)
    return errors


def values_from_input(data: EventIn) -> dict[str, Any]:
    zone = data.timezone or service.LOCAL_TZ.key
    values: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = getattr(data, name, None)
        if isinstance(value, datetime):
            values[name] = local_input(value, zone)
        elif value is None:
            values[name] = ""
        elif hasattr(value, "value"):
            values[name] = value.value
        else:
            values[name] = str(value)
    for name in BOOL_FIELDS:
        values[name] = bool(getattr(data, name, False))
    values["clienteles"] = list(data.clienteles or [])
    values["plan_items"] = list(data.plan_items or [])
    partners = []
    for partner in data.partners or []:
        row = partner if isinstance(partner, dict) else partner.model_dump()
        role = row.get("role") or PartnerRole.PARTNER
        partners.append(
            {
                "organization_id": str(row.get("organization_id") or ""),
                "role": role.value if hasattr(role, "value") else str(role),
            }
        )
    values["partners"] = partners
    return values


def _default_values(parent: Event | None) -> dict[str, Any]:
    values: dict[str, Any] = {name: "" for name in TEXT_FIELDS}
    values.update(
        {
            "kind": EventKind.ACTIVITY.value if parent else EventKind.REGIONAL_EVENT.value,
            "timezone": service.LOCAL_TZ.key,
            "visibility": Visibility.PUBLIC.value,
            "registration_enabled": True,
            "waitlist": False,
            "requires_approval": False,
            "allow_walkins_over_capacity": False,
            "clienteles": [],
            "plan_items": [],
            "partners": [],
        }
    )
    if parent is not None:
        values["parent_id"] = str(parent.id)
        start = parent.starts_at.astimezone(service.LOCAL_TZ).replace(hour=9, minute=0)
        values["starts_at"] = local_input(start)
        values["ends_at"] = local_input(start + timedelta(hours=2))
        values["visibility"] = parent.visibility
    return values


async def _plan_options() -> list[tuple[str, str, str]]:
    """(code, title, level) in tree order, for the plan-item checkboxes."""
    rows: list[tuple[str, str, str]] = []

    def walk(nodes: list[people_service.PlanNode]) -> None:
        for node in nodes:
            rows.append((node.item.code, node.item.title, node.item.level))
            walk(node.children)

    walk(await people_service.plan_tree())
    return rows


async def _edition_options(current: str = "", exclude: int | None = None) -> list[tuple[str, str]]:
    query = (
        Event.filter(parent_id__isnull=True, kind__in=list(service.EDITION_KINDS))
        .exclude(status=EventStatus.CANCELLED)
        .order_by("-starts_at")
        .limit(100)
    )
    editions = list(await query)
    if current and current.isdigit() and all(str(e.id) != current for e in editions):
        extra = await Event.get_or_none(id=int(current))
        if extra is not None:
            editions.append(extra)
    return [
        (str(e.id), f"{e.title} ({i18n.format_short(e.starts_at)[:10]})")
        for e in editions
        if e.id != exclude
    ]


async def _event_form(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    event: Event | None = None,
    status_code: int = 200,
) -> Response:
    language = i18n.current_language.get()
    partners = list(values.get("partners") or [])
    partners += [
        {"organization_id": "", "role": PartnerRole.PARTNER.value}
        for _i in range(EXTRA_PARTNER_ROWS)
    ]
    values = {**values, "partners": partners[:MAX_PARTNER_ROWS]}
    context: dict[str, Any] = {
        "event": event,
        "values": values,
        "errors": errors,
        "action": f"/admin/events/{event.id}/edit" if event else "/admin/events/new",
        "mode_options": [(m.value, service.mode_label(m)) for m in AttendanceMode],
        "visibility_options": [(v.value, service.visibility_label(v)) for v in Visibility],
        "role_options": [(r.value, partner_role_label(r)) for r in PartnerRole],
        "timezone_options": [(z, z) for z in TIMEZONES],
        "organization_options": await people_service.organization_choices(),
        "edition_options": await _edition_options(
            str(values.get("parent_id") or ""), exclude=event.id if event else None
        ),
        "plan_options": await _plan_options(),
        "plan_levels": {level.value for level in PlanLevel},
        **await _reference(language=language),
        **_helpers(),
    }
    return render(request, "events/admin/form.html", context, status_code=status_code)


@requires("events.view")
async def admin_list(request: Request) -> Response:
    language = i18n.current_language.get()
    filters = service.EventFilters.from_params(request.query_params)
    filters.date_from = filters.date_to = filters.day = None
    filters.clientele = None
    page = _page(request)
    events, total = await service.list_events(
        _actor(request), filters, page=page, per_page=ADMIN_PER_PAGE, public=False
    )
    values = {
        "status": filters.status or "",
        "kind": filters.kind or "",
        "territory": filters.territory or "",
        "q": filters.q or "",
        "parent_id": str(filters.parent_id) if filters.parent_id is not None else "",
    }
    parent_ids = {e.id for e in events}
    with_children = set(
        await Event.filter(parent_id__in=list(parent_ids)).values_list("parent_id", flat=True)
    )
    context: dict[str, Any] = {
        "events": events,
        "total": total,
        "page": page,
        "has_next": page * ADMIN_PER_PAGE < total,
        "params": _params(values),
        "values": values,
        "errors": filters.errors,
        "editions": with_children,
        "status_options": [(s.value, service.status_label(s)) for s in EventStatus],
        "edition_options": await _edition_options(values["parent_id"]),
        **_helpers(),
        **await _reference(language=language),
    }
    return render(request, "events/admin/list.html", context)


@requires("events.edit")
async def admin_new(request: Request) -> Response:
    parent = None
    raw = (request.query_params.get("parent_id") or "").strip()
    if raw:
        if not raw.isdigit():
            raise NotFound()
        parent = await Event.get_or_none(id=int(raw))
        if parent is None:
            raise NotFound()
    return await _event_form(request, _default_values(parent), {})


@requires("events.edit")
async def admin_create(request: Request) -> Response:
    form = await read_form(request)
    values = form_values(form)
    try:
        data = validate(EventIn, input_data(values))
        event = await service.create_event(_actor(request), data)
    except ValidationFailed as error:
        return await _event_form(request, values, form_errors(error.fields), status_code=422)
    flash(request, _("L'événement a été créé (brouillon)."))
    return redirect(f"/admin/events/{event.id}")


@requires("events.edit")
async def admin_edit(request: Request) -> Response:
    event = await service.get_event(_actor(request), _event_id(request))
    if event.status == EventStatus.CANCELLED:
        flash(request, _("Un événement annulé ne peut plus être modifié."), "error")
        return redirect(f"/admin/events/{event.id}")
    values = values_from_input(await service.event_input(event))
    return await _event_form(request, values, {}, event=event)


@requires("events.edit")
async def admin_update(request: Request) -> Response:
    form = await read_form(request)
    event = await service.get_event(_actor(request), _event_id(request))
    values = form_values(form)
    try:
        data = validate(EventIn, input_data(values))
        await service.update_event(_actor(request), event.id, data)
    except ValidationFailed as error:
        return await _event_form(
            request, values, form_errors(error.fields), event=event, status_code=422
        )
    except Conflict as error:
        flash(request, error.message, "error")
        return redirect(f"/admin/events/{event.id}")
    flash(request, _("Les modifications ont été enregistrées."))
    return redirect(f"/admin/events/{event.id}")


@requires("events.view")
async def admin_detail(request: Request) -> Response:
    event = await service.get_event(_actor(request), _event_id(request))
    await event.fetch_related("clienteles", "plan_items")
    partners = (
        await EventPartner.filter(event_id=event.id)
        .select_related("organization")
        .order_by("role", "id")
    )
    children = list(
        await Event.filter(parent_id=event.id)
        .select_related("territory")
        .order_by("starts_at", "id")
    )
    children.sort(key=lambda c: (c.starts_at, c.territory.name if c.territory else "", c.id))
    is_edition = event.parent_id is None and (  # type: ignore[attr-defined]
        bool(children) or event.kind in service.EDITION_KINDS
    )
    totals = await service.edition_totals(event) if is_edition else None
    context: dict[str, Any] = {
        "event": event,
        "partners": partners,
        "children": children,
        "is_edition": is_edition,
        "totals": totals,
        "language": i18n.current_language.get(),
        **_helpers(),
    }
    return render(request, "events/admin/detail.html", context)


def _fail(request: Request, error: AppError, event_id: int) -> Response:
    message = error.message
    if error.fields:
        message += " " + " ".join(error.fields.values())
    flash(request, message, "error")
    return redirect(f"/admin/events/{event_id}")


@requires("events.edit")
async def admin_publish(request: Request) -> Response:
    await read_form(request)
    event_id = _event_id(request)
    try:
        await service.publish_event(_actor(request), event_id)
    except (Conflict, ValidationFailed) as error:
        return _fail(request, error, event_id)
    flash(request, _("L'événement est publié."))
    return redirect(f"/admin/events/{event_id}")


@requires("events.edit")
async def admin_cancel_page(request: Request) -> Response:
    event = await service.get_event(_actor(request), _event_id(request))
    if event.status == EventStatus.CANCELLED:
        flash(request, _("Cet événement est déjà annulé."), "error")
        return redirect(f"/admin/events/{event.id}")
    return render(
        request,
        "events/admin/confirm.html",
        {"event": event, "what": "cancel", "values": {}, "errors": {}, **_helpers()},
    )


@requires("events.edit")
async def admin_cancel(request: Request) -> Response:
    form = await read_form(request)
    event_id = _event_id(request)
    message = form.get("message", "")
    try:
        data = validate(CancelIn, {"message": message if isinstance(message, str) else ""})
        _event, notified = await service.cancel_event(_actor(request), event_id, data.message)
    except ValidationFailed as error:
        event = await service.get_event(_actor(request), event_id)
        return render(
            request,
            "events/admin/confirm.html",
            {
                "event": event,
                "what": "cancel",
                "values": {"message": message},
                "errors": form_errors(error.fields),
                **_helpers(),
            },
            status_code=422,
        )
    except Conflict as error:
        return _fail(request, error, event_id)
    flash(
        request,
        i18n.ngettext(
            "L'événement est annulé; %(num)s personne inscrite a été avisée.",
            "L'événement est annulé; %(num)s personnes inscrites ont été avisées.",
            notified,
        ),
    )
    return redirect(f"/admin/events/{event_id}")


@requires("events.edit")
async def admin_delete_page(request: Request) -> Response:
    event = await service.get_event(_actor(request), _event_id(request))
    if event.status != EventStatus.DRAFT:
        flash(
            request,
            _("Seuls les brouillons peuvent être supprimés; annulez plutôt l'événement."),
            "error",
        )
        return redirect(f"/admin/events/{event.id}")
    children = await Event.filter(parent_id=event.id).count()
    return render(
        request,
        "events/admin/confirm.html",
        {
            "event": event,
            "what": "delete",
            "children_count": children,
            "values": {},
            "errors": {},
            **_helpers(),
        },
    )


@requires("events.edit")
async def admin_delete(request: Request) -> Response:
    await read_form(request)
    event_id = _event_id(request)
    event = await service.get_event(_actor(request), event_id)
    parent_id = event.parent_id  # type: ignore[attr-defined]
    try:
        await service.delete_event(_actor(request), event_id)
    except Conflict as error:
        return _fail(request, error, event_id)
    flash(request, _("Le brouillon a été supprimé."))
    return redirect(f"/admin/events/{parent_id}" if parent_id else "/admin/events")


@requires("events.edit")
async def admin_duplicate_page(request: Request) -> Response:
    event = await service.get_event(_actor(request), _event_id(request))
    children = await Event.filter(parent_id=event.id).exclude(status=EventStatus.CANCELLED).count()
    return render(
        request,
        "events/admin/duplicate.html",
        {
            "event": event,
            "children_count": children,
            "values": {"shift_days": "364", "with_children": True},
            "errors": {},
            **_helpers(),
        },
    )


@requires("events.edit")
async def admin_duplicate(request: Request) -> Response:
    form = await read_form(request)
    event_id = _event_id(request)
    values = {
        "shift_days": _text(form, "shift_days") or "364",
        "with_children": form.get("with_children") in ("on", "1", "true"),
    }
    try:
        data = validate(DuplicateIn, values)
    except ValidationFailed as error:
        event = await service.get_event(_actor(request), event_id)
        children = await Event.filter(parent_id=event.id).count()
        return render(
            request,
            "events/admin/duplicate.html",
            {
                "event": event,
                "children_count": children,
                "values": values,
                "errors": form_errors(error.fields),
                **_helpers(),
            },
            status_code=422,
        )
    copy = await service.duplicate_event(
        _actor(request), event_id, shift_days=data.shift_days, with_children=data.with_children
    )
    flash(request, _("La copie a été créée (brouillon). Vérifiez-la avant de la publier."))
    return redirect(f"/admin/events/{copy.id}")


@requires("events.edit")
async def admin_territorial(request: Request) -> Response:
    await read_form(request)
    event_id = _event_id(request)
    try:
        created = await service.create_territorial_children(_actor(request), event_id)
    except (Conflict, ValidationFailed) as error:
        return _fail(request, error, event_id)
    if created:
        flash(
            request,
            i18n.ngettext(
                "%(num)s lancement territorial a été créé (brouillon).",
                "%(num)s lancements territoriaux ont été créés (brouillons).",
                len(created),
            ),
        )
    else:
        flash(request, _("Chaque MRC de la région a déjà son lancement."), "warning")
    return redirect(f"/admin/events/{event_id}")


routes = [
    Route("/events", public_list, name="events_list"),
    Route("/events/{id:int}", public_event, name="event_page"),
    Route("/jps", jps_calendar, name="jps_calendar"),
    Route("/admin/events", admin_list, name="admin_events"),
    Route("/admin/events/new", admin_new, name="admin_event_new"),
    Route("/admin/events/new", admin_create, methods=["POST"], name="admin_event_create"),
    Route("/admin/events/{id:int}", admin_detail, name="admin_event"),
    Route("/admin/events/{id:int}/edit", admin_edit, name="admin_event_edit"),
    Route("/admin/events/{id:int}/edit", admin_update, methods=["POST"], name="admin_event_update"),
    Route(
        "/admin/events/{id:int}/publish",
        admin_publish,
        methods=["POST"],
        name="admin_event_publish",
    ),
    Route("/admin/events/{id:int}/cancel", admin_cancel_page, name="admin_event_cancel_page"),
    Route(
        "/admin/events/{id:int}/cancel", admin_cancel, methods=["POST"], name="admin_event_cancel"
    ),
    Route("/admin/events/{id:int}/delete", admin_delete_page, name="admin_event_delete_page"),
    Route(
        "/admin/events/{id:int}/delete", admin_delete, methods=["POST"], name="admin_event_delete"
    ),
    Route(
        "/admin/events/{id:int}/duplicate",
        admin_duplicate_page,
        name="admin_event_duplicate_page",
    ),
    Route(
        "/admin/events/{id:int}/duplicate",
        admin_duplicate,
        methods=["POST"],
        name="admin_event_duplicate",
    ),
    Route(
        "/admin/events/{id:int}/territorial-launches",
        admin_territorial,
        methods=["POST"],
        name="admin_event_territorial",
    ),
]
