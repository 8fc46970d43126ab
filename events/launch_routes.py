"""An edition's launches planned on one page (back office): the grid, its one save, and
"Publier les lancements prêts".

Thin: the rules live in `events.launches`. Usable without JavaScript: one form, one input
per cell (named "<child id>-<column>"), each with a label naming its MRC.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import i18n
from core.auth import requires
from core.errors import ValidationFailed
from core.http import actor_of, flash, path_id, read_form, redirect
from core.i18n import _
from core.inputs import is_id
from core.templating import render
from events import launches
from events.models import Event
from events.public_routes import template_helpers


def _rows(form: FormData) -> dict[int, dict[str, str]]:
    """The grid's rows as typed: {child id: {column: value}}."""
    rows: dict[int, dict[str, str]] = {}
    for raw_id in form.getlist("row")[: launches.MAX_ROWS + 1]:
        if not isinstance(raw_id, str) or not is_id(raw_id):
            raise ValidationFailed(_("Ce lancement n'appartient pas à cette édition."))
        child_id = int(raw_id)
        rows[child_id] = {}
        for column in launches.LAUNCH_FIELDS:
            value = form.get(f"{child_id}-{column}", "")
            rows[child_id][column] = value.strip() if isinstance(value, str) else ""
    return rows


def _render(
    request: Request,
    edition: Event,
    children: list[Event],
    *,
    typed: dict[int, dict[str, str]] | None = None,
    error: ValidationFailed | None = None,
    report: launches.PublishReport | None = None,
) -> Response:
    context: dict[str, Any] = {
        "edition": edition,
        "rows": launches.row_inputs(children, typed),
        "places": {c.id: c.territory.name if c.territory else c.title for c in children},
        "errors": error.fields if error else {},
        "message": error.message if error else "",
        "report": report,
        **template_helpers(),
    }
    return render(
        request,
        "events/admin/launches.html",
        context,
        status_code=error.status_code if error else 200,
    )


@requires("events.edit")
async def launches_page(request: Request) -> Response:
    edition, children = await launches.edition_launches(actor_of(request), path_id(request))
    return _render(request, edition, children)


@requires("events.edit")
async def launches_save(request: Request) -> Response:
    form = await read_form(request)
    edition_id = path_id(request)
    actor = actor_of(request)
    rows = _rows(form)
    try:
        changed = await launches.plan_launches(actor, edition_id, rows)
    except ValidationFailed as error:
        edition, children = await launches.edition_launches(actor, edition_id)
        return _render(request, edition, children, typed=rows, error=error)
    if changed:
        flash(
            request,
            i18n.ngettext(
                "%(num)s lancement a été enregistré.",
                "%(num)s lancements ont été enregistrés.",
                changed,
            ),
        )
    else:
        flash(request, _("Aucun changement à enregistrer."), "warning")
    return redirect(f"/admin/events/{edition_id}/launches")


@requires("events.edit")
async def launches_publish(request: Request) -> Response:
    await read_form(request)
    edition_id = path_id(request)
    actor = actor_of(request)
    report = await launches.publish_ready_launches(actor, edition_id)
    edition, children = await launches.edition_launches(actor, edition_id)
    return _render(request, edition, children, report=report)


routes = [
    Route("/admin/events/{id:int}/launches", launches_page, name="admin_event_launches"),
    Route(
        "/admin/events/{id:int}/launches",
        launches_save,
        methods=["POST"],
        name="admin_event_launches_save",
    ),
    Route(
        "/admin/events/{id:int}/launches/publish",
        launches_publish,
        methods=["POST"],
        name="admin_event_launches_publish",
    ),
]
