"""JSON API of the reports (DESIGN.md, "HTTP surface"): the participation report.

Thin: the query string is read by `ParticipationQuery` (a bad value: 422 with the field),
the numbers come from `reports.participation.participation` (which checks `reports.view`).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import requires
from core.errors import ValidationFailed
from core.http import actor_of, json_response
from core.openapi import api_doc
from reports import participation_export
from reports.participation import participation
from reports.participation_schemas import API_PARAMS, PARTICIPATION_SCHEMA, ParticipationQuery

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(body: bytes, fmt: str) -> Response:
    media_type = XLSX_TYPE if fmt == "xlsx" else "text/csv; charset=utf-8"
    filename = f"participation-{date.today().isoformat()}.{fmt}"
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"; '
            f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


@api_doc(
    summary="Participation : inscriptions, présences et personnes jointes, par groupe",
    description="Regroupe par une ou deux clés (clientèle, MRC ou région du participant, "
    "MRC de l'événement, secteur, type, élément ou axe du plan, mois, édition). Agrégats "
    "seulement; `mask` masque les cellules de moins de N personnes.",
    tags=["rapports"],
    params=API_PARAMS,
    errors=[422],
    response_content={
        "application/json": {"schema": PARTICIPATION_SCHEMA},
        "text/csv": {"schema": {"type": "string"}},
        XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
    },
)
@requires("reports.view")
async def participation_report(request: Request) -> Response:
    query = ParticipationQuery.from_params(request.query_params)
    if query.errors:
        raise ValidationFailed(fields=query.errors)
    report = await participation(
        actor_of(request), query.filters, query.group_by, mask_below=query.mask
    )
    if query.format == "csv":
        return _download(participation_export.to_csv(report, query.mask, query.separator), "csv")
    if query.format == "xlsx":
        return _download(participation_export.to_xlsx(report, query.mask), "xlsx")
    return json_response(
        {"group_by": list(report.group_by), "rows": report.rows, "totals": report.totals}
    )


routes = [
    Route(
        "/api/v1/reports/participation",
        participation_report,
        methods=["GET"],
        name="api_reports_participation",
    ),
]
