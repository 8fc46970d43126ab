"""Back-office pages for registrations and custom questions, and the organizer's JSON list
(`GET /api/v1/events/{id}/registrations`, also as CSV or XLSX). Thin: the rules live in
the back-office domain modules (`listing`, `actions`, `exports`, `questions`) and
`registrations.service`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import authorize, requires
from core.errors import AppError, Conflict, ValidationFailed
from core.http import (
    actor_of,
    flash,
    int_query_param,
    json_response,
    path_id,
    read_form,
    redirect,
    settings_of,
)
from core.i18n import _, current_language
from core.inputs import is_id
from core.openapi import api_doc, choice_query_schema, page_params
from core.paging import MAX_PAGE, page_number
from core.templating import render
from people import reference as people
from registrations import access, actions, capacity, exports, labels, listing, service
from registrations.answers import event_questions
from registrations.manage_links import manage_url
from registrations.models import Question, QuestionKind, RegistrationStatus

PER_PAGE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _list_url(event_id: int, query: str = "") -> str:
    return f"/admin/events/{event_id}/registrations" + (f"?{query}" if query else "")


def _ids(form: FormData) -> list[int]:
    ids = []
    for raw in form.getlist("ids"):
        if isinstance(raw, str) and is_id(raw.strip()):
            ids.append(int(raw.strip()))
    return ids


def _back_query(form: FormData) -> str:
    """The list's filters, sent back by the bulk form (re-encoded, never a URL)."""
    raw = form.get("back", "")
    if not isinstance(raw, str):
        return ""
    from urllib.parse import parse_qsl, urlencode

    allowed = {"status", "clientele", "territory", "q", "page"}
    return urlencode([(k, v) for k, v in parse_qsl(raw[:1000]) if k in allowed])


async def _reference() -> dict[str, Any]:
    language = current_language.get()
    clienteles = await people.list_clienteles()
    groups = await people.territories_by_region()
    return {
        "clientele_options": [(c.code, c.name(language)) for c in clienteles if c.active],
        "territory_options": people.territory_choices(groups),
        "status_options": labels.status_choices(),
    }


# --------------------------------------------------------------------------- list


@requires("events.view")
async def registration_list(request: Request) -> Response:
    actor = actor_of(request)
    event_id = path_id(request, "event_id")
    event = await access.get_event(actor, event_id)
    filters = listing.RegistrationFilters.from_params(request.query_params)
    page = page_number(request.query_params.get("page", "1"))
    result = await listing.list_registrations(
        actor, event_id, filters, page=page, per_page=PER_PAGE
    )
    totals = await listing.counts(actor, event_id, language=current_language.get())
    positions = await capacity.waitlist_positions(event_id)
    query = filters.query_string()
    context: dict[str, Any] = {
        "event": event,
        "result": result,
        "filters": filters.as_dict(),
        "filter_errors": filters.errors,
        "query": query,
        "params": "&" + query if query else "",
        "back": query + (f"&page={page}" if page > 1 else ""),
        "counts": totals,
        "positions": positions,
        "can_manage": actor.can("registrations.manage", event_id=event_id),
        **labels.template_helpers(),
        **await _reference(),
    }
    return render(request, "registrations/admin/list.html", context)


@requires("registrations.manage")
async def registration_bulk(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request, "event_id")
    action = form.get("action", "")
    ids = _ids(form)
    back = _back_query(form)
    if not ids:
        flash(request, _("Cochez au moins une inscription."), "error")
        return redirect(_list_url(event_id, back))
    try:
        result = await actions.bulk_action(
            actor_of(request), settings_of(request), event_id, str(action), ids
        )
    except ValidationFailed as error:
        flash(request, " ".join(error.fields.values()) or error.message, "error")
        return redirect(_list_url(event_id, back))
    if action == "approve":
        message = _(
            "Approuvées : %(done)s confirmée(s), %(wait)s en liste d'attente.",
            done=result.done,
            wait=result.waitlisted,
        )
        if result.full:
            message += " " + _(
                "%(n)s n'ont pas pu l'être : l'événement est complet.", n=result.full
            )
    elif action == "decline":
        message = _("%(n)s inscription(s) refusée(s).", n=result.done)
    else:
        message = _("%(n)s inscription(s) annulée(s).", n=result.done)
    if result.skipped:
        message += " " + _("%(n)s ignorée(s) (leur statut ne le permettait pas).", n=result.skipped)
    flash(request, message)
    return redirect(_list_url(event_id, back))


# --------------------------------------------------------------------------- add by hand


async def _new_form(
    request: Request,
    event_id: int,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
    message: str = "",
) -> Response:
    actor = actor_of(request)
    event = await actions.event_for_new(actor, event_id)
    reference = await _reference()
    if event.clienteles:
        language = current_language.get()
        reference["clientele_options"] = [(c.code, c.name(language)) for c in event.clienteles]
    context = {
        "event": event,
        "values": values,
        "errors": errors,
        "message": message,
        "questions": await event_questions(event_id),
        "consent_options": [
            (purpose.value, wording)
            for purpose, wording in service.CONSENT_WORDING.items()
            if purpose.value != "parental"
        ],
        **labels.template_helpers(),
        **reference,
    }
    return render(request, "registrations/admin/new.html", context, status_code=status_code)


REGISTRATION_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "clientele",
    "organization",
    "territory",
    "language",
    "party_size",
]


def _answers_from_form(questions: list[Question], form: FormData) -> dict[str, Any]:
    """The `q_<id>` fields of a form as the answers dict `clean_answers` expects."""
    answers: dict[str, Any] = {}
    for question in questions:
        name = f"q_{question.id}"
        if question.kind == QuestionKind.MULTIPLE_CHOICE:
            values = [v for v in form.getlist(name) if isinstance(v, str) and v]
            if values:
                answers[str(question.id)] = values
        else:
            value = form.get(name)
            if isinstance(value, str) and value.strip():
                answers[str(question.id)] = value.strip()
    return answers


def _registration_form_data(form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in REGISTRATION_FIELDS:
        value = form.get(name, "")
        data[name] = value.strip() if isinstance(value, str) else ""
    data["territory"] = data["territory"] or None
    data["party_size"] = data["party_size"] or "1"
    data["language"] = data["language"] or "fr"
    data["consents"] = [c for c in form.getlist("consents") if isinstance(c, str) and c]
    data["under_14"] = form.get("under_14") in ("1", "on", "true")
    data["guardian_consent"] = form.get("guardian_consent") in ("1", "on", "true")
    return data


def _form_field(key: str) -> str:
    """`answers.12` (service field errors) -> `q_12` (form field)."""
    if key.startswith("answers."):
        return "q_" + key.split(".", 1)[1]
    return key


@requires("registrations.manage")
async def registration_new(request: Request) -> Response:
    values = {"language": "fr", "party_size": "1", "answers": {}, "consents": []}
    return await _new_form(request, path_id(request, "event_id"), values, {})


@requires("registrations.manage")
async def registration_create(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request, "event_id")
    data = _registration_form_data(form)
    data["answers"] = _answers_from_form(await event_questions(event_id), form)
    try:
        result = await actions.add_registration(
            actor_of(request), settings_of(request), event_id, data
        )
    except (ValidationFailed, Conflict) as error:
        values = _registration_form_data(form)
        values["answers"] = {
            key: [v for v in form.getlist(key) if isinstance(v, str)]
            for key in form
            if key.startswith("q_")
        }
        status = 422 if isinstance(error, ValidationFailed) else 409
        message = error.message
        if error.code == "already_registered":
            message = _(
                "Cette personne est déjà inscrite à cet événement : retrouvez son inscription "
                "dans la liste (recherche par courriel)."
            )
        return await _new_form(
            request,
            event_id,
            values,
            {_form_field(k): v for k, v in error.fields.items()},
            status_code=status,
            message=message,
        )
    registration = result.registration
    flash(
        request,
        _(
            "Inscription ajoutée (%(status)s).",
            status=labels.status_label(registration.status),
        ),
    )
    return redirect(f"/admin/registrations/{registration.id}")


# --------------------------------------------------------------------------- detail


@requires("events.view")
async def registration_detail(request: Request) -> Response:
    actor = actor_of(request)
    registration = await listing.get_registration(actor, path_id(request))
    event_id = registration.event_id
    can_manage = actor.can("registrations.manage", event_id=event_id)
    context: dict[str, Any] = {
        "registration": registration,
        "event": registration.event,
        "person": registration.person,
        "waitlist_position": await capacity.waitlist_position(registration),
        "answers": await listing.answer_lines(registration),
        "consents": await listing.consents(registration),
        "history": await listing.history(registration),
        "can_manage": can_manage,
        "manage_url": manage_url(settings_of(request), registration) if can_manage else "",
        "move_targets": await listing.move_targets(actor, registration) if can_manage else [],
        "is_active": registration.is_active,
        "errors": {},
        **labels.template_helpers(),
    }
    return render(request, "registrations/admin/detail.html", context)


def _detail_url(registration_id: int) -> str:
    return f"/admin/registrations/{registration_id}"


def _fail(request: Request, error: AppError, registration_id: int) -> Response:
    message = error.message
    if error.fields:
        message = " ".join(error.fields.values())
    flash(request, message, "error")
    return redirect(_detail_url(registration_id))


@requires("registrations.manage")
async def registration_approve(request: Request) -> Response:
    await read_form(request)
    registration_id = path_id(request)
    counts = await actions.approve_one(actor_of(request), settings_of(request), registration_id)
    if counts["confirmed"]:
        flash(request, _("Inscription approuvée et confirmée."))
    elif counts["waitlisted"]:
        flash(request, _("Inscription approuvée; l'événement est complet : liste d'attente."))
    elif counts["full"]:
        flash(request, _("Impossible d'approuver : l'événement est complet."), "error")
    else:
        flash(request, _("Cette inscription n'attendait pas d'approbation."), "error")
    return redirect(_detail_url(registration_id))


@requires("registrations.manage")
async def registration_decline(request: Request) -> Response:
    await read_form(request)
    registration_id = path_id(request)
    if await actions.decline_one(actor_of(request), settings_of(request), registration_id):
        flash(request, _("Inscription refusée; la personne en est avisée par courriel."))
    else:
        flash(request, _("Cette inscription n'est plus active."), "error")
    return redirect(_detail_url(registration_id))


@requires("registrations.manage")
async def registration_cancel(request: Request) -> Response:
    await read_form(request)
    registration_id = path_id(request)
    try:
        await actions.cancel_one(actor_of(request), settings_of(request), registration_id)
    except Conflict as error:
        return _fail(request, error, registration_id)
    flash(request, _("Inscription annulée; les places libérées ont été offertes à la liste."))
    return redirect(_detail_url(registration_id))


@requires("registrations.manage")
async def registration_move(request: Request) -> Response:
    form = await read_form(request)
    registration_id = path_id(request)
    try:
        moved = await actions.move_registration(
            actor_of(request), settings_of(request), registration_id, form.get("target_event_id")
        )
    except (ValidationFailed, Conflict) as error:
        return _fail(request, error, registration_id)
    flash(
        request, _("Inscription déplacée (%(status)s).", status=labels.status_label(moved.status))
    )
    return redirect(_detail_url(moved.id))


@requires("registrations.manage")
async def registration_party_size(request: Request) -> Response:
    form = await read_form(request)
    registration_id = path_id(request)
    try:
        await actions.change_party_size(
            actor_of(request), settings_of(request), registration_id, form.get("party_size")
        )
    except (ValidationFailed, Conflict) as error:
        return _fail(request, error, registration_id)
    flash(request, _("Taille du groupe modifiée."))
    return redirect(_detail_url(registration_id))


# --------------------------------------------------------------------------- exports


def _download(export: exports.Export, fmt: str) -> Response:
    if fmt == "xlsx":
        body, media_type = exports.to_xlsx(export), XLSX_TYPE
    else:
        body, media_type = exports.to_csv(export), "text/csv; charset=utf-8"
    filename = f"{export.filename_stem}.{fmt}"
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"; '
            f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


@requires("registrations.manage")
async def export_csv(request: Request) -> Response:
    filters = listing.RegistrationFilters.from_params(request.query_params)
    export = await exports.export_rows(actor_of(request), path_id(request, "event_id"), filters)
    return _download(export, "csv")


@requires("registrations.manage")
async def export_xlsx(request: Request) -> Response:
    filters = listing.RegistrationFilters.from_params(request.query_params)
    export = await exports.export_rows(actor_of(request), path_id(request, "event_id"), filters)
    return _download(export, "xlsx")


@requires("events.view")
async def attendance_sheet(request: Request) -> Response:
    actor = actor_of(request)
    event_id = path_id(request, "event_id")
    event = await access.get_event(actor, event_id)
    rows = await listing.attendance(actor, event_id)
    context = {
        "event": event,
        "rows": rows,
        "heads": sum(r.party_size for r in rows),
        **labels.template_helpers(),
    }
    return render(request, "registrations/admin/attendance.html", context)


# --------------------------------------------------------------------------- JSON API

MAX_PER_PAGE = 500
API_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": desc}
    for name, schema, desc in (
        (
            "status",
            choice_query_schema([s.value for s in RegistrationStatus]),
            "statut de l'inscription",
        ),
        ("clientele", {"type": "string"}, "code de clientèle cible"),
        ("territory", {"type": "string"}, "code de MRC (ou de région, qui inclut ses MRC)"),
        ("q", {"type": "string"}, "nom, courriel, organisme ou code du billet"),
        (
            "format",
            choice_query_schema(["json", "csv", "xlsx"]),
            "json (défaut, paginé) ou export complet csv / xlsx",
        ),
    )
] + page_params(MAX_PER_PAGE)
REGISTRATION_LIST_SCHEMA = {
    "type": "object",
    "required": ["items", "total", "page", "per_page"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "status": {"type": "string"},
                    "first_name": {"type": "string"},
                    "last_name": {"type": "string"},
                    "email": {"type": ["string", "null"]},
                    "clientele": {"type": "string"},
                    "territory": {"type": ["string", "null"]},
                    "organization": {"type": ["string", "null"]},
                    "language": {"type": "string"},
                    "party_size": {"type": "integer"},
                    "answers": {"type": "object"},
                    "waitlist_position": {"type": ["integer", "null"]},
                    "source": {"type": "string"},
                    "ticket_code": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                },
            },
        },
        "total": {"type": "integer"},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
    },
}


@api_doc(
    summary="Lister les inscriptions d'un événement (JSON, CSV ou XLSX)",
    tags=["inscriptions"],
    params=API_PARAMS,
    errors=[401, 403, 404, 422],
    response_content={
        "application/json": {"schema": REGISTRATION_LIST_SCHEMA},
        "text/csv": {"schema": {"type": "string"}},
        XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
    },
)
@requires("registrations.manage")
async def api_list(request: Request) -> Response:
    # Same path as the public POST (registrations.api_routes), hence `{id}` and not `{event_id}`:
    # the event scope is checked here.
    event_id = path_id(request)
    actor = actor_of(request)
    authorize(actor, "registrations.manage", event_id=event_id)
    filters = listing.RegistrationFilters.from_params(request.query_params)
    fmt = (request.query_params.get("format") or "json").strip().lower()
    if fmt not in ("json", "csv", "xlsx"):
        filters.errors["format"] = _("Format inconnu (json, csv ou xlsx).")
    if filters.errors:
        raise ValidationFailed(fields=filters.errors)
    # Checked for every format (the document declares them for all), used by JSON only.
    page = int_query_param(request, "page", 1, 1, MAX_PAGE)
    per_page = int_query_param(request, "per_page", 50, 1, MAX_PER_PAGE)
    if fmt in ("csv", "xlsx"):
        export = await exports.export_rows(actor, event_id, filters)
        return _download(export, fmt)
    body = await listing.api_items(actor, event_id, filters, page=page, per_page=per_page)
    return json_response(body)


EVENT = "/admin/events/{event_id:int}"

routes: list = [
    Route(EVENT + "/registrations", registration_list, name="admin_registrations"),
    Route(
        EVENT + "/registrations/bulk",
        registration_bulk,
        methods=["POST"],
        name="admin_registrations_bulk",
    ),
    Route(EVENT + "/registrations/new", registration_new, name="admin_registration_new"),
    Route(
        EVENT + "/registrations/new",
        registration_create,
        methods=["POST"],
        name="admin_registration_create",
    ),
    Route(EVENT + "/registrations/export.csv", export_csv, name="admin_registrations_csv"),
    Route(EVENT + "/registrations/export.xlsx", export_xlsx, name="admin_registrations_xlsx"),
    Route(
        EVENT + "/registrations/attendance", attendance_sheet, name="admin_registrations_attendance"
    ),
    Route("/admin/registrations/{id:int}", registration_detail, name="admin_registration"),
    Route(
        "/admin/registrations/{id:int}/approve",
        registration_approve,
        methods=["POST"],
        name="admin_registration_approve",
    ),
    Route(
        "/admin/registrations/{id:int}/decline",
        registration_decline,
        methods=["POST"],
        name="admin_registration_decline",
    ),
    Route(
        "/admin/registrations/{id:int}/cancel",
        registration_cancel,
        methods=["POST"],
        name="admin_registration_cancel",
    ),
    Route(
        "/admin/registrations/{id:int}/move",
        registration_move,
        methods=["POST"],
        name="admin_registration_move",
    ),
    Route(
        "/admin/registrations/{id:int}/party-size",
        registration_party_size,
        methods=["POST"],
        name="admin_registration_party_size",
    ),
    Route("/api/v1/events/{id:int}/registrations", api_list, name="api_event_registrations"),
]
