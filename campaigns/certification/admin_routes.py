"""Employer certification, back office: the reviewers' queue, an application's review
page (answers, points, suggested level, comparison with the previous application, notes,
messages, transitions), and the program page (funnel, outreach campaign).

Thin: reads come from `campaigns.certification.review`, `.programs` and `.outreach`;
every state change is `workflow.transition`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from campaigns.certification import outreach, programs, review, workflow
from campaigns.certification.models import ApplicationStatus
from campaigns.certification.schemas import ProgramIn
from core.auth import requires
from core.errors import ValidationFailed
from core.http import actor_of, flash, path_id, read_form, redirect, settings_of, validate
from core.i18n import _
from core.inputs import parse_id
from core.templating import render
from people.reference import territories_by_region


def _form_text(value: object, limit: int = 6000) -> str:
    return value[:limit] if isinstance(value, str) else ""


@requires("certification.review")
async def queue(request: Request) -> Response:
    params = request.query_params
    try:
        program_id = parse_id(params.get("program"))
    except ValueError:
        program_id = None
    filters = review.QueueFilters(
        status=_form_text(params.get("status"), 20),
        program_id=program_id,
        territory=_form_text(params.get("territory"), 10),
    )
    try:
        rows = await review.list_applications(actor_of(request), filters)
    except ValidationFailed:
        filters.status = ""
        rows = await review.list_applications(actor_of(request), filters)
    return render(
        request,
        "certification/admin/queue.html",
        {
            "rows": rows,
            "filters": filters,
            "statuses": [(s.value, workflow.status_label(s)) for s in ApplicationStatus],
            "programs": await programs.list_programs(),
            "mrc_groups": [(r, m) for r, m in await territories_by_region() if m],
        },
    )


async def _review_page(
    request: Request,
    application_id: int,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    view = await review.review_view(actor_of(request), application_id)
    return render(
        request,
        "certification/admin/application.html",
        {
            "view": view,
            "errors": errors or {},
            "status_label": workflow.status_label,
            "can_manage": actor_of(request).can("campaigns.manage"),
        },
        status_code=status_code,
    )


@requires("certification.review")
async def application_page(request: Request) -> Response:
    return await _review_page(request, path_id(request))


@requires("certification.review")
async def application_transition(request: Request) -> Response:
    form = await read_form(request)
    application_id = path_id(request)
    to = _form_text(form.get("to"), 20)
    try:
        application = await workflow.transition(
            actor_of(request),
            application_id,
            to,
            level=_form_text(form.get("level"), 32) or None,
            message=_form_text(form.get("message")),
            note=_form_text(form.get("note")),
            settings=settings_of(request),
        )
    except ValidationFailed as exc:
        return await _review_page(request, application_id, exc.fields, 422)
    flash(
        request,
        _(
            "La demande est maintenant « %(status)s ».",
            status=workflow.status_label(application.status),
        ),
    )
    return redirect(f"/admin/certification/applications/{application_id}")


@requires("certification.review")
async def application_note(request: Request) -> Response:
    form = await read_form(request)
    application_id = path_id(request)
    to_employer = form.get("to_employer") == "1"
    try:
        await workflow.add_note(
            actor_of(request),
            application_id,
            _form_text(form.get("body")),
            to_employer=to_employer,
            settings=settings_of(request),
        )
    except ValidationFailed as exc:
        fields = {"body": exc.fields.get("message", exc.message)}
        return await _review_page(request, application_id, fields, 422)
    flash(request, _("Message envoyé à l'employeur.") if to_employer else _("Note ajoutée."))
    return redirect(f"/admin/certification/applications/{application_id}")


@requires("certification.review")
async def program_page(request: Request) -> Response:
    program = await programs.get_program(path_id(request))
    settings = settings_of(request)
    return render(
        request,
        "certification/admin/program.html",
        {
            "program": program,
            "criteria": await programs.criteria_of(program.id),
            "levels": await programs.levels_of(program.id),
            "funnel": await outreach.funnel(program.id),
            "campaigns": await outreach.program_campaigns(program.id),
            "apply_url": outreach.apply_url(settings, program.id),
            "mrc_groups": [(r, m) for r, m in await territories_by_region() if m],
            "can_manage": actor_of(request).can("campaigns.manage"),
        },
    )


PROGRAM_FIELDS = (
    "name",
    "description_fr",
    "validity_months",
    "renewal_window_days",
    "criteria",
    "levels",
)


async def _program_form(
    request: Request, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Response:
    return render(
        request,
        "certification/admin/program_form.html",
        {"values": values, "errors": errors},
        status_code=status_code,
    )


@requires("certification.manage")
async def program_new(request: Request) -> Response:
    return await _program_form(request, {"validity_months": "24", "renewal_window_days": "90"}, {})


@requires("certification.manage")
async def program_create(request: Request) -> Response:
    form = await read_form(request)
    values = {name: _form_text(form.get(name), 20_000) for name in PROGRAM_FIELDS}
    try:
        data = validate(ProgramIn, programs.program_from_form(values))
        program = await programs.create_program(actor_of(request), data)
    except ValidationFailed as exc:
        return await _program_form(request, values, _form_errors(exc), 422)
    flash(request, _("Programme créé."))
    return redirect(f"/admin/certification/programs/{program.id}")


def _form_errors(exc: ValidationFailed) -> dict[str, str]:
    """Errors on "criteria.2.points" are shown on the criteria field, with the line."""
    errors: dict[str, str] = {}
    for key, message in (exc.fields or {"__root__": exc.message}).items():
        head, _dot, rest = key.partition(".")
        if head in ("criteria", "levels") and rest:
            line, _dot, what = rest.partition(".")
            prefix = _("Ligne %(n)s", n=int(line) + 1) if line.isdigit() else rest
            errors.setdefault(head, f"{prefix} ({what or head}) : {message}")
        else:
            errors.setdefault(head if head in PROGRAM_FIELDS else "name", message)
    return errors


@requires("campaigns.manage")
async def program_outreach(request: Request) -> Response:
    form = await read_form(request)
    program_id = path_id(request)
    territories = [v[:10] for v in form.getlist("territories") if isinstance(v, str) and v][:200]
    campaign = await outreach.create_outreach(
        actor_of(request), settings_of(request), program_id, territories=territories
    )
    flash(request, _("Campagne d'invitation créée (brouillon) : relisez-la, puis envoyez-la."))
    return redirect(f"/admin/campaigns/{campaign.id}")


routes: list[BaseRoute] = [
    Route("/admin/certification", queue, methods=["GET"], name="admin_certification"),
    Route(
        "/admin/certification/applications/{id:int}",
        application_page,
        methods=["GET"],
        name="admin_certification_application",
    ),
    Route(
        "/admin/certification/applications/{id:int}/transition",
        application_transition,
        methods=["POST"],
        name="admin_certification_transition",
    ),
    Route(
        "/admin/certification/applications/{id:int}/notes",
        application_note,
        methods=["POST"],
        name="admin_certification_note",
    ),
    Route(
        "/admin/certification/programs/new",
        program_new,
        methods=["GET"],
        name="admin_certification_program_new",
    ),
    Route(
        "/admin/certification/programs/new",
        program_create,
        methods=["POST"],
        name="admin_certification_program_create",
    ),
    Route(
        "/admin/certification/programs/{id:int}",
        program_page,
        methods=["GET"],
        name="admin_certification_program",
    ),
    Route(
        "/admin/certification/programs/{id:int}/outreach",
        program_outreach,
        methods=["POST"],
        name="admin_certification_outreach",
    ),
]
