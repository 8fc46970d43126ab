"""People directory routes: back-office pages and the JSON API (thin; rules live in service)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.auth import Principal, requires
from core.errors import AppError, ValidationFailed
from core.http import (
    LARGE_BODY_LIMIT,
    check_csrf_header,
    flash,
    json_response,
    read_form,
    redirect,
    validate,
)
from core.i18n import _, current_language
from core.openapi import api_doc
from core.paging import page_number
from core.templating import render
from people import service
from people.schemas import (
    ClienteleIn,
    ClienteleList,
    ClienteleNew,
    ConsentIn,
    ImportResult,
    OrganizationIn,
    PersonDetailOut,
    PersonIn,
    PersonPage,
    TerritoryList,
)

PER_PAGE = 50


def _actor(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


def _values(form: FormData, names: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name, "")
        values[name] = value.strip() if isinstance(value, str) else ""
    return values


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _people_filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "q": params.get("q", "").strip()[:200],
        "territory": params.get("territory", "").strip()[:10] or None,
        "clientele": params.get("clientele", "").strip()[:32] or None,
        "organization_id": _int_or_none(params.get("organization")),
    }


async def _reference_choices() -> dict[str, Any]:
    language = current_language.get()
    groups = await service.territories_by_region()
    clienteles = await service.list_clienteles()
    return {
        "territory_options": service.territory_choices(groups),
        "clientele_options": [(c.code, c.name(language)) for c in clienteles if c.active],
        "organization_options": await service.organization_choices(),
        "sector_options": service.sector_choices(),
        "sector_labels": dict(service.sector_choices()),
        "purpose_options": service.purpose_choices(),
        "purpose_labels": dict(service.purpose_choices()),
    }


# ---------------------------------------------------------------------------
# People pages
# ---------------------------------------------------------------------------


@requires("people.view")
async def people_list(request: Request) -> Response:
    filters = _people_filters(request)
    page = page_number(request.query_params.get("page", "1"))
    result = await service.search_people(_actor(request), **filters, page=page, per_page=PER_PAGE)
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
        person = await service.create_person(_actor(request), validate(PersonIn, values))
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
    actor = _actor(request)
    person = await service.get_person(actor, person_id)
    history = await service.consent_history(person.id)
    if values is None:
        values = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email or "",
            "phone": person.phone,
            "language": person.language,
            "organization_id": person.organization.id if person.organization else "",
            "clientele": person.clientele.code if person.clientele else "",
            "territory": person.territory.code if person.territory else "",
        }
    context: dict[str, Any] = {
        "person": person,
        "history": list(reversed(history)),
        "current": service.current_consents(history),
        "values": values,
        "errors": errors or {},
        "consent_errors": consent_errors or {},
    }
    context.update(await _reference_choices())
    return render(request, "people/detail.html", context, status_code=status_code)


@requires("people.view")
async def person_detail(request: Request) -> Response:
    return await _person_page(request, int(request.path_params["id"]))


@requires("people.edit")
async def person_update(request: Request) -> Response:
    form = await read_form(request)
    person_id = int(request.path_params["id"])
    values = _values(form, PERSON_FIELDS)
    try:
        await service.update_person(_actor(request), person_id, validate(PersonIn, values))
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
    person_id = int(request.path_params["id"])
    values = _values(form, ["purpose", "granted", "wording", "source"])
    values["source"] = values["source"] or "backoffice"
    try:
        data = validate(ConsentIn, values)
        await service.record_consent(_actor(request), person_id, data)
    except ValidationFailed as error:
        return await _person_page(
            request, person_id, consent_errors=error.fields, status_code=error.status_code
        )
    flash(request, _("Le consentement a été consigné au registre."))
    return redirect(f"/admin/people/{person_id}#consentements")


@requires("people.export")
async def person_export(request: Request) -> Response:
    person_id = int(request.path_params["id"])
    data = await service.export_person(_actor(request), person_id)
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
    person = await service.get_person(_actor(request), int(request.path_params["id"]))
    return render(request, "people/erase.html", {"person": person, "error": None})


@requires("people.erase")
async def person_erase(request: Request) -> Response:
    form = await read_form(request)
    person_id = int(request.path_params["id"])
    if form.get("confirm") != "yes":
        person = await service.get_person(_actor(request), person_id)
        return render(
            request,
            "people/erase.html",
            {"person": person, "error": _("Cochez la case pour confirmer l'anonymisation.")},
            status_code=422,
        )
    await service.erase_person(_actor(request), person_id)
    flash(request, _("Les données personnelles ont été effacées; la fiche est anonymisée."))
    return redirect(f"/admin/people/{person_id}")


@requires("people.export")
async def people_export_csv(request: Request) -> Response:
    text = await service.export_people_csv(_actor(request), **_people_filters(request))
    return Response(
        text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="personnes.csv"',
            "Cache-Control": "no-store",
        },
    )


def _columns() -> str:
    return ",".join(service.PEOPLE_COLUMNS)


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
    report = await service.import_people_csv(_actor(request), data)
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
    result = await service.search_organizations(
        _actor(request), **filters, page=page, per_page=PER_PAGE
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
            _actor(request), organization_id=organization.id, per_page=200
        )
        context["members"] = members
    context.update(await _reference_choices())
    return render(request, "people/organization.html", context, status_code=status_code)


@requires("people.edit")
async def organization_new(request: Request) -> Response:
    return await _organization_form(request, None, {"sector": "other"}, {})


@requires("people.edit")
async def organization_create(request: Request) -> Response:
    form = await read_form(request)
    values = _values(form, ORGANIZATION_FIELDS)
    try:
        organization = await service.create_organization(
            _actor(request), validate(OrganizationIn, values)
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
    organization = await service.get_organization(_actor(request), int(request.path_params["id"]))
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
    organization_id = int(request.path_params["id"])
    values = _values(form, ORGANIZATION_FIELDS)
    try:
        await service.update_organization(
            _actor(request), organization_id, validate(OrganizationIn, values)
        )
    except AppError as error:
        if not error.fields:
            raise
        organization = await service.get_organization(_actor(request), organization_id)
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
    territory_report: service.ImportReport | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "groups": await service.territories_by_region(active_only=False),
        "clienteles": await service.list_clienteles(),
        "plan": await service.plan_tree(),
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
        await service.update_clientele(_actor(request), code, validate(ClienteleIn, values))
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
        await service.create_clientele(_actor(request), validate(ClienteleNew, values))
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
    report = await service.import_territories(_actor(request), data)
    return await _reference_page(request, territory_report=report)


# ---------------------------------------------------------------------------
# JSON API
# ---------------------------------------------------------------------------

_LIST_PARAMS = [
    {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "texte libre"},
    {"name": "territory", "in": "query", "schema": {"type": "string"}},
    {"name": "clientele", "in": "query", "schema": {"type": "string"}},
    {"name": "organization", "in": "query", "schema": {"type": "integer"}},
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "maximum": 200}},
]


@api_doc(
    summary="Importer des personnes (CSV)",
    tags=["personnes"],
    response=ImportResult,
    request_content={
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        "text/csv": {"schema": {"type": "string"}},
    },
)
@requires("people.import")
async def api_people_import(request: Request) -> Response:
    check_csrf_header(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_part_size=LARGE_BODY_LIMIT)
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            data = await upload.read()
        elif isinstance(upload, str):
            data = upload.encode("utf-8")
        else:
            raise ValidationFailed(fields={"file": _("Le champ « file » est obligatoire.")})
    elif content_type in ("text/csv", "text/plain", "application/octet-stream"):
        data = await request.body()
    else:
        raise AppError(
            _("Envoyez un fichier CSV (multipart/form-data, champ « file ») ou un corps text/csv."),
            code="unsupported_media_type",
            status_code=415,
        )
    if not data.strip():
        raise ValidationFailed(fields={"file": _("Le fichier CSV est vide.")})
    report = await service.import_people_csv(_actor(request), data)
    return json_response(report.as_dict())


def _api_filters(request: Request) -> dict[str, Any]:
    filters = _people_filters(request)
    params = request.query_params
    try:
        page = int(params.get("page", "1"))
        per_page = int(params.get("per_page", str(PER_PAGE)))
    except ValueError:
        raise ValidationFailed(fields={"page": _("Un nombre entier est attendu.")}) from None
    if page < 1 or not 1 <= per_page <= 200:
        raise ValidationFailed(
            fields={"page": _("page ≥ 1 et per_page entre 1 et 200 sont attendus.")}
        )
    if params.get("organization") and filters["organization_id"] is None:
        raise ValidationFailed(fields={"organization": _("Un nombre entier est attendu.")})
    return filters | {"page": page, "per_page": per_page}


@api_doc(
    summary="Chercher des personnes", tags=["personnes"], response=PersonPage, params=_LIST_PARAMS
)
@requires("people.view")
async def api_people_list(request: Request) -> Response:
    result = await service.search_people(_actor(request), **_api_filters(request))
    language = current_language.get()
    return json_response(
        {
            "items": [service.person_dict(p, language) for p in result.items],
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
            "has_next": result.has_next,
        }
    )


@api_doc(summary="Une personne", tags=["personnes"], response=PersonDetailOut, errors=[404])
@requires("people.view")
async def api_person(request: Request) -> Response:
    person = await service.get_person(_actor(request), int(request.path_params["id"]))
    data = service.person_dict(person, current_language.get())
    data["consents"] = [service.consent_dict(c) for c in await service.consent_history(person.id)]
    return json_response(data)


@api_doc(
    summary="Territoires (régions et MRC)",
    tags=["référence"],
    auth="public",
    response=TerritoryList,
)
async def api_territories(request: Request) -> Response:
    territories = await service.list_territories()
    items = [
        {
            "code": t.code,
            "kind": str(t.kind),
            "name": t.name,
            "region_code": t.parent.code if t.parent else None,
        }
        for t in territories
    ]
    return JSONResponse({"items": items}, headers={"Cache-Control": "public, max-age=300"})


@api_doc(summary="Clientèles cibles", tags=["référence"], auth="public", response=ClienteleList)
async def api_clienteles(request: Request) -> Response:
    language = current_language.get()
    items = [
        {
            "code": c.code,
            "name_fr": c.name_fr,
            "name_en": c.name_en,
            "name": c.name(language),
            "position": c.position,
            "active": c.active,
        }
        for c in await service.list_clienteles()
    ]
    return JSONResponse({"items": items}, headers={"Cache-Control": "public, max-age=300"})


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
    Route("/api/v1/people", api_people_list, name="api_people"),
    Route("/api/v1/people/import", api_people_import, methods=["POST"], name="api_people_import"),
    Route("/api/v1/people/{id:int}", api_person, name="api_person"),
    Route("/api/v1/territories", api_territories, name="api_territories"),
    Route("/api/v1/clienteles", api_clienteles, name="api_clienteles"),
]
