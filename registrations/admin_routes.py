"""Back-office pages for registrations and custom questions, and the organizer's JSON list
(`GET /api/v1/events/{id}/registrations`, also as CSV or XLSX). Thin: the rules live in
`registrations.admin` and `registrations.service`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import Principal, authorize, requires
from core.errors import AppError, Conflict, ValidationFailed
from core.http import flash, int_query_param, json_response, read_form, redirect
from core.i18n import _, current_language
from core.openapi import api_doc
from core.paging import page_number
from core.templating import render
from people import reference as people
from registrations import admin, service
from registrations.models import Question, RegistrationStatus

PER_PAGE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _actor(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def _settings(request: Request) -> Any:
    return request.app.state.settings


def _event_id(request: Request) -> int:
    return int(request.path_params["event_id"])


def _list_url(event_id: int, query: str = "") -> str:
    return f"/admin/events/{event_id}/registrations" + (f"?{query}" if query else "")


def _ids(form: FormData) -> list[int]:
    ids = []
    for raw in form.getlist("ids"):
        if isinstance(raw, str) and raw.strip().isdigit():
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


def _helpers() -> dict[str, Any]:
    return {
        "status_label": admin.status_label,
        "source_label": admin.source_label,
        "kind_label": admin.kind_label,
        "action_label": admin.action_label,
        "purpose_label": people.purpose_label,
        "language": current_language.get(),
    }


async def _reference() -> dict[str, Any]:
    language = current_language.get()
    clienteles = await people.list_clienteles()
    groups = await people.territories_by_region()
    return {
        "clientele_options": [(c.code, c.name(language)) for c in clienteles if c.active],
        "territory_options": people.territory_choices(groups),
        "status_options": admin.status_choices(),
    }


# --------------------------------------------------------------------------- list


@requires("events.view")
async def registration_list(request: Request) -> Response:
    actor = _actor(request)
    event_id = _event_id(request)
    event = await admin.get_event(actor, event_id)
    filters = admin.RegistrationFilters.from_params(request.query_params)
    page = page_number(request.query_params.get("page", "1"))
    result = await admin.list_registrations(actor, event_id, filters, page=page, per_page=PER_PAGE)
    totals = await admin.counts(actor, event_id, language=current_language.get())
    positions = await admin.waitlist_positions(event_id)
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
        **_helpers(),
        **await _reference(),
    }
    return render(request, "registrations/admin/list.html", context)


@requires("registrations.manage")
async def registration_bulk(request: Request) -> Response:
    form = await read_form(request)
    event_id = _event_id(request)
    action = form.get("action", "")
    ids = _ids(form)
    back = _back_query(form)
    if not ids:
        flash(request, _("Cochez au moins une inscription."), "error")
        return redirect(_list_url(event_id, back))
    try:
        result = await admin.bulk_action(
            _actor(request), _settings(request), event_id, str(action), ids
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
    actor = _actor(request)
    event = await admin.get_event(actor, event_id, manage=True)
    await event.fetch_related("clienteles")
    reference = await _reference()
    if event.clienteles:
        language = current_language.get()
        reference["clientele_options"] = [(c.code, c.name(language)) for c in event.clienteles]
    context = {
        "event": event,
        "values": values,
        "errors": errors,
        "message": message,
        "questions": await service.event_questions(event_id),
        "consent_options": [
            (purpose.value, wording)
            for purpose, wording in service.CONSENT_WORDING.items()
            if purpose.value != "parental"
        ],
        **_helpers(),
        **reference,
    }
    return render(request, "registrations/admin/new.html", context, status_code=status_code)


@requires("registrations.manage")
async def registration_new(request: Request) -> Response:
    values = {"language": "fr", "party_size": "1", "answers": {}, "consents": []}
    return await _new_form(request, _event_id(request), values, {})


@requires("registrations.manage")
async def registration_create(request: Request) -> Response:
    form = await read_form(request)
    event_id = _event_id(request)
    try:
        result = await admin.add_registration(_actor(request), _settings(request), event_id, form)
    except (ValidationFailed, Conflict) as error:
        values = admin.registration_form_data(form)
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
            error.fields,
            status_code=status,
            message=message,
        )
    registration = result.registration
    flash(
        request,
        _(
            "Inscription ajoutée (%(status)s).",
            status=admin.status_label(registration.status),
        ),
    )
    return redirect(f"/admin/registrations/{registration.id}")


# --------------------------------------------------------------------------- detail


@requires("events.view")
async def registration_detail(request: Request) -> Response:
    actor = _actor(request)
    registration = await admin.get_registration(actor, int(request.path_params["id"]))
    event_id = registration.event_id  # type: ignore[attr-defined]
    can_manage = actor.can("registrations.manage", event_id=event_id)
    context: dict[str, Any] = {
        "registration": registration,
        "event": registration.event,
        "person": registration.person,
        "waitlist_position": await service.waitlist_position(registration),
        "answers": await admin.answer_lines(registration),
        "consents": await admin.consents(registration),
        "history": await admin.history(registration),
        "can_manage": can_manage,
        "manage_url": service.manage_url(_settings(request), registration) if can_manage else "",
        "move_targets": await admin.move_targets(actor, registration) if can_manage else [],
        "is_active": registration.status
        in (
            RegistrationStatus.CONFIRMED,
            RegistrationStatus.WAITLISTED,
            RegistrationStatus.PENDING_APPROVAL,
        ),
        "errors": {},
        **_helpers(),
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
    registration_id = int(request.path_params["id"])
    counts = await admin.approve_one(_actor(request), _settings(request), registration_id)
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
    registration_id = int(request.path_params["id"])
    if await admin.decline_one(_actor(request), _settings(request), registration_id):
        flash(request, _("Inscription refusée; la personne en est avisée par courriel."))
    else:
        flash(request, _("Cette inscription n'est plus active."), "error")
    return redirect(_detail_url(registration_id))


@requires("registrations.manage")
async def registration_cancel(request: Request) -> Response:
    await read_form(request)
    registration_id = int(request.path_params["id"])
    try:
        await admin.cancel_one(_actor(request), _settings(request), registration_id)
    except Conflict as error:
        return _fail(request, error, registration_id)
    flash(request, _("Inscription annulée; les places libérées ont été offertes à la liste."))
    return redirect(_detail_url(registration_id))


@requires("registrations.manage")
async def registration_move(request: Request) -> Response:
    form = await read_form(request)
    registration_id = int(request.path_params["id"])
    try:
        moved = await admin.move_registration(
            _actor(request), _settings(request), registration_id, form.get("target_event_id")
        )
    except (ValidationFailed, Conflict) as error:
        return _fail(request, error, registration_id)
    flash(request, _("Inscription déplacée (%(status)s).", status=admin.status_label(moved.status)))
    return redirect(_detail_url(moved.id))


@requires("registrations.manage")
async def registration_party_size(request: Request) -> Response:
    form = await read_form(request)
    registration_id = int(request.path_params["id"])
    try:
        await admin.change_party_size(
            _actor(request), _settings(request), registration_id, form.get("party_size")
        )
    except (ValidationFailed, Conflict) as error:
        return _fail(request, error, registration_id)
    flash(request, _("Taille du groupe modifiée."))
    return redirect(_detail_url(registration_id))


# --------------------------------------------------------------------------- exports


def _download(export: admin.Export, fmt: str) -> Response:
    if fmt == "xlsx":
        body, media_type = admin.to_xlsx(export), XLSX_TYPE
    else:
        body, media_type = admin.to_csv(export), "text/csv; charset=utf-8"
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
    filters = admin.RegistrationFilters.from_params(request.query_params)
    export = await admin.export_rows(_actor(request), _event_id(request), filters)
    return _download(export, "csv")


@requires("registrations.manage")
async def export_xlsx(request: Request) -> Response:
    filters = admin.RegistrationFilters.from_params(request.query_params)
    export = await admin.export_rows(_actor(request), _event_id(request), filters)
    return _download(export, "xlsx")


@requires("events.view")
async def attendance_sheet(request: Request) -> Response:
    actor = _actor(request)
    event_id = _event_id(request)
    event = await admin.get_event(actor, event_id)
    rows = await admin.attendance(actor, event_id)
    context = {
        "event": event,
        "rows": rows,
        "heads": sum(r.party_size for r in rows),
        **_helpers(),
    }
    return render(request, "registrations/admin/attendance.html", context)


# --------------------------------------------------------------------------- JSON API

API_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": desc}
    for name, schema, desc in (
        (
            "status",
            {"type": "string", "enum": [s.value for s in RegistrationStatus]},
            "statut de l'inscription",
        ),
        ("clientele", {"type": "string"}, "code de clientèle cible"),
        ("territory", {"type": "string"}, "code de MRC (ou de région, qui inclut ses MRC)"),
        ("q", {"type": "string"}, "nom, courriel, organisme ou code du billet"),
        (
            "format",
            {"type": "string", "enum": ["json", "csv", "xlsx"]},
            "json (défaut, paginé) ou export complet csv / xlsx",
        ),
        ("page", {"type": "integer", "minimum": 1}, "page (JSON)"),
        ("per_page", {"type": "integer", "minimum": 1, "maximum": 500}, "taille de page (JSON)"),
    )
]
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
    # Same path as the public POST (registrations.routes), hence `{id}` and not `{event_id}`:
    # the event scope is checked here.
    event_id = int(request.path_params["id"])
    actor = _actor(request)
    authorize(actor, "registrations.manage", event_id=event_id)
    filters = admin.RegistrationFilters.from_params(request.query_params)
    fmt = (request.query_params.get("format") or "json").strip().lower()
    if fmt not in ("json", "csv", "xlsx"):
        filters.errors["format"] = _("Format inconnu (json, csv ou xlsx).")
    if filters.errors:
        raise ValidationFailed(fields=filters.errors)
    if fmt in ("csv", "xlsx"):
        export = await admin.export_rows(actor, event_id, filters)
        return _download(export, fmt)
    page = int_query_param(request, "page", 1, 1, 100_000)
    per_page = int_query_param(request, "per_page", 50, 1, 500)
    body = await admin.api_items(actor, event_id, filters, page=page, per_page=per_page)
    return json_response(body)


# --------------------------------------------------------------------------- questions


def _questions_url(event_id: int) -> str:
    return f"/admin/events/{event_id}/questions"


async def _questions_page(
    request: Request,
    event_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    editing: Question | None = None,
    status_code: int = 200,
) -> Response:
    actor = _actor(request)
    event = await admin.get_event(actor, event_id)
    questions = await admin.list_questions(actor, event_id)
    context = {
        "event": event,
        "questions": questions,
        "answered": await admin.answer_counts(event_id),
        "values": values or {"kind": "", "label": "", "help_text": "", "choices": []},
        "errors": errors or {},
        "editing": editing,
        "kind_options": admin.kind_choices(),
        "can_manage": actor.can("registrations.manage", event_id=event_id),
        **_helpers(),
    }
    template = (
        "registrations/admin/question_edit.html"
        if editing
        else "registrations/admin/questions.html"
    )
    return render(request, template, context, status_code=status_code)


@requires("events.view")
async def questions_list(request: Request) -> Response:
    return await _questions_page(request, _event_id(request))


@requires("registrations.manage")
async def question_create(request: Request) -> Response:
    form = await read_form(request)
    event_id = _event_id(request)
    data = admin.question_form_data(form)
    try:
        await admin.create_question(_actor(request), event_id, data)
    except ValidationFailed as error:
        return await _questions_page(
            request, event_id, values=data, errors=error.fields, status_code=422
        )
    flash(request, _("Question ajoutée."))
    return redirect(_questions_url(event_id))


@requires("registrations.manage")
async def question_edit(request: Request) -> Response:
    event_id = _event_id(request)
    question = await admin.get_question(_actor(request), event_id, int(request.path_params["qid"]))
    values = {
        "kind": question.kind.value,
        "label": question.label,
        "help_text": question.help_text,
        "required": question.required,
        "choices": question.choices,
    }
    return await _questions_page(request, event_id, values=values, editing=question)


@requires("registrations.manage")
async def question_update(request: Request) -> Response:
    form = await read_form(request)
    event_id = _event_id(request)
    question = await admin.get_question(_actor(request), event_id, int(request.path_params["qid"]))
    data = admin.question_form_data(form)
    try:
        await admin.update_question(_actor(request), event_id, question.id, data)
    except ValidationFailed as error:
        return await _questions_page(
            request, event_id, values=data, errors=error.fields, editing=question, status_code=422
        )
    flash(request, _("Question modifiée."))
    return redirect(_questions_url(event_id))


@requires("registrations.manage")
async def question_delete(request: Request) -> Response:
    await read_form(request)
    event_id = _event_id(request)
    outcome = await admin.delete_question(
        _actor(request), event_id, int(request.path_params["qid"])
    )
    if outcome == "deactivated":
        flash(
            request,
            _(
                "Des personnes ont déjà répondu : la question est désactivée (retirée du "
                "formulaire, ses réponses restent dans les exports)."
            ),
        )
    else:
        flash(request, _("Question supprimée."))
    return redirect(_questions_url(event_id))


@requires("registrations.manage")
async def question_activate(request: Request) -> Response:
    await read_form(request)
    event_id = _event_id(request)
    await admin.reactivate_question(_actor(request), event_id, int(request.path_params["qid"]))
    flash(request, _("Question réactivée."))
    return redirect(_questions_url(event_id))


@requires("registrations.manage")
async def question_move(request: Request) -> Response:
    form = await read_form(request)
    event_id = _event_id(request)
    await admin.move_question(
        _actor(request), event_id, int(request.path_params["qid"]), str(form.get("direction", ""))
    )
    return redirect(_questions_url(event_id))


EVENT = "/admin/events/{event_id:int}"
QUESTION = EVENT + "/questions/{qid:int}"

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
    Route(EVENT + "/questions", questions_list, name="admin_questions"),
    Route(EVENT + "/questions", question_create, methods=["POST"], name="admin_question_create"),
    Route(QUESTION, question_edit, name="admin_question_edit"),
    Route(QUESTION, question_update, methods=["POST"], name="admin_question_update"),
    Route(QUESTION + "/delete", question_delete, methods=["POST"], name="admin_question_delete"),
    Route(
        QUESTION + "/activate", question_activate, methods=["POST"], name="admin_question_activate"
    ),
    Route(QUESTION + "/move", question_move, methods=["POST"], name="admin_question_move"),
    Route("/api/v1/events/{id:int}/registrations", api_list, name="api_event_registrations"),
]
