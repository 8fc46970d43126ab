"""The event's printable report page (`/admin/events/{id}/report`). Thin: the figures come
from `reports.event_report.event_report` (which checks `reports.view`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import i18n
from core.auth import requires
from core.http import actor_of, path_id
from core.templating import render
from reports.event_report import event_report


def percent(value: float | None) -> str:
    """« 83 % » (None: « — »)."""
    return "—" if value is None else f"{round(value * 100)}\u00a0%"


def one_decimal(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value:.1f}"
    return text.replace(".", ",") if i18n.current_language.get() == "fr" else text


@requires("reports.view")
async def report_page(request: Request) -> Response:
    report = await event_report(actor_of(request), path_id(request))
    return render(
        request,
        "reports/event_report.html",
        {
            "report": report,
            "event": report.event,
            "percent": percent,
            "one_decimal": one_decimal,
        },
        headers={"Cache-Control": "private, no-store"},
    )


routes = [Route("/admin/events/{id:int}/report", report_page, name="admin_event_report")]
