"""Back office of the action plans (HTML): /admin/plans.

The list of plans (with a form for a new one), a plan's tree with an inline edit form per
item, a form to add an item (under any item, or an axis), the CSV import with its
line-by-line refusal, and the CSV export. Thin: each handler reads the form, calls one
operation of `reports.plans` / `reports.plan_csv` and renders or redirects.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import requires
from core.errors import AppError, ValidationFailed
from core.http import actor_of, flash, path_id, read_form, redirect, validate
from core.i18n import N_, _, current_language
from core.templating import render
from people import reference
from reports import plan_csv, plans
from reports.schemas import PLAN_LEVELS, PlanIn, PlanItemIn

PLAN_FIELDS = ("name", "period_start", "period_end")
ITEM_FIELDS = ("code", "level", "parent", "title", "indicator", "target", "target_measure")
MEASURES = (
    ("", "—"),
    ("people", N_("personnes jointes")),
    ("attended_headcount", N_("présences")),
    ("registrations", N_("inscriptions")),
    ("organizations", N_("organismes")),
    ("events", N_("événements")),
    ("certified_employers", N_("employeurs certifiés")),
)


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _plan_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: _text(form, name) for name in PLAN_FIELDS}
    values["active"] = form.get("active") in ("on", "1", "true")
    return values


def _item_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: _text(form, name) for name in ITEM_FIELDS}
    values["clienteles"] = [v for v in form.getlist("clienteles") if isinstance(v, str) and v][:20]
    return values


def _item_input(values: dict[str, Any]) -> PlanItemIn:
    data = dict(values)
    if not data.get("target"):
        data["target"] = None
    return validate(PlanItemIn, data)


def _measure_options() -> list[tuple[str, str]]:
    return [(code, _(label) if code else label) for code, label in MEASURES]


async def _common() -> dict[str, Any]:
    language = current_language.get()
    clienteles = await reference.list_clienteles()
    return {
        "level_options": [(lv, plans.level_label(lv)) for lv in PLAN_LEVELS],
        "measure_options": _measure_options(),
        "clientele_options": [(c.code, c.name(language)) for c in clienteles if c.active],
    }


# --------------------------------------------------------------------------- plans


async def _list_page(
    request: Request, values: dict[str, Any], errors: dict[str, str], status_code: int = 200
) -> Response:
    found = await plans.list_plans(actor_of(request))
    context = {"plans": found, "values": values, "errors": errors}
    return render(request, "reports/plans.html", context, status_code=status_code)


@requires("reports.view")
async def plan_list(request: Request) -> Response:
    return await _list_page(request, {"active": True}, {})


@requires("events.edit")
async def plan_create(request: Request) -> Response:
    form = await read_form(request)
    values = _plan_values(form)
    try:
        plan = await plans.create_plan(actor_of(request), validate(PlanIn, values))
    except ValidationFailed as error:
        return await _list_page(request, values, error.fields or {"__root__": error.message}, 422)
    flash(request, _("Le plan d'action a été créé."))
    return redirect(f"/admin/plans/{plan.id}")


async def _plan_page(
    request: Request,
    plan_id: int,
    *,
    errors: dict[str, str] | None = None,
    item_id: int | str | None = None,
    typed: dict[str, Any] | None = None,
    plan_values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    plan, rows = await plans.plan_rows(actor_of(request), plan_id)
    context: dict[str, Any] = {
        "plan": plan,
        "rows": rows,
        "plan_values": plan_values
        or {
            "name": plan.name,
            "period_start": plan.period_start,
            "period_end": plan.period_end,
            "active": plan.active,
        },
        "errors": errors or {},
        "error_item": str(item_id) if item_id is not None else "",
        "typed": typed or {},
        "can_edit": actor_of(request).can("events.edit"),
        **await _common(),
    }
    return render(request, "reports/plan.html", context, status_code=status_code)


@requires("reports.view")
async def plan_detail(request: Request) -> Response:
    return await _plan_page(request, path_id(request))


@requires("events.edit")
async def plan_update(request: Request) -> Response:
    plan_id = path_id(request)
    form = await read_form(request)
    values = _plan_values(form)
    try:
        await plans.update_plan(actor_of(request), plan_id, validate(PlanIn, values))
    except ValidationFailed as error:
        errors = error.fields or {"__root__": error.message}
        return await _plan_page(
            request, plan_id, errors=errors, item_id="plan", plan_values=values, status_code=422
        )
    flash(request, _("Le plan d'action a été enregistré."))
    return redirect(f"/admin/plans/{plan_id}")


@requires("events.edit")
async def plan_delete(request: Request) -> Response:
    plan_id = path_id(request)
    await read_form(request)
    try:
        await plans.delete_plan(actor_of(request), plan_id)
    except AppError as error:
        if error.status_code != 409:
            raise
        flash(request, error.message, "error")
        return redirect(f"/admin/plans/{plan_id}")
    flash(request, _("Le plan d'action a été supprimé."))
    return redirect("/admin/plans")


# --------------------------------------------------------------------------- items


@requires("events.edit")
async def item_add(request: Request) -> Response:
    plan_id = path_id(request)
    form = await read_form(request)
    values = _item_values(form)
    try:
        item = await plans.add_item(actor_of(request), plan_id, _item_input(values))
    except ValidationFailed as error:
        errors = error.fields or {"__root__": error.message}
        return await _plan_page(
            request, plan_id, errors=errors, item_id="new", typed=values, status_code=422
        )
    flash(request, _("L'élément %(code)s a été ajouté.", code=item.code))
    return redirect(f"/admin/plans/{plan_id}#item-{item.id}")


@requires("events.edit")
async def item_update(request: Request) -> Response:
    item_id = path_id(request)
    form = await read_form(request)
    values = _item_values(form)
    item = await plans.get_item(actor_of(request), item_id, plans.EDIT)
    try:
        await plans.update_item(actor_of(request), item_id, _item_input(values))
    except ValidationFailed as error:
        errors = error.fields or {"__root__": error.message}
        return await _plan_page(
            request, item.plan_id, errors=errors, item_id=item_id, typed=values, status_code=422
        )
    flash(request, _("L'élément %(code)s a été enregistré.", code=values["code"]))
    return redirect(f"/admin/plans/{item.plan_id}#item-{item_id}")


@requires("events.edit")
async def item_delete(request: Request) -> Response:
    item_id = path_id(request)
    await read_form(request)
    item = await plans.get_item(actor_of(request), item_id, plans.EDIT)
    try:
        await plans.delete_item(actor_of(request), item_id)
    except AppError as error:
        if error.status_code != 409:
            raise
        flash(request, error.message, "error")
        return redirect(f"/admin/plans/{item.plan_id}#item-{item_id}")
    flash(request, _("L'élément %(code)s a été supprimé.", code=item.code))
    return redirect(f"/admin/plans/{item.plan_id}")


@requires("events.edit")
async def item_move(request: Request) -> Response:
    item_id = path_id(request)
    form = await read_form(request)
    direction = "up" if _text(form, "direction") == "up" else "down"
    item = await plans.move_item(actor_of(request), item_id, direction)
    return redirect(f"/admin/plans/{item.plan_id}#item-{item_id}")


# --------------------------------------------------------------------------- CSV


async def _import_page(
    request: Request,
    plan_id: int,
    *,
    result: Any = None,
    lines: list[dict[str, Any]] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    plan = await plans.get_plan(actor_of(request), plan_id)
    context = {
        "plan": plan,
        "result": result,
        "lines": lines or [],
        "errors": errors or {},
        "columns": ",".join(plan_csv.COLUMNS),
        "optional_columns": ", ".join(plan_csv.OPTIONAL_COLUMNS),
    }
    return render(request, "reports/plan_import.html", context, status_code=status_code)


@requires("events.edit")
async def plan_import_page(request: Request) -> Response:
    return await _import_page(request, path_id(request))


@requires("events.edit")
async def plan_import_submit(request: Request) -> Response:
    plan_id = path_id(request)
    form = await read_form(request)
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data.strip():
        return await _import_page(
            request,
            plan_id,
            errors={"file": _("Choisissez un fichier CSV non vide.")},
            status_code=422,
        )
    try:
        result = await plan_csv.import_plan_csv(actor_of(request), plan_id, data)
    except ValidationFailed as error:
        lines = error.extra.get("lines") or []
        errors = {} if lines else (error.fields or {"file": error.message})
        if "file" not in errors and not lines:
            errors["file"] = error.message
        return await _import_page(request, plan_id, lines=lines, errors=errors, status_code=422)
    return await _import_page(request, plan_id, result=result)


@requires("reports.view")
async def plan_export(request: Request) -> Response:
    plan_id = path_id(request)
    body = await plan_csv.export_plan_csv(
        actor_of(request), plan_id, semicolon=request.query_params.get("sep") == "semicolon"
    )
    filename = plan_csv.export_filename(plan_id)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


PLAN = "/admin/plans/{id:int}"
ITEM = "/admin/plans/items/{id:int}"
routes = [
    Route("/admin/plans", plan_list, name="admin_plans"),
    Route("/admin/plans", plan_create, methods=["POST"], name="admin_plan_create"),
    Route(PLAN, plan_detail, name="admin_plan"),
    Route(PLAN, plan_update, methods=["POST"], name="admin_plan_update"),
    Route(PLAN + "/delete", plan_delete, methods=["POST"], name="admin_plan_delete"),
    Route(PLAN + "/items", item_add, methods=["POST"], name="admin_plan_item_add"),
    Route(PLAN + "/import", plan_import_page, name="admin_plan_import"),
    Route(PLAN + "/import", plan_import_submit, methods=["POST"], name="admin_plan_import_post"),
    Route(PLAN + "/export.csv", plan_export, name="admin_plan_export"),
    Route(ITEM, item_update, methods=["POST"], name="admin_plan_item_update"),
    Route(ITEM + "/delete", item_delete, methods=["POST"], name="admin_plan_item_delete"),
    Route(ITEM + "/move", item_move, methods=["POST"], name="admin_plan_item_move"),
]
