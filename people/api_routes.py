"""People directory JSON API under /api/v1 (documented in /api/v1/openapi.json).

Thin: each handler parses the request, calls one domain operation (which checks the
caller's right itself) and answers JSON; errors are `{"error": {...}}` (core.errors).
The back-office pages are in `people.admin_routes`.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.auth import requires
from core.errors import AppError, ValidationFailed
from core.http import (
    LARGE_BODY_LIMIT,
    actor_of,
    check_csrf_header,
    int_query_param,
    json_response,
    path_id,
)
from core.i18n import _, current_language
from core.openapi import ID_QUERY_SCHEMA, api_doc, page_params, query_param
from core.paging import MAX_PAGE
from people import consents, imports, privacy, reference, service
from people.schemas import (
    ClienteleList,
    ImportResult,
    PersonDetailOut,
    PersonExportOut,
    PersonOut,
    PersonPage,
    TerritoryList,
    people_filters,
)

PER_PAGE = 50

MAX_PER_PAGE = 200
_LIST_PARAMS = [
    query_param("q", {"type": "string"}, "texte libre"),
    query_param("territory", {"type": "string"}),
    query_param("clientele", {"type": "string"}),
    query_param("organization", ID_QUERY_SCHEMA),
    *page_params(MAX_PER_PAGE, PER_PAGE),
]


def _api_filters(request: Request) -> dict[str, Any]:
    """The search filters of the query string; what is not a number is a 422, not ignored."""
    filters = people_filters(request.query_params)
    page = int_query_param(request, "page", 1, 1, MAX_PAGE)
    per_page = int_query_param(request, "per_page", PER_PAGE, 1, MAX_PER_PAGE)
    return filters | {"page": page, "per_page": per_page}


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
    report = await imports.import_people_csv(actor_of(request), data)
    return json_response(report.as_dict())


@api_doc(
    summary="Chercher des personnes", tags=["personnes"], response=PersonPage, params=_LIST_PARAMS
)
@requires("people.view")
async def api_people_list(request: Request) -> Response:
    result = await service.search_people(actor_of(request), **_api_filters(request))
    language = current_language.get()
    return json_response(
        {
            "items": [privacy.person_dict(p, language) for p in result.items],
            "total": result.total,
            "page": result.page,
            "per_page": result.per_page,
            "has_next": result.has_next,
        }
    )


@api_doc(summary="Une personne", tags=["personnes"], response=PersonDetailOut, errors=[404])
@requires("people.view")
async def api_person(request: Request) -> Response:
    person = await service.get_person(actor_of(request), path_id(request))
    data = privacy.person_dict(person, current_language.get())
    data["consents"] = [privacy.consent_dict(c) for c in await consents.consent_history(person.id)]
    return json_response(data)


@api_doc(
    summary="Exporter tout ce qui est détenu sur une personne (Loi 25)",
    tags=["personnes"],
    response=PersonExportOut,
    errors=[404],
)
@requires("people.access")
async def api_person_export(request: Request) -> Response:
    data = await privacy.export_person(actor_of(request), path_id(request))
    return json_response(data, headers={"Cache-Control": "no-store"})


@api_doc(
    summary="Anonymiser une personne (effacement, comptes conservés)",
    tags=["personnes"],
    response=PersonOut,
    errors=[404],
)
@requires("people.erase")
async def api_person_erase(request: Request) -> Response:
    person = await privacy.erase_person(actor_of(request), path_id(request))
    return json_response(privacy.person_dict(person, current_language.get()))


@api_doc(
    summary="Territoires (régions et MRC)",
    tags=["référence"],
    auth="public",
    response=TerritoryList,
)
async def api_territories(request: Request) -> Response:
    territories = await reference.list_territories()
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
        for c in await reference.list_clienteles()
    ]
    return JSONResponse({"items": items}, headers={"Cache-Control": "public, max-age=300"})


routes = [
    Route("/api/v1/people", api_people_list, name="api_people"),
    Route("/api/v1/people/import", api_people_import, methods=["POST"], name="api_people_import"),
    Route("/api/v1/people/{id:int}", api_person, name="api_person"),
    Route("/api/v1/people/{id:int}/export", api_person_export, name="api_person_export"),
    Route(
        "/api/v1/people/{id:int}/erase",
        api_person_erase,
        methods=["POST"],
        name="api_person_erase",
    ),
    Route("/api/v1/territories", api_territories, name="api_territories"),
    Route("/api/v1/clienteles", api_clienteles, name="api_clienteles"),
]
