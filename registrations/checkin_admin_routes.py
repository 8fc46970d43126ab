"""Back-office check-in page: live counts, paired tablets, recent scans with undo, CSV export.

`/admin/events/{id}/checkin` (organizers: "registrations.manage"; a `checkin` user opens the
tablet app at `/checkin/{id}` instead). Pairing a tablet shows its link and QR code once, in
the answer to the POST, never again. Thin: the rules live in `registrations.checkin`,
`registrations.attendance` and `registrations.devices`.
"""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.audit import audit
from core.auth import requires
from core.errors import ValidationFailed
from core.http import actor_of, flash, path_id, read_form, redirect, settings_of
from core.i18n import N_, _, current_language, to_local
from core.paging import page_number
from core.templating import render
from registrations import access, attendance, checkin, devices, exports, tickets
from registrations.models import CheckinResult

PER_PAGE = 50
DEFAULT_HOURS = 24
MAX_HOURS = 24 * 14

RESULT_LABELS = {
    CheckinResult.OK: N_("Accueilli·e"),
    CheckinResult.ALREADY_CHECKED_IN: N_("Déjà accueilli·e"),
    CheckinResult.INVALID: N_("Billet invalide"),
    CheckinResult.WRONG_EVENT: N_("Autre événement"),
    CheckinResult.CANCELLED: N_("Inscription annulée"),
    CheckinResult.WAITLISTED: N_("Liste d'attente"),
    CheckinResult.UNAPPROVED: N_("Non approuvée"),
    CheckinResult.OUTSIDE_WINDOW: N_("Hors période"),
}
METHOD_LABELS = {
    "scan": N_("QR"),
    "search": N_("Rechercher"),
    "walkin": N_("Sur place"),
    "sync": N_("Hors ligne"),
}


def result_label(result: str) -> str:
    try:
        return _(RESULT_LABELS[CheckinResult(result)])
    except ValueError:
        return result


def method_label(method: str) -> str:
    return _(METHOD_LABELS[method]) if method in METHOD_LABELS else method


def stamp(value: datetime | None) -> str:
    """Local time to the second, for the door's log: « 2027-02-16 09:03:27 »."""
    return to_local(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


MAX_SCAN_PAGE = 10_000


def _page_url(event_id: int, page: int = 1) -> str:
    return f"/admin/events/{event_id}/checkin" + (f"?page={page}" if page > 1 else "")


def device_link(base_url: str, event_id: int, raw_token: str) -> str:
    """What a tablet opens to pair itself: the app, with the token in the fragment (never
    sent to a server or written to access logs)."""
    return f"{base_url.rstrip('/')}/checkin/{event_id}#token={raw_token}"


def qr_data_uri(text: str) -> str:
    png = tickets.qr_png(text, box_size=6)
    return "data:image/png;base64," + base64.b64encode(png).decode()


async def _context(request: Request, event_id: int, page: int) -> dict[str, Any]:
    event = await access.get_event(actor_of(request), event_id, manage=True)
    total_scans = await attendance.scan_count(event_id)
    scans = await attendance.recent_scans(
        event_id, PER_PAGE, (page - 1) * PER_PAGE, with_staff=True
    )
    return {
        "event": event,
        "counts": await attendance.counts(event),
        "devices": await devices.event_devices(event_id),
        "scans": scans,
        "page": page,
        "has_next": page * PER_PAGE < total_scans,
        "total_scans": total_scans,
        "default_hours": DEFAULT_HOURS,
        "max_hours": MAX_HOURS,
        "now": datetime.now(UTC),
        "result_label": result_label,
        "method_label": method_label,
        "stamp": stamp,
        "language": current_language.get(),
    }


@requires("registrations.manage")
async def checkin_page(request: Request) -> Response:
    event_id = path_id(request, "event_id")
    context = await _context(
        request, event_id, page_number(request.query_params.get("page", "1"), 10_000)
    )
    return render(request, "registrations/checkin_admin/page.html", context)


def _hours(form: FormData) -> int:
    raw = str(form.get("hours") or "").strip()
    if not raw:
        return DEFAULT_HOURS
    try:
        hours = int(raw)
    except ValueError:
        raise ValidationFailed(
            fields={"hours": _("Un nombre entier d'heures est attendu.")}
        ) from None
    if not 1 <= hours <= MAX_HOURS:
        raise ValidationFailed(fields={"hours": _("Entre 1 et %(max)s heures.", max=MAX_HOURS)})
    return hours


@requires("registrations.manage")
async def pair(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request, "event_id")
    name = str(form.get("name") or "").strip()[:100]
    try:
        hours = _hours(form)
    except ValidationFailed as error:
        context = await _context(request, event_id, 1)
        context.update(
            pair_errors=error.fields, pair_form={"name": name, "hours": form.get("hours")}
        )
        return render(request, "registrations/checkin_admin/page.html", context, status_code=422)
    device, raw = await devices.pair_device(actor_of(request), event_id, name, hours=hours)
    link = device_link(settings_of(request).base_url, event_id, raw)
    context = await _context(request, event_id, 1)
    context["paired"] = {"device": device, "link": link, "qr": qr_data_uri(link)}
    # Shown once: the answer to this POST is the only place the token appears.
    return render(
        request,
        "registrations/checkin_admin/page.html",
        context,
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@requires("registrations.manage")
async def revoke(request: Request) -> Response:
    await read_form(request)
    event_id = path_id(request, "event_id")
    device = await devices.event_device(event_id, path_id(request, "device_id"))
    if device.revoked_at is None:
        await devices.revoke_device(actor_of(request), device.id)
        flash(request, _("L'appareil « %(name)s » est révoqué.", name=device.name))
    return redirect(_page_url(event_id))


@requires("registrations.manage")
async def undo(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request, "event_id")
    row = await attendance.event_checkin(event_id, path_id(request, "checkin_id"))
    page = page_number(form.get("page", "1"), MAX_SCAN_PAGE)
    if row.undone_at is not None:
        flash(request, _("Cet accueil était déjà annulé."), "error")
        return redirect(_page_url(event_id, page))
    await checkin.undo_checkin(actor_of(request), row.id)
    person = row.registration.person
    flash(
        request,
        _("Accueil annulé : %(name)s.", name=f"{person.first_name} {person.last_name}".strip()),
    )
    return redirect(_page_url(event_id, page))


CSV_HEADERS = (
    N_("Jour"),
    N_("Heure d'accueil"),
    N_("Nom"),
    N_("Prénom"),
    N_("Courriel"),
    N_("Clientèle"),
    N_("Organisme"),
    N_("Taille du groupe"),
    N_("Code du billet"),
    N_("Mode"),
    N_("Appareil"),
    N_("Personne à l'accueil"),
    N_("Bénévole"),
    N_("Annulé le"),
)


@requires("registrations.manage")
async def export_csv(request: Request) -> Response:
    actor = actor_of(request)
    event_id = path_id(request, "event_id")
    event = await access.get_event(actor, event_id, manage=True)
    rows = await attendance.checkins_for_export(event_id)
    language = current_language.get()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([exports.cell_safe(_(h)) for h in CSV_HEADERS])
    for row in rows:
        registration = row.registration
        person = registration.person
        cells = [
            row.day.isoformat(),
            stamp(row.checked_in_at),
            person.last_name,
            person.first_name,
            person.email or "",
            registration.clientele.name(language) if registration.clientele else "",
            registration.organization.name if registration.organization else "",
            registration.party_size,
            registration.ticket_code,
            method_label(row.method),
            row.device.name if row.device else "",
            (row.staff.full_name or row.staff.email) if row.staff else "",
            row.volunteer,
            stamp(row.undone_at),
        ]
        writer.writerow([exports.cell_safe(c) if isinstance(c, str) else c for c in cells])
    await audit(actor, "checkin.exported", event, {"count": len(rows)})
    filename = f"accueil-evenement-{event_id}.csv"
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"; '
            f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


EVENT = "/admin/events/{event_id:int}/checkin"

routes = [
    Route(EVENT, checkin_page, name="admin_checkin"),
    Route(EVENT + "/devices", pair, methods=["POST"], name="admin_checkin_pair"),
    Route(
        EVENT + "/devices/{device_id:int}/revoke",
        revoke,
        methods=["POST"],
        name="admin_checkin_revoke",
    ),
    Route(
        EVENT + "/checkins/{checkin_id:int}/undo",
        undo,
        methods=["POST"],
        name="admin_checkin_undo",
    ),
    Route(EVENT + "/export.csv", export_csv, name="admin_checkin_csv"),
]
