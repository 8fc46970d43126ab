"""Campaigns back office (HTML): list, editor with preview, audience builder with live
count, progress and outbox per campaign, message history per person.

Thin: each handler reads the form, calls one domain operation and renders or redirects.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from campaigns import audiences, editor, funnel, sending, service
from campaigns.schemas import AudienceIn, CampaignIn
from core.auth import requires
from core.errors import AppError, ValidationFailed
from core.http import (
    actor_of,
    flash,
    path_id,
    read_form,
    redirect,
    settings_of,
    validate,
)
from core.i18n import N_, _
from core.paging import page_number
from core.templating import render

CAMPAIGN_FIELDS = [
    "kind",
    "name",
    "audience_id",
    "event_id",
    "subject_fr",
    "body_fr",
    "subject_en",
    "body_en",
    "scheduled_at",
]
PREVIEW_CSP = (
    "sandbox; default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _campaign_input(request: Request, form: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    values: dict[str, Any] = {name: _text(form, name) for name in CAMPAIGN_FIELDS}
    values["plan_items"] = [v for v in form.getlist("plan_items") if isinstance(v, str) and v][:50]
    values["plan_id"] = _text(form, "plan_id")
    data: dict[str, Any] = dict(values)
    if not data["plan_id"].isdigit():
        data.pop("plan_id")
    data["scheduled_at"] = editor.local_datetime(
        values["scheduled_at"], settings_of(request).time_zone
    )
    return values, data


# --------------------------------------------------------------------------- campaigns


@requires("campaigns.manage")
async def campaign_list(request: Request) -> Response:
    actor = actor_of(request)
    return render(
        request,
        "campaigns/admin/list.html",
        {
            "campaigns": await service.list_campaigns(actor),
            "audiences": await audiences.list_audiences(actor),
            "status_label": service.status_label,
            "kind_label": service.kind_label,
        },
    )


async def _editor(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    campaign_id: int | None = None,
    status_code: int = 200,
) -> Response:
    plan_id, plan_options = await editor.plan_options(str(values.get("plan_id") or ""))
    values = {**values, "plan_id": plan_id, "plan_items": values.get("plan_items") or []}
    return render(
        request,
        "campaigns/admin/editor.html",
        {
            "plan_options": plan_options,
            "values": values,
            "errors": errors or {},
            "campaign_id": campaign_id,
            "placeholders": list(service_placeholders()),
            **await editor.choices(),
        },
        status_code=status_code,
    )


def service_placeholders() -> list[str]:
    from campaigns.compose import PLACEHOLDERS

    return list(PLACEHOLDERS)


@requires("campaigns.manage")
async def campaign_new(request: Request) -> Response:
    values = {name: "" for name in CAMPAIGN_FIELDS} | {
        "kind": request.query_params.get("kind", "invitation"),
        "audience_id": request.query_params.get("audience", ""),
        "event_id": request.query_params.get("event", ""),
    }
    return await _editor(request, values)


@requires("campaigns.manage")
async def campaign_create(request: Request) -> Response:
    form = await read_form(request)
    values, data = _campaign_input(request, form)
    try:
        campaign = await service.create_campaign(actor_of(request), validate(CampaignIn, data))
    except ValidationFailed as error:
        return await _editor(
            request, values, error.fields or {"__root__": error.message}, None, 422
        )
    flash(request, _("La campagne a été créée (brouillon)."))
    return redirect(f"/admin/campaigns/{campaign.id}")


@requires("campaigns.manage")
async def campaign_edit(request: Request) -> Response:
    campaign = await service.get_campaign(actor_of(request), path_id(request))
    return await _editor(request, await editor.campaign_values(campaign), None, campaign.id)


@requires("campaigns.manage")
async def campaign_update(request: Request) -> Response:
    form = await read_form(request)
    campaign_id = path_id(request)
    values, data = _campaign_input(request, form)
    try:
        await service.update_campaign(actor_of(request), campaign_id, validate(CampaignIn, data))
    except ValidationFailed as error:
        errors = error.fields or {"__root__": error.message}
        return await _editor(request, values, errors, campaign_id, 422)
    flash(request, _("La campagne a été enregistrée."))
    return redirect(f"/admin/campaigns/{campaign_id}")


def _person_param(request: Request) -> int | None:
    raw = request.query_params.get("person", "")
    return int(raw) if raw.isdigit() else None


@requires("campaigns.manage")
async def campaign_detail(request: Request) -> Response:
    actor = actor_of(request)
    campaign = await service.get_campaign(actor, path_id(request))
    settings = settings_of(request)
    preview_error = ""
    try:
        message, person = await sending.preview(actor, settings, campaign, _person_param(request))
    except ValidationFailed as error:
        message, person = await sending.preview(actor, settings, campaign, None)
        preview_error = next(iter(error.fields.values()), error.message)
    recipients = (
        await audiences.preview_people(campaign.audience, campaign.purpose)
        if campaign.audience
        else []
    )
    status = request.query_params.get("status") or None
    page = page_number(request.query_params.get("page", "1"))
    messages, has_next = await editor.campaign_messages(campaign.id, status=status, page=page)
    return render(
        request,
        "campaigns/admin/detail.html",
        {
            "campaign": campaign,
            "figures": await funnel.funnel(campaign),
            "by_clientele": await funnel.breakdown(campaign, "clientele"),
            "by_territory": await funnel.breakdown(campaign, "territory"),
            "message": message,
            "preview_person": person,
            "preview_error": preview_error,
            "recipients": recipients,
            "messages": messages,
            "has_next": has_next,
            "page": page,
            "status_filter": status or "",
            "status_label": service.status_label,
            "kind_label": service.kind_label,
            "transitions": {to for (frm, to) in service.TRANSITIONS if frm == campaign.status},
            "editable": campaign.status in service.EDITABLE,
        },
    )


@requires("campaigns.manage")
async def campaign_preview_html(request: Request) -> Response:
    actor = actor_of(request)
    campaign = await service.get_campaign(actor, path_id(request))
    try:
        message, _person = await sending.preview(
            actor, settings_of(request), campaign, _person_param(request)
        )
    except ValidationFailed:
        message, _person = await sending.preview(actor, settings_of(request), campaign, None)
    return HTMLResponse(
        message.html_body,
        headers={
            "Content-Security-Policy": PREVIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )


@requires("campaigns.manage")
async def campaign_test(request: Request) -> Response:
    actor = actor_of(request)
    form = await read_form(request)
    campaign = await service.get_campaign(actor, path_id(request))
    raw = _text(form, "person")
    await sending.send_test(
        actor, settings_of(request), campaign, actor.email, int(raw) if raw.isdigit() else None
    )
    flash(request, _("Un essai a été mis en file pour %(email)s.", email=actor.email))
    return redirect(f"/admin/campaigns/{campaign.id}")


_ACTIONS = {
    "send": (service.send, N_("Envoi lancé : les messages partent en arrière-plan.")),
    "pause": (service.pause, N_("Envoi mis en pause.")),
    "resume": (service.resume, N_("Envoi repris.")),
    "cancel": (service.cancel, N_("Campagne annulée.")),
}


@requires("campaigns.manage")
async def campaign_action(request: Request) -> Response:
    await read_form(request)
    action = request.path_params["action"]
    if action not in _ACTIONS:
        raise AppError(status_code=404, code="not_found")
    operation, message = _ACTIONS[action]
    campaign_id = path_id(request)
    try:
        await operation(actor_of(request), campaign_id)
    except AppError as error:
        flash(request, " ".join([error.message, *error.fields.values()]), "error")
    else:
        flash(request, _(message))
    return redirect(f"/admin/campaigns/{campaign_id}")


# --------------------------------------------------------------------------- audiences


async def _builder(
    request: Request,
    name: str,
    filters: dict[str, Any],
    *,
    audience_id: int | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    actor = actor_of(request)
    result: dict[str, Any] | None = None
    if not errors:
        try:
            unsaved = await audiences.unsaved_audience(
                actor, validate(AudienceIn, {"name": name or "-", "filters": filters})
            )
            result = await audiences.audience_out(unsaved, with_preview=True)
        except ValidationFailed as error:
            errors = error.fields
    return render(
        request,
        "campaigns/admin/audience.html",
        {
            "name": name,
            "filters": filters,
            "audience_id": audience_id,
            "errors": errors or {},
            "result": result,
            **await editor.choices(),
        },
        status_code=status_code,
    )


@requires("campaigns.manage")
async def audience_new(request: Request) -> Response:
    return await _builder(request, "", {})


@requires("campaigns.manage")
async def audience_page(request: Request) -> Response:
    audience = await audiences.get_audience(actor_of(request), path_id(request))
    return await _builder(request, audience.name, dict(audience.filters), audience_id=audience.id)


async def _save_audience(request: Request, audience_id: int | None) -> Response:
    form = await read_form(request)
    name = _text(form, "name")
    filters = editor.filters_from_form(form)
    if _text(form, "action") == "count":
        return await _builder(request, name, filters, audience_id=audience_id)
    try:
        data = validate(AudienceIn, {"name": name, "filters": filters})
        if audience_id is None:
            audience = await audiences.create_audience(actor_of(request), data)
        else:
            audience = await audiences.update_audience(actor_of(request), audience_id, data)
    except ValidationFailed as error:
        return await _builder(
            request, name, filters, audience_id=audience_id, errors=error.fields, status_code=422
        )
    flash(request, _("L'audience a été enregistrée."))
    return redirect(f"/admin/audiences/{audience.id}")


@requires("campaigns.manage")
async def audience_create(request: Request) -> Response:
    return await _save_audience(request, None)


@requires("campaigns.manage")
async def audience_update(request: Request) -> Response:
    return await _save_audience(request, path_id(request))


@requires("campaigns.manage")
async def audience_import(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "campaigns/admin/audience_import.html", {"errors": {}})
    form = await read_form(request)
    upload = form.get("file")
    name = _text(form, "name")
    if not isinstance(upload, UploadFile):
        return render(
            request,
            "campaigns/admin/audience_import.html",
            {"errors": {"file": _("Choisissez un fichier CSV.")}, "name": name},
            status_code=422,
        )
    try:
        audience, rejected = await audiences.create_static_audience(
            actor_of(request), name, await upload.read()
        )
    except ValidationFailed as error:
        return render(
            request,
            "campaigns/admin/audience_import.html",
            {"errors": error.fields or {"file": error.message}, "name": name},
            status_code=422,
        )
    flash(
        request,
        _("Liste importée; %(n)s ligne(s) refusée(s).", n=len(rejected)),
        "warning" if rejected else "success",
    )
    return redirect(f"/admin/audiences/{audience.id}")


# --------------------------------------------------------------------------- people


@requires("campaigns.manage")
async def person_history(request: Request) -> Response:
    person_id = path_id(request)
    return render(
        request,
        "campaigns/admin/person_messages.html",
        {
            "person_id": person_id,
            "rows": await editor.person_messages(actor_of(request), person_id),
        },
    )


routes = [
    Route("/admin/campaigns", campaign_list, name="campaigns"),
    Route("/admin/campaigns/new", campaign_new, name="campaign_new"),
    Route("/admin/campaigns/new", campaign_create, methods=["POST"], name="campaign_create"),
    Route("/admin/campaigns/{id:int}", campaign_detail, name="campaign_detail"),
    Route("/admin/campaigns/{id:int}/edit", campaign_edit, name="campaign_edit"),
    Route(
        "/admin/campaigns/{id:int}/edit", campaign_update, methods=["POST"], name="campaign_update"
    ),
    Route("/admin/campaigns/{id:int}/preview", campaign_preview_html, name="campaign_preview"),
    Route("/admin/campaigns/{id:int}/test", campaign_test, methods=["POST"], name="campaign_test"),
    Route(
        "/admin/campaigns/{id:int}/{action:str}",
        campaign_action,
        methods=["POST"],
        name="campaign_action",
    ),
    Route("/admin/audiences/new", audience_new, name="audience_new"),
    Route("/admin/audiences/new", audience_create, methods=["POST"], name="audience_create"),
    Route(
        "/admin/audiences/import",
        audience_import,
        methods=["GET", "POST"],
        name="audience_import",
    ),
    Route("/admin/audiences/{id:int}", audience_page, name="audience_page"),
    Route("/admin/audiences/{id:int}", audience_update, methods=["POST"], name="audience_update"),
    Route("/admin/people/{id:int}/messages", person_history, name="person_messages"),
]
