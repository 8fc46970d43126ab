"""The public directory of certified employers: the page (phone first, filters by MRC,
sector and level) and the partners' endpoint (JSON, or CSV with `?format=csv`).

Thin: the query and the CSV are `campaigns.certification.directory`'s.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campaigns.certification import directory
from campaigns.certification.public_schemas import DirectoryOut
from core import i18n
from core.auth import current_principal
from core.errors import ValidationFailed
from core.http import int_query_param, json_response, settings_of
from core.i18n import _
from core.openapi import api_doc, choice_query_schema, page_params, query_param
from core.paging import MAX_PAGE, page_number
from core.templating import render

TAGS = ["certification"]
FORMATS = ("json", "csv")


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s JSON schema with its definitions inlined (for a `response_content`)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.rsplit("/", 1)[1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


PARAMS = [
    query_param(
        "territory",
        {"type": "string", "maxLength": directory.TERRITORY_MAX},
        "code de MRC, ou de région (toutes ses MRC)",
    ),
    query_param("sector", choice_query_schema(directory.sector_codes()), "code du secteur"),
    query_param(
        "level", {"type": "string", "maxLength": directory.LEVEL_MAX}, "code du niveau (or, …)"
    ),
    query_param("format", choice_query_schema(list(FORMATS)), "json (par défaut) ou csv"),
    *page_params(directory.MAX_PER_PAGE),
]


async def directory_page(request: Request) -> Response:
    await current_principal(request)
    language = i18n.current_language.get()
    filters = directory.DirectoryFilters.from_params(request.query_params)
    page = page_number(request.query_params.get("page", "1"))
    entries, total = await directory.directory_page(filters, page=page)
    query = filters.query_string()
    context = {
        "entries": entries,
        "total": total,
        "page": page,
        "has_next": page * directory.PAGE_SIZE < total,
        "params": "&" + query if query else "",
        "values": {
            "territory": filters.territory or "",
            "sector": filters.sector or "",
            "level": filters.level or "",
        },
        "errors": filters.errors,
        "options": await directory.filter_options(language),
        "language": language,
        "sector_label": directory.sector_label,
        "csv_url": "/api/v1/certification/directory?"
        + (query + "&" if query else "")
        + "format=csv",
    }
    return render(request, "certification/directory.html", context)


@api_doc(
    summary="Répertoire public des employeurs certifiés (JSON ou CSV)",
    description=(
        "Les employeurs dont la certification est en vigueur (valide ou en "
        "renouvellement) et qui ont consenti à paraître au répertoire, par ordre "
        "alphabétique. `?format=csv` : toutes les lignes (UTF-8 avec BOM)."
    ),
    tags=TAGS,
    auth="public",
    params=PARAMS,
    errors=[422],
    response_content={
        "application/json": {"schema": inline_schema(DirectoryOut)},
        "text/csv": {"schema": {"type": "string"}},
    },
)
async def directory_api(request: Request) -> Response:
    filters = directory.DirectoryFilters.from_params(request.query_params)
    fmt = (request.query_params.get("format") or "json").strip().lower()
    if fmt not in FORMATS:
        filters.errors["format"] = _("Format inconnu (json ou csv).")
    if filters.errors:
        raise ValidationFailed(fields=filters.errors)
    page = int_query_param(request, "page", 1, 1, MAX_PAGE)
    per_page = int_query_param(request, "per_page", 50, 1, directory.MAX_PER_PAGE)
    base_url = settings_of(request).base_url
    if fmt == "csv":
        entries = await directory.directory_entries(filters)
        body = directory.to_csv(entries, base_url=base_url, language=i18n.current_language.get())
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="repertoire-employeurs-certifies.csv"'
            },
        )
    entries, total = await directory.directory_page(filters, page=page, per_page=per_page)
    return json_response(
        {
            "items": [entry.as_json(base_url) for entry in entries],
            "total": total,
            "page": page,
            "per_page": per_page,
        }
    )


routes = [
    Route("/certification/repertoire", directory_page, name="certification_directory"),
    Route(
        "/api/v1/certification/directory",
        directory_api,
        methods=["GET"],
        name="api_certification_directory",
    ),
]
