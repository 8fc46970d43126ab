"""The accountability report page (/admin/rapports/reddition): choose a plan and a period,
read the table (printable: static/css/accountability.css has the print rules), download it
as CSV (UTF-8 with BOM; `?sep=semicolon`) or XLSX; `mask=1` masks the cells of fewer than
5 people, for outside partners. Thin: `reports.accountability` computes everything."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import requires
from core.errors import ValidationFailed
from core.http import actor_of
from core.i18n import _
from core.inputs import parse_day, parse_id
from core.templating import render
from people import plans as people_plans
from reports import accountability_export as export
from reports import plans
from reports.accountability import accountability

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _query(request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    params = request.query_params
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "plan": params.get("plan", "").strip()[:12],
        "from": params.get("from", "").strip()[:10],
        "to": params.get("to", "").strip()[:10],
        "mask": params.get("mask") in ("1", "on", "true"),
    }
    parsed: dict[str, Any] = {}
    try:
        parsed["plan"] = parse_id(values["plan"])
    except ValueError:
        errors["plan"] = _("Plan d'action inconnu.")
    for name in ("from", "to"):
        try:
            parsed[name] = parse_day(values[name])
        except ValueError:
            errors[name] = _("Date invalide (AAAA-MM-JJ).")
    values["parsed"] = parsed
    return values, errors


@requires("reports.view")
async def accountability_page(request: Request) -> Response:
    actor = actor_of(request)
    values, errors = _query(request)
    parsed = values.pop("parsed")
    fmt = request.query_params.get("format", "")
    plan_options = [(p.id, p.name) for p in await plans.list_plans(actor)]
    plan_id = parsed.get("plan")
    if plan_id is None and not errors:
        current = await people_plans.plan_for_year(None)
        plan_id = current.id if current else None
    report = None
    if plan_id is not None and not errors:
        try:
            report = await accountability(
                actor, plan_id, parsed.get("from"), parsed.get("to"), mask=values["mask"]
            )
        except ValidationFailed as error:
            errors.update(error.fields)
    if report is not None and fmt in ("csv", "xlsx"):
        if fmt == "csv":
            separator = ";" if request.query_params.get("sep") == "semicolon" else ","
            body, media_type = export.to_csv(report, separator), "text/csv; charset=utf-8"
        else:
            body, media_type = export.to_xlsx(report), XLSX_TYPE
        name = export.filename(report, fmt)
        return Response(
            body,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    query = {}
    if report is not None:
        query = {
            "plan": report.plan.id,
            "from": report.date_from.isoformat(),
            "to": report.date_to.isoformat(),
        }
        if report.masked:
            query["mask"] = "1"
    context = {
        "report": report,
        "values": {**values, "plan": str(plan_id or values["plan"])},
        "errors": errors,
        "plan_options": plan_options,
        "query": urlencode(query),
        "level_label": plans.level_label,
    }
    status_code = 422 if errors else 200
    return render(request, "reports/accountability.html", context, status_code=status_code)


routes = [
    Route("/admin/rapports/reddition", accountability_page, name="admin_accountability"),
]
