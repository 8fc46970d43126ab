"""Employer certification, public pages: the application form (phone first), the
employer's page reached from the signed resume link, and the renewal start page.

Thin: the rules are in `campaigns.certification.applications` and `.workflow`. The form's
field names are the JSON paths of `ApplicationIn` ("employer.legal_name",
"answers.<code>.met"), so a field error lands on its field.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from campaigns.certification import applications, programs, verification, workflow
from campaigns.certification.api_routes import APPLY_LIMIT
from campaigns.certification.models import Application, Program
from campaigns.certification.schemas import (
    MAX_EVIDENCE,
    ApplicationIn,
    sector_choices,
)
from core.errors import Conflict, ValidationFailed
from core.http import client_ip_of, field_errors, flash, path_id, read_form, redirect, settings_of
from core.i18n import _, current_language
from core.inputs import parse_id
from core.templating import render
from people.reference import territories_by_region

SAVE_LIMIT = "60/hour"
NO_STORE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
EMPLOYER_FIELDS = (
    "legal_name",
    "neq",
    "sector",
    "address",
    "territory",
    "employees",
    "student_employees",
)
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
YES, NO = "oui", "non"


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _values_from(form: FormData, criteria_codes: list[str]) -> dict[str, Any]:
    """What the user typed, as the template shows it again."""
    values: dict[str, Any] = {}
    for name in EMPLOYER_FIELDS:
        values[f"employer.{name}"] = _text(form, f"employer.{name}", 300)
    for name in CONTACT_FIELDS:
        values[f"contact.{name}"] = _text(form, f"contact.{name}", 254)
    values["contact.consent"] = form.get("contact.consent") == "1"
    values["publish_in_directory"] = form.get("publish_in_directory") == "1"
    for code in criteria_codes:
        values[f"answers.{code}.met"] = _text(form, f"answers.{code}.met", 3)
        values[f"answers.{code}.evidence"] = _text(
            form, f"answers.{code}.evidence", MAX_EVIDENCE + 1000
        )
    values["nonce"] = _text(form, "nonce", 64)
    return values


def _values_of(application: Application) -> dict[str, Any]:
    """A stored application as form values."""
    data = application.employer_data or {}
    contact = data.get("contact") if isinstance(data.get("contact"), dict) else {}
    assert isinstance(contact, dict)
    values: dict[str, Any] = {
        f"employer.{name}": "" if data.get(name) is None else str(data.get(name))
        for name in EMPLOYER_FIELDS
    }
    values.update({f"contact.{name}": str(contact.get(name, "")) for name in CONTACT_FIELDS})
    values["contact.consent"] = True
    values["publish_in_directory"] = bool(data.get("publish_in_directory"))
    for code, answer in (application.answers or {}).items():
        values[f"answers.{code}.met"] = YES if answer.get("met") else NO
        values[f"answers.{code}.evidence"] = str(answer.get("evidence", ""))
    return values


def _application_in(
    values: dict[str, Any], program_id: int, codes: list[str], submit: bool
) -> ApplicationIn:
    answers: dict[str, Any] = {}
    for code in codes:
        met = values[f"answers.{code}.met"]
        if met in (YES, NO):
            answers[code] = {"met": met == YES, "evidence": values[f"answers.{code}.evidence"]}
    data = {
        "program_id": program_id,
        "employer": {name: values[f"employer.{name}"] for name in EMPLOYER_FIELDS},
        "contact": {
            **{name: values[f"contact.{name}"] for name in CONTACT_FIELDS},
            "consent": values["contact.consent"],
        },
        "answers": answers,
        "publish_in_directory": values["publish_in_directory"],
        "submit": submit,
        "language": current_language.get() if current_language.get() in ("fr", "en") else "fr",
        "idempotency_key": values["nonce"] or None,
    }
    if not data["employer"]["neq"]:
        data["employer"]["neq"] = None
    try:
        return ApplicationIn.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(fields=field_errors(exc)) from None


async def _context(program: Program, values: dict[str, Any], errors: dict[str, str]) -> dict:
    language = current_language.get()
    criteria = await programs.criteria_of(program.id)
    return {
        "program": program,
        "description": program.description_en
        if language == "en" and program.description_en
        else program.description_fr,
        "criteria": [(c, programs.criterion_text(c, language)) for c in criteria],
        "levels": [
            (lv, programs.level_name(lv, language)) for lv in await programs.levels_of(program.id)
        ],
        "values": values,
        "errors": errors,
        "sectors": sector_choices(),
        "mrc_groups": [(r, m) for r, m in await territories_by_region() if m],
        "directory_wording": _(workflow.DIRECTORY_WORDING),
        "yes": YES,
        "no": NO,
        "max_evidence": MAX_EVIDENCE,
    }


async def _render_form(
    request: Request,
    program: Program,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    action: str,
    application: Application | None = None,
    status_code: int = 200,
    form_error: str = "",
) -> Response:
    context = await _context(program, values, errors)
    context.update(action=action, application=application, form_error=form_error)
    if application is not None:
        context["status_label"] = workflow.status_label(application.status)
        context["messages"] = await applications.messages_to_employer(application)
        certificate = await applications.certificate_of(application)
        if certificate is not None:
            context["certificate"] = certificate
            context["verify_url"] = verification.verify_url(
                settings_of(request).base_url, certificate.code
            )
    return render(
        request, "certification/apply.html", context, status_code=status_code, headers=NO_STORE
    )


async def _program(request: Request) -> tuple[Program, bool]:
    program = await programs.get_program(path_id(request))
    is_open, _cohort = await programs.accepts_applications(program)
    return program, is_open


async def programs_page(request: Request) -> Response:
    return render(
        request,
        "certification/programs.html",
        {"programs": await programs.list_programs(active_only=True)},
    )


async def apply_form(request: Request) -> Response:
    program, is_open = await _program(request)
    if not is_open:
        return render(request, "certification/closed.html", {"program": program})
    values = {"nonce": secrets.token_urlsafe(24)}
    campaign = _campaign_param(request.query_params.get("campaign"))
    action = f"/certification/programs/{program.id}/apply"
    if campaign:
        action += f"?campaign={campaign}"
    return await _render_form(request, program, values, {}, action=action)


def _campaign_param(raw: str | None) -> int | None:
    try:
        return parse_id(raw)
    except ValueError:
        return None


async def apply_submit(request: Request) -> Response:
    form = await read_form(request)
    await request.app.state.limiter.hit(APPLY_LIMIT, "certification-apply", client_ip_of(request))
    program, is_open = await _program(request)
    if not is_open:
        return render(request, "certification/closed.html", {"program": program}, status_code=409)
    codes = [c.code for c in await programs.criteria_of(program.id)]
    values = _values_from(form, codes)
    submit = form.get("action") == "submit"
    settings = settings_of(request)
    action = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    try:
        data = _application_in(values, program.id, codes, submit)
        application, _created = await applications.create_application(
            data,
            settings=settings,
            ip=client_ip_of(request),
            campaign_id=_campaign_param(request.query_params.get("campaign")),
        )
    except ValidationFailed as exc:
        return await _render_form(
            request, program, values, exc.fields, action=action, status_code=422
        )
    except Conflict as exc:
        return await _render_form(
            request, program, values, {}, action=action, status_code=409, form_error=exc.message
        )
    flash(request, _submitted_message(application))
    return redirect(workflow.resume_url(settings, application.id))


def _submitted_message(application: Application) -> str:
    if application.status == workflow.S.SUBMITTED:
        return _(
            "Votre demande est soumise. Un accusé de réception vous a été envoyé par courriel."
        )
    return _(
        "Votre brouillon est enregistré. Le lien pour le reprendre vous a été envoyé par courriel."
    )


def _token(request: Request) -> str:
    return str(request.path_params["token"])[:80]


async def application_page(request: Request) -> Response:
    settings = settings_of(request)
    application = await applications.by_token(settings, _token(request))
    program = await programs.get_program(application.program_id)
    return await _render_form(
        request,
        program,
        _values_of(application),
        {},
        action=f"/certification/applications/{_token(request)}",
        application=application,
    )


async def application_save(request: Request) -> Response:
    form = await read_form(request)
    await request.app.state.limiter.hit(SAVE_LIMIT, "certification-save", client_ip_of(request))
    settings = settings_of(request)
    token = _token(request)
    application = await applications.by_token(settings, token)
    program = await programs.get_program(application.program_id)
    codes = [c.code for c in await programs.criteria_of(program.id)]
    values = _values_from(form, codes)
    values["nonce"] = ""
    action = f"/certification/applications/{token}"
    try:
        data = _application_in(values, program.id, codes, form.get("action") == "submit")
        application = await applications.update_application(
            settings, token, data, ip=client_ip_of(request)
        )
    except ValidationFailed as exc:
        return await _render_form(
            request,
            program,
            values,
            exc.fields,
            action=action,
            application=application,
            status_code=422,
        )
    except Conflict as exc:
        return await _render_form(
            request,
            program,
            values,
            {},
            action=action,
            application=application,
            status_code=409,
            form_error=exc.message,
        )
    flash(request, _submitted_message(application))
    return redirect(action)


async def renew_page(request: Request) -> Response:
    previous = await applications.by_token(settings_of(request), _token(request))
    program = await programs.get_program(previous.program_id)
    return render(
        request,
        "certification/renew.html",
        {
            "program": program,
            "previous": previous,
            "employer_name": str((previous.employer_data or {}).get("legal_name", "")),
            "renewable": previous.status in workflow.CURRENT,
            "status_label": workflow.status_label(previous.status),
        },
        headers=NO_STORE,
    )


async def renew_start(request: Request) -> Response:
    await read_form(request)
    await request.app.state.limiter.hit(SAVE_LIMIT, "certification-save", client_ip_of(request))
    settings = settings_of(request)
    application = await applications.start_renewal(
        settings, _token(request), ip=client_ip_of(request)
    )
    flash(
        request,
        _("Votre demande de renouvellement est préremplie : vérifiez-la, puis soumettez-la."),
    )
    return redirect(workflow.resume_url(settings, application.id))


routes: list[BaseRoute] = [
    Route("/certification", programs_page, methods=["GET"], name="certification_programs"),
    Route(
        "/certification/programs/{id:int}/apply",
        apply_form,
        methods=["GET"],
        name="certification_apply",
    ),
    Route(
        "/certification/programs/{id:int}/apply",
        apply_submit,
        methods=["POST"],
        name="certification_apply_submit",
    ),
    Route(
        "/certification/applications/{token}",
        application_page,
        methods=["GET"],
        name="certification_application",
    ),
    Route(
        "/certification/applications/{token}",
        application_save,
        methods=["POST"],
        name="certification_application_save",
    ),
    Route("/certification/renew/{token}", renew_page, methods=["GET"], name="certification_renew"),
    Route(
        "/certification/renew/{token}",
        renew_start,
        methods=["POST"],
        name="certification_renew_start",
    ),
]
