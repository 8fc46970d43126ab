"""JSON API of the action plans (DESIGN.md, "HTTP surface"): `GET/POST /api/v1/plans`,
`GET /api/v1/plans/{id}`, `POST /api/v1/plans/{id}/import` (CSV), the CSV export.

Thin: each handler parses, calls one operation of `reports.plans` / `reports.plan_csv`
(which check `reports.view` to read, `events.edit` to change) and answers JSON.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import requires
from core.errors import AppError, ValidationFailed
from core.http import actor_of, json_response, parse_json, path_id
from core.i18n import _
from core.openapi import api_doc, choice_query_schema, query_param
from reports import plan_csv, plans
from reports.schemas import PlanCreateIn, PlanDetailOut, PlanImportOut, PlanIn, PlanListOut

TAGS = ["plans d'action"]
CSV_UPLOAD = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"}},
        }
    },
    "text/csv": {"schema": {"type": "string"}},
}


async def _detail(request: Request, plan_id: int, status_code: int = 200) -> Response:
    plan, rows = await plans.plan_rows(actor_of(request), plan_id)
    out = PlanDetailOut(
        **plans.plan_out(plan, len(rows)).model_dump(), items=[r.out() for r in rows]
    )
    return json_response(out.model_dump(mode="json"), status_code)


@api_doc(summary="Les plans d'action", tags=TAGS, response=PlanListOut)
@requires("reports.view")
async def plan_list(request: Request) -> Response:
    found = await plans.list_plans(actor_of(request))
    return json_response(PlanListOut(plans=found).model_dump(mode="json"))


@api_doc(
    summary="Créer un plan d'action (avec ses éléments, facultatif)",
    tags=TAGS,
    request=PlanCreateIn,
    response=PlanDetailOut,
    response_status=201,
    errors=[422],
)
@requires("events.edit")
async def plan_create(request: Request) -> Response:
    data = await parse_json(request, PlanCreateIn)
    plan = await plans.create_plan(
        actor_of(request), PlanIn(**data.model_dump(exclude={"items"})), data.items
    )
    return await _detail(request, plan.id, 201)


@api_doc(
    summary="Un plan d'action et ses éléments (en ordre d'arbre)",
    tags=TAGS,
    response=PlanDetailOut,
    errors=[404],
)
@requires("reports.view")
async def plan_detail(request: Request) -> Response:
    return await _detail(request, path_id(request))


async def _upload(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_part_size=plan_csv.MAX_BYTES + 1)
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
    return data


@api_doc(
    summary="Importer un plan d'action (CSV code,level,parent,title,indicator,target)",
    description=(
        "Tout ou rien : un fichier fautif est refusé (422) avec la raison de chaque ligne "
        "(`error.lines`: [{line, error}], la ligne 1 est l'en-tête) et rien n'est importé. "
        "Réimporter le même fichier met à jour les titres, indicateurs et cibles sans "
        "doublons. Colonnes facultatives : target_measure, clienteles."
    ),
    tags=TAGS,
    response=PlanImportOut,
    request_content=CSV_UPLOAD,
    errors=[404, 415, 422],
)
@requires("events.edit")
async def plan_import(request: Request) -> Response:
    plan_id = path_id(request)
    data = await _upload(request)
    result = await plan_csv.import_plan_csv(actor_of(request), plan_id, data)
    return json_response(result.model_dump())


@api_doc(
    summary="Exporter un plan d'action (CSV UTF-8 avec BOM)",
    tags=TAGS,
    params=[
        query_param("sep", choice_query_schema(["comma", "semicolon"]), "séparateur"),
    ],
    response_content={"text/csv": {"schema": {"type": "string"}}},
    errors=[404, 422],
)
@requires("reports.view")
async def plan_export(request: Request) -> Response:
    sep = request.query_params.get("sep", "")
    if sep not in ("", "comma", "semicolon"):
        raise ValidationFailed(fields={"sep": _("Séparateur inconnu (comma ou semicolon).")})
    body = await plan_csv.export_plan_csv(
        actor_of(request), path_id(request), semicolon=sep == "semicolon"
    )
    filename = plan_csv.export_filename(path_id(request))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


routes = [
    Route("/api/v1/plans", plan_list, name="api_plans"),
    Route("/api/v1/plans", plan_create, methods=["POST"], name="api_plan_create"),
    Route("/api/v1/plans/{id:int}", plan_detail, name="api_plan"),
    Route("/api/v1/plans/{id:int}/import", plan_import, methods=["POST"], name="api_plan_import"),
    Route("/api/v1/plans/{id:int}/export.csv", plan_export, name="api_plan_export"),
]
