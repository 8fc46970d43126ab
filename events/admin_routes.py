"""The events back office: list, create, edit, publish, cancel, delete, duplicate, and an
edition's territorial launches.

Thin: the rules live in `events.service` and `events.editions`; the form's values and
their conversion to `EventIn` input and back live in `events.forms`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import i18n
from core.auth import requires
from core.errors import AppError, Conflict, NotFound, ValidationFailed
from core.http import actor_of, flash, path_id, read_form, redirect, validate
from core.i18n import _
from core.inputs import is_id
from core.settings import DEFAULT_TIME_ZONE
from core.templating import render
from events import editions, labels, service
from events.forms import (
    MAX_PARTNER_ROWS,
    default_values,
    field_text,
    form_errors,
    form_values,
    input_data,
    values_from_input,
)
from events.listing import EventFilters, list_events
from events.models import AttendanceMode, Event, EventStatus, PartnerRole, Visibility
from events.public_routes import page_of, pager_params, reference_options, template_helpers
from events.schemas import CancelIn, DuplicateIn, EventIn
from events.signals import EventPanelsAsked, event_admin_panels
from people import organizations as people_organizations
from people import plans as people_plans
from people.models import PlanLevel

ADMIN_PER_PAGE = 50
EXTRA_PARTNER_ROWS = 3
TIMEZONES = (DEFAULT_TIME_ZONE, "America/Halifax", "America/Blanc-Sablon")


async def _plan_options(plan_id: str = "") -> tuple[str, list[tuple[str, str, str]]]:
    """The plan whose items the form offers (the event's, else the current one) and its
    (code, title, level) rows in tree order, for the plan-item checkboxes."""
    rows: list[tuple[str, str, str]] = []

    def walk(nodes: list[people_plans.PlanNode]) -> None:
        for node in nodes:
            rows.append((node.item.code, node.item.title, node.item.level))
            walk(node.children)

    plan = await people_plans.plan_by_id(plan_id) or await people_plans.plan_for_year(None)
    if plan is None:
        return "", rows
    walk(await people_plans.plan_tree(plan.id))
    return str(plan.id), rows


async def _edition_options(current: str = "", exclude: int | None = None) -> list[tuple[str, str]]:
    return [
        (str(e.id), f"{e.title} ({i18n.format_short(e.starts_at)[:10]})")
        for e in await editions.edition_choices(current, exclude)
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
    plan_id, plan_options = await _plan_options(str(values.get("plan_id") or ""))
    values = {**values, "partners": partners[:MAX_PARTNER_ROWS], "plan_id": plan_id}
    context: dict[str, Any] = {
        "event": event,
        "values": values,
        "errors": errors,
        "action": f"/admin/events/{event.id}/edit" if event else "/admin/events/new",
        "mode_options": [(m.value, labels.mode_label(m)) for m in AttendanceMode],
        "visibility_options": [(v.value, labels.visibility_label(v)) for v in Visibility],
        "role_options": [(r.value, labels.partner_role_label(r)) for r in PartnerRole],
        "phone_field_options": labels.phone_field_choices(),
        "timezone_options": [(z, z) for z in TIMEZONES],
        "organization_options": await people_organizations.organization_choices(),
        "edition_options": await _edition_options(
            str(values.get("parent_id") or ""), exclude=event.id if event else None
        ),
        "plan_options": plan_options,
        "plan_levels": {level.value for level in PlanLevel},
        **await reference_options(language=language),
        **template_helpers(),
    }
    return render(request, "events/admin/form.html", context, status_code=status_code)


@requires("events.view")
async def admin_list(request: Request) -> Response:
    language = i18n.current_language.get()
    filters = EventFilters.from_params(request.query_params)
    filters.date_from = filters.date_to = filters.day = None
    filters.clientele = None
    page = page_of(request)
    events, total = await list_events(
        actor_of(request), filters, page=page, per_page=ADMIN_PER_PAGE, public=False
    )
    values = {
        "status": filters.status or "",
        "kind": filters.kind or "",
        "territory": filters.territory or "",
        "q": filters.q or "",
        "parent_id": str(filters.parent_id) if filters.parent_id is not None else "",
    }
    with_children = await editions.editions_among([e.id for e in events])
    context: dict[str, Any] = {
        "events": events,
        "total": total,
        "page": page,
        "has_next": page * ADMIN_PER_PAGE < total,
        "params": pager_params(values),
        "values": values,
        "errors": filters.errors,
        "editions": with_children,
        "status_options": [(s.value, labels.status_label(s)) for s in EventStatus],
        "edition_options": await _edition_options(values["parent_id"]),
        **template_helpers(),
        **await reference_options(language=language),
    }
    return render(request, "events/admin/list.html", context)


@requires("events.edit")
async def admin_new(request: Request) -> Response:
    parent = None
    raw = (request.query_params.get("parent_id") or "").strip()
    if raw:
        if not is_id(raw):
            raise NotFound()
        parent = await service.get_event(actor_of(request), int(raw))
    return await _event_form(request, default_values(parent), {})


@requires("events.edit")
async def admin_create(request: Request) -> Response:
    form = await read_form(request)
    values = form_values(form)
    try:
        data = validate(EventIn, input_data(values))
        event = await service.create_event(actor_of(request), data)
    except ValidationFailed as error:
        return await _event_form(request, values, form_errors(error.fields), status_code=422)
    flash(request, _("L'événement a été créé (brouillon)."))
    return redirect(f"/admin/events/{event.id}")


@requires("events.edit")
async def admin_edit(request: Request) -> Response:
    event = await service.get_event(actor_of(request), path_id(request))
    if event.status == EventStatus.CANCELLED:
        flash(request, _("Un événement annulé ne peut plus être modifié."), "error")
        return redirect(f"/admin/events/{event.id}")
    values = values_from_input(await service.event_input(event))
    return await _event_form(request, values, {}, event=event)


@requires("events.edit")
async def admin_update(request: Request) -> Response:
    form = await read_form(request)
    event = await service.get_event(actor_of(request), path_id(request))
    values = form_values(form)
    confirmed = form.get("confirm_over_capacity") in ("on", "1", "true", "yes")
    try:
        data = validate(EventIn, {**input_data(values), "confirm_over_capacity": confirmed})
        await service.update_event(actor_of(request), event.id, data)
    except ValidationFailed as error:
        return await _event_form(
            request, values, form_errors(error.fields), event=event, status_code=422
        )
    except service.OverCapacity as error:  # shown again with a confirmation checkbox
        values["over_capacity"] = error.over_by
        return await _event_form(
            request, values, {"capacity": error.message}, event=event, status_code=409
        )
    except Conflict as error:
        flash(request, error.message, "error")
        return redirect(f"/admin/events/{event.id}")
    flash(request, _("Les modifications ont été enregistrées."))
    return redirect(f"/admin/events/{event.id}")


@requires("events.view")
async def admin_detail(request: Request) -> Response:
    event = await service.get_event(actor_of(request), path_id(request))
    await service.load_relations(event)
    children = await editions.children_of(event)
    is_edition = editions.is_edition(event, children)
    totals = await editions.edition_totals(event) if is_edition else None
    context: dict[str, Any] = {
        "event": event,
        "partners": await service.partners_of(event),
        "children": children,
        "is_edition": is_edition,
        "totals": totals,
        "language": i18n.current_language.get(),
        "panels": [
            panel
            for panel in await event_admin_panels.send(EventPanelsAsked(actor_of(request), event))
            if panel is not None
        ],
        **template_helpers(),
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
    event_id = path_id(request)
    try:
        await service.publish_event(actor_of(request), event_id)
    except (Conflict, ValidationFailed) as error:
        return _fail(request, error, event_id)
    flash(request, _("L'événement est publié."))
    return redirect(f"/admin/events/{event_id}")


@requires("events.edit")
async def admin_cancel_page(request: Request) -> Response:
    event = await service.get_event(actor_of(request), path_id(request))
    if event.status == EventStatus.CANCELLED:
        flash(request, _("Cet événement est déjà annulé."), "error")
        return redirect(f"/admin/events/{event.id}")
    return render(
        request,
        "events/admin/confirm.html",
        {"event": event, "what": "cancel", "values": {}, "errors": {}, **template_helpers()},
    )


@requires("events.edit")
async def admin_cancel(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request)
    message = form.get("message", "")
    try:
        data = validate(CancelIn, {"message": message if isinstance(message, str) else ""})
        _event, notified = await service.cancel_event(actor_of(request), event_id, data.message)
    except ValidationFailed as error:
        event = await service.get_event(actor_of(request), event_id)
        return render(
            request,
            "events/admin/confirm.html",
            {
                "event": event,
                "what": "cancel",
                "values": {"message": message},
                "errors": form_errors(error.fields),
                **template_helpers(),
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
    event = await service.get_event(actor_of(request), path_id(request))
    if event.status != EventStatus.DRAFT:
        flash(
            request,
            _("Seuls les brouillons peuvent être supprimés; annulez plutôt l'événement."),
            "error",
        )
        return redirect(f"/admin/events/{event.id}")
    children = await editions.children_count(event)
    return render(
        request,
        "events/admin/confirm.html",
        {
            "event": event,
            "what": "delete",
            "children_count": children,
            "values": {},
            "errors": {},
            **template_helpers(),
        },
    )


@requires("events.edit")
async def admin_delete(request: Request) -> Response:
    await read_form(request)
    event_id = path_id(request)
    event = await service.get_event(actor_of(request), event_id)
    parent_id = event.parent_id
    try:
        await service.delete_event(actor_of(request), event_id)
    except Conflict as error:
        return _fail(request, error, event_id)
    flash(request, _("Le brouillon a été supprimé."))
    return redirect(f"/admin/events/{parent_id}" if parent_id else "/admin/events")


@requires("events.edit")
async def admin_duplicate_page(request: Request) -> Response:
    event = await service.get_event(actor_of(request), path_id(request))
    children = await editions.children_count(event, with_cancelled=False)
    return render(
        request,
        "events/admin/duplicate.html",
        {
            "event": event,
            "children_count": children,
            "values": {"shift_days": "364", "with_children": True},
            "errors": {},
            **template_helpers(),
        },
    )


@requires("events.edit")
async def admin_duplicate(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request)
    values = {
        "shift_days": field_text(form, "shift_days") or "364",
        "with_children": form.get("with_children") in ("on", "1", "true"),
    }
    try:
        data = validate(DuplicateIn, values)
    except ValidationFailed as error:
        event = await service.get_event(actor_of(request), event_id)
        children = await editions.children_count(event)
        return render(
            request,
            "events/admin/duplicate.html",
            {
                "event": event,
                "children_count": children,
                "values": values,
                "errors": form_errors(error.fields),
                **template_helpers(),
            },
            status_code=422,
        )
    copy = await editions.duplicate_event(
        actor_of(request), event_id, shift_days=data.shift_days, with_children=data.with_children
    )
    flash(request, _("La copie a été créée (brouillon). Vérifiez-la avant de la publier."))
    return redirect(f"/admin/events/{copy.id}")


@requires("events.edit")
async def admin_territorial(request: Request) -> Response:
    await read_form(request)
    event_id = path_id(request)
    try:
        created = await editions.create_territorial_children(actor_of(request), event_id)
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
