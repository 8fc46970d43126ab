"""People directory back office (HTML): people, organizations, reference data.

Thin: each handler reads the form or query, calls one domain operation (`people.service`,
`organizations`, `consents`, `privacy`, `imports`, `reference`) and renders or redirects.
The JSON API is in `people.api_routes`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import Principal, requires
from core.errors import AppError, ValidationFailed
from core.http import actor_of, flash, path_id, read_form, redirect, validate
from core.i18n import _, current_language
from core.paging import page_number
from core.templating import render
from people import consents, imports, organizations, privacy, reference, service, tags
from people.phones import format_phone
from people.schemas import (
    ClienteleIn,
    ClienteleNew,
    ConsentIn,
    OrganizationIn,
    PersonIn,
    people_filters,
)

PER_PAGE = 50


def _values(form: FormData, names: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name, "")
        values[name] = value.strip() if isinstance(value, str) else ""
    return values


async def _reference_choices() -> dict[str, Any]:
    language = current_language.get()
    groups = await reference.territories_by_region()
    clienteles = await reference.list_clienteles()
    return {
        "territory_options": reference.territory_choices(groups),
        "clientele_options": [(c.code, c.name(language)) for c in clienteles if c.active],
        "organization_options": await organizations.organization_choices(),
        "sector_options": reference.sector_choices(),
        "sector_labels": dict(reference.sector_choices()),
        "purpose_options": reference.purpose_choices(),
        "purpose_labels": dict(reference.purpose_choices()),
    }


# ---------------------------------------------------------------------------
# People pages
# ---------------------------------------------------------------------------


@requires("people.view")
async def people_list(request: Request) -> Response:
    filters = people_filters(request.query_params)
    page = page_number(request.query_params.get("page", "1"))
    result = await service.search_people(actor_of(request), **filters, page=page, per_page=PER_PAGE)
    query = {
        "q": filters["q"],
        "territory": filters["territory"] or "",
        "clientele": filters["clientele"] or "",
        "organization": filters["organization_id"] or "",
    }
    params = "&" + urlencode(query)
    context = {
        "result": result,
        "filters": query,
        "params": params,
        "export_url": "/admin/people/export.csv?" + urlencode(query),
    }
    context.update(await _reference_choices())
    return render(request, "people/list.html", context)


PERSON_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "language",
    "organization_id",
    "clientele",
    "territory",
]


async def _person_form(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {"values": values, "errors": errors}
    context.update(await _reference_choices())
    return render(request, "people/new.html", context, status_code=status_code)


@requires("people.edit")
async def person_new(request: Request) -> Response:
    return await _person_form(request, {"language": "fr"}, {})


@requires("people.edit")
async def person_create(request: Request) -> Response:
    form = await read_form(request)
    values = _values(form, PERSON_FIELDS)
    try:
        person = await service.create_person(actor_of(request), validate(PersonIn, values))
    except AppError as error:
        if not error.fields:
            raise
        return await _person_form(request, values, error.fields, status_code=error.status_code)
    flash(request, _("La personne a été ajoutée."))
    return redirect(f"/admin/people/{person.id}")


async def _person_page(
    request: Request,
    person_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    consent_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    actor = actor_of(request)
    person = await service.get_person(actor, person_id)
    history = await consents.consent_history(person.id)
    if values is None:
        values = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email or "",
            "phone": format_phone(person.phone),
            "language": person.language,
            "organization_id": person.organization.id if person.organization else "",
            "clientele": person.clientele.code if person.clientele else "",
            "territory": person.territory.code if person.territory else "",
        }
    context: dict[str, Any] = {
        "person": person,
        "phone": format_phone(person.phone),
        "history": list(reversed(history)),
        "current": consents.current_consents(history),
        "values": values,
        "errors": errors or {},
        "consent_errors": consent_errors or {},
        "tags": await tags.person_tags(person.id),
    }
    context.update(await _reference_choices())
    return render(request, "people/detail.html", context, status_code=status_code)


@requires("people.view")
async def person_detail(request: Request) -> Response:
    return await _person_page(request, path_id(request))


@requires("people.edit")
async def person_update(request: Request) -> Response:
    form = await read_form(request)
    person_id = path_id(request)
    values = _values(form, PERSON_FIELDS)
    try:
        await service.update_person(actor_of(request), person_id, validate(PersonIn, values))
    except AppError as error:
        if not error.fields:
            raise
        return await _person_page(
            request, person_id, values=values, errors=error.fields, status_code=error.status_code
        )
    flash(request, _("La fiche a été mise à jour."))
    return redirect(f"/admin/people/{person_id}")


@requires("people.edit")
async def consent_add(request: Request) -> Response:
    form = await read_form(request)
    person_id = path_id(request)
    values = _values(form, ["purpose", "granted", "wording", "source"])
    values["source"] = values["source"] or "backoffice"
    try:
        data = validate(ConsentIn, values)
        await consents.record_consent(actor_of(request), person_id, data)
    except ValidationFailed as error:
        return await _person_page(
            request, person_id, consent_errors=error.fields, status_code=error.status_code
        )
    flash(request, _("Le consentement a été consigné au registre."))
    return redirect(f"/admin/people/{person_id}#consentements")


@requires("people.access")
async def person_export(request: Request) -> Response:
    person_id = path_id(request)
    data = await privacy.export_person(actor_of(request), person_id)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="personne-{person_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@requires("people.erase")
async def person_erase_confirm(request: Request) -> Response:
    person = await service.get_person(actor_of(request), path_id(request))
    return render(request, "people/erase.html", {"person": person, "error": None})


@requires("people.erase")
async def person_erase(request: Request) -> Response:
    form = await read_form(request)
    person_id = path_id(request)
    if form.get("confirm") != "yes":
        person = await service.get_person(actor_of(request), person_id)
        return render(
            request,
            "people/erase.html",
            {"person": person, "error": _("Cochez la case pour confirmer l'anonymisation.")},
            status_code=422,
        )
    await privacy.erase_person(actor_of(request), person_id)
    flash(request, _("Les données personnelles ont été effacées; la fiche est anonymisée."))
    return redirect(f"/admin/people/{person_id}")


@requires("people.export")
async def people_export_csv(request: Request) -> Response:
    text = await imports.export_people_csv(
        actor_of(request), **people_filters(request.query_params)
    )
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="personnes.csv"',
            "Cache-Control": "no-store",
        },
    )


def _columns() -> str:
    return ",".join(imports.PEOPLE_COLUMNS)


@requires("people.import")
async def people_import_page(request: Request) -> Response:
    return render(request, "people/import.html", {"report": None, "columns": _columns()})


@requires("people.import")
async def people_import_submit(request: Request) -> Response:
    form = await read_form(request)
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data.strip():
        return render(
            request,
            "people/import.html",
            {
                "report": None,
                "columns": _columns(),
                "errors": {"file": _("Choisissez un fichier CSV non vide.")},
            },
            status_code=422,
        )
    report = await imports.import_people_csv(actor_of(request), data)
    return render(request, "people/import.html", {"report": report, "columns": _columns()})


# ---------------------------------------------------------------------------
# Organizations
# ---------------------------------------------------------------------------

ORGANIZATION_FIELDS = ["name", "sector", "territory", "website"]


@requires("people.view")
async def organizations_list(request: Request) -> Response:
    params = request.query_params
    filters: dict[str, Any] = {
        "q": params.get("q", "").strip()[:200],
        "sector": params.get("sector", "").strip()[:16] or None,
        "territory": params.get("territory", "").strip()[:10] or None,
    }
    page = page_number(params.get("page", "1"))
    result = await organizations.search_organizations(
        actor_of(request), **filters, page=page, per_page=PER_PAGE
    )
    query = {k: v or "" for k, v in filters.items()}
    context: dict[str, Any] = {"result": result, "filters": query, "params": "&" + urlencode(query)}
    context.update(await _reference_choices())
    return render(request, "people/organizations.html", context)


async def _organization_form(
    request: Request,
    organization: Any,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {"organization": organization, "values": values, "errors": errors}
    if organization is not None:
        members = await service.search_people(
            actor_of(request), organization_id=organization.id, per_page=200
        )
        context["members"] = members
        context["tags"] = await tags.organization_tags(organization.id)
    context.update(await _reference_choices())
    return render(request, "people/organization.html", context, status_code=status_code)


async def _save_tags(
    request: Request, save: Callable[[Principal, int, str], Awaitable[object]], back: str
) -> Response:
    """The tags field of a person's or an organization's page, saved by `save`."""
    form = await read_form(request)
    owner_id = path_id(request)
    raw = form.get("tags", "")
    try:
        await save(actor_of(request), owner_id, raw if isinstance(raw, str) else "")
    except ValidationFailed as error:
        flash(request, " ".join(error.fields.values()) or error.message, "error")
    else:
        flash(request, _("Les étiquettes ont été enregistrées."))
    return redirect(f"{back}/{owner_id}#etiquettes")


@requires("people.edit")
async def person_tags_update(request: Request) -> Response:
    return await _save_tags(request, tags.set_person_tags, "/admin/people")


@requires("people.edit")
async def organization_tags_update(request: Request) -> Response:
    return await _save_tags(request, tags.set_organization_tags, "/admin/organizations")


@requires("people.edit")
async def organization_new(request: Request) -> Response:
    return await _organization_form(request, None, {"sector": "other"}, {})


@requires("people.edit")
async def organization_create(request: Request) -> Response:
    form = await read_form(request)
    values = _values(form, ORGANIZATION_FIELDS)
    try:
        organization = await organizations.create_organization(
            actor_of(request), validate(OrganizationIn, values)
        )
    except AppError as error:
        if not error.fields:
            raise
        return await _organization_form(
            request, None, values, error.fields, status_code=error.status_code
        )
    flash(request, _("L'organisme a été ajouté."))
    return redirect(f"/admin/organizations/{organization.id}")


@requires("people.view")
async def organization_detail(request: Request) -> Response:
    organization = await organizations.get_organization(actor_of(request), path_id(request))
    values = {
        "name": organization.name,
        "sector": str(organization.sector),
        "territory": organization.territory.code if organization.territory else "",
        "website": organization.website,
    }
    return await _organization_form(request, organization, values, {})


@requires("people.edit")
async def organization_update(request: Request) -> Response:
    form = await read_form(request)
    organization_id = path_id(request)
    values = _values(form, ORGANIZATION_FIELDS)
    try:
        await organizations.update_organization(
            actor_of(request), organization_id, validate(OrganizationIn, values)
        )
    except AppError as error:
        if not error.fields:
            raise
        organization = await organizations.get_organization(actor_of(request), organization_id)
        return await _organization_form(
            request, organization, values, error.fields, status_code=error.status_code
        )
    flash(request, _("L'organisme a été mis à jour."))
    return redirect(f"/admin/organizations/{organization_id}")


# ---------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------


async def _reference_page(
    request: Request,
    *,
    territory_report: reference.ImportReport | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "groups": await reference.territories_by_region(active_only=False),
        "clienteles": await reference.list_clienteles(),
        "plan": await reference.plan_tree(),
        "territory_report": territory_report,
        "errors": errors or {},
    }
    return render(request, "people/reference.html", context, status_code=status_code)


@requires("people.view")
async def reference_page(request: Request) -> Response:
    return await _reference_page(request)


@requires("reference.edit")
async def clientele_update(request: Request) -> Response:
    form = await read_form(request)
    code = str(request.path_params["code"])
    values: dict[str, Any] = _values(form, ["name_fr", "name_en", "position"])
    values["active"] = form.get("active") == "1"
    try:
        await reference.update_clientele(actor_of(request), code, validate(ClienteleIn, values))
    except ValidationFailed as error:
        return await _reference_page(
            request, errors={code: error.fields}, status_code=error.status_code
        )
    flash(request, _("La clientèle a été mise à jour."))
    return redirect("/admin/reference#clienteles")


@requires("reference.edit")
async def clientele_create(request: Request) -> Response:
    form = await read_form(request)
    values: dict[str, Any] = _values(form, ["code", "name_fr", "name_en", "position"])
    values["code"] = values["code"].lower()
    try:
        await reference.create_clientele(actor_of(request), validate(ClienteleNew, values))
    except AppError as error:
        if not error.fields:
            raise
        return await _reference_page(
            request, errors={"__new__": error.fields}, status_code=error.status_code
        )
    flash(request, _("La clientèle a été ajoutée."))
    return redirect("/admin/reference#clienteles")


@requires("reference.edit")
async def territories_upload(request: Request) -> Response:
    form = await read_form(request)
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data.strip():
        return await _reference_page(
            request,
            errors={"territories": {"file": _("Choisissez un fichier CSV non vide.")}},
            status_code=422,
        )
    report = await reference.import_territories(actor_of(request), data)
    return await _reference_page(request, territory_report=report)


routes = [
    Route("/admin/people", people_list, name="people"),
    Route("/admin/people/new", person_new, name="person_new"),
    Route("/admin/people/new", person_create, methods=["POST"], name="person_create"),
    Route("/admin/people/import", people_import_page, name="people_import"),
    Route(
        "/admin/people/import",
        people_import_submit,
        methods=["POST"],
        name="people_import_submit",
    ),
    Route("/admin/people/export.csv", people_export_csv, name="people_export_csv"),
    Route("/admin/people/{id:int}", person_detail, name="person"),
    Route("/admin/people/{id:int}", person_update, methods=["POST"], name="person_update"),
    Route(
        "/admin/people/{id:int}/consents",
        consent_add,
        methods=["POST"],
        name="person_consent",
    ),
    Route("/admin/people/{id:int}/export", person_export, name="person_export"),
    Route("/admin/people/{id:int}/tags", person_tags_update, methods=["POST"], name="person_tags"),
    Route(
        "/admin/organizations/{id:int}/tags",
        organization_tags_update,
        methods=["POST"],
        name="organization_tags",
    ),
    Route("/admin/people/{id:int}/erase", person_erase_confirm, name="person_erase_confirm"),
    Route("/admin/people/{id:int}/erase", person_erase, methods=["POST"], name="person_erase"),
    Route("/admin/organizations", organizations_list, name="organizations"),
    Route("/admin/organizations/new", organization_new, name="organization_new"),
    Route(
        "/admin/organizations/new",
        organization_create,
        methods=["POST"],
        name="organization_create",
    ),
    Route(
        "/admin/organizations/{id:int}",
        organization_detail,
        name="organization",
    ),
    Route(
        "/admin/organizations/{id:int}",
        organization_update,
        methods=["POST"],
        name="organization_update",
    ),
    Route("/admin/reference", reference_page, name="reference"),
    Route(
        "/admin/reference/clienteles", clientele_create, methods=["POST"], name="clientele_create"
    ),
    Route(
        "/admin/reference/clienteles/{code:str}",
        clientele_update,
        methods=["POST"],
        name="clientele_update",
    ),
    Route(
        "/admin/reference/territories",
        territories_upload,
        methods=["POST"],
        name="territories_upload",
    ),
]
