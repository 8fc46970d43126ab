"""Attendance certificates over HTTP: the attendee's download (manage link), the public
verification page, the organizer's page (mail them all, revoke one) and its JSON API.
Thin: the rules are in `registrations.attestations` and `registrations.attestation_mailing`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core import i18n
from core.auth import requires
from core.errors import AppError
from core.http import (
    actor_of,
    client_ip_of,
    flash,
    int_query_param,
    json_response,
    path_id,
    read_form,
    redirect,
    settings_of,
)
from core.i18n import _
from core.openapi import api_doc
from core.paging import MAX_PAGE
from core.templating import render
from registrations import attestation_mailing, attestations
from registrations.manage_links import by_manage_token

TAGS = ["attestations"]
DOWNLOAD_LIMIT = "30/minute"
VERIFY_LIMIT = "60/minute"
PER_PAGE = 100
NO_STORE = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}


class MailingOut(BaseModel):
    """Where an event's certificates stand."""

    attendees: int = Field(ge=0, description="Inscriptions accueillies (accueil non annulé).")
    issued: int = Field(ge=0, description="Attestations délivrées (révoquées comprises).")
    revoked: int = Field(ge=0)
    mailed: int = Field(ge=0, description="Attestations mises en file d'envoi par courriel.")
    sent: int = Field(ge=0, description="Courriels d'attestation envoyés.")
    to_mail: int = Field(ge=0, description="Attestations restant à envoyer.")
    running: bool = Field(description="Un envoi groupé est en cours.")
    requested_at: datetime | None
    finished_at: datetime | None


def _out(status: attestation_mailing.MailingStatus) -> dict[str, object]:
    return {
        "attendees": status.attendees,
        "issued": status.issued,
        "revoked": status.revoked,
        "mailed": status.mailed,
        "sent": status.sent,
        "to_mail": status.to_mail,
        "running": status.running,
        "requested_at": i18n.iso_or_none(status.requested_at),
        "finished_at": i18n.iso_or_none(status.finished_at),
    }


async def _hit(request: Request, limit: str, name: str) -> None:
    await request.app.state.limiter.hit(limit, name, client_ip_of(request))


# --------------------------------------------------------------------------- attendee


async def download(request: Request) -> Response:
    """The attendee's certificate (PDF), from their manage link."""
    await _hit(request, DOWNLOAD_LIMIT, "attestation-download")
    settings = settings_of(request)
    registration = await by_manage_token(settings, str(request.path_params["token"])[:100])
    attestation, pdf = await attestations.download(
        settings, registration, i18n.current_language.get()
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{attestations.filename(attestation)}"',
            **NO_STORE,
        },
    )


async def verify_page(request: Request) -> Response:
    """Public: valid (200), revoked (410) or unknown (404)."""
    await _hit(request, VERIFY_LIMIT, "attestation-verify")
    found = await attestations.verify(str(request.path_params["code"]))
    return render(
        request,
        "registrations/attestation_verify.html",
        {"found": found, "display_code": attestations.display_code(found.code)},
        status_code=200 if found.valid else 410,
        headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
    )


# --------------------------------------------------------------------------- organizer


@requires("events.view")
async def admin_page(request: Request) -> Response:
    event_id = path_id(request)
    page = int_query_param(request, "page", 1, 1, MAX_PAGE)
    listing = await attestations.event_attestations(actor_of(request), event_id, page, PER_PAGE)
    return render(
        request,
        "registrations/admin/attestations.html",
        {
            "listing": listing,
            "event": listing.event,
            "status": await attestation_mailing.mailing_status(event_id),
            "over": attestations.is_over(listing.event),
            "can_manage": actor_of(request).can("registrations.manage", event_id=event_id),
            "format_minutes": attestations.format_minutes,
            "display_code": attestations.display_code,
        },
    )


@requires("registrations.manage")
async def admin_send(request: Request) -> Response:
    await read_form(request)
    event_id = path_id(request)
    try:
        status = await attestation_mailing.request_mailing(actor_of(request), event_id)
    except AppError as error:
        if error.status_code != 409:
            raise
        flash(request, error.message, "error")
    else:
        flash(
            request,
            i18n.ngettext(
                "L'envoi est lancé : %(num)s attestation à envoyer.",
                "L'envoi est lancé : %(num)s attestations à envoyer.",
                status.to_mail,
            ),
        )
    return redirect(f"/admin/events/{event_id}/attestations")


@requires("registrations.manage")
async def admin_revoke(request: Request) -> Response:
    form = await read_form(request)
    event_id = path_id(request)
    reason = form.get("reason")
    try:
        await attestations.revoke(
            actor_of(request),
            event_id,
            path_id(request, "attestation_id"),
            reason if isinstance(reason, str) else "",
        )
    except AppError as error:
        if error.status_code != 422:
            raise
        flash(request, " ".join(error.fields.values()) or error.message, "error")
    else:
        flash(request, _("L'attestation est révoquée."))
    return redirect(f"/admin/events/{event_id}/attestations")


# --------------------------------------------------------------------------- JSON API


@api_doc(
    summary="Attestations de participation d'un événement : où en est l'envoi",
    tags=TAGS,
    response=MailingOut,
    errors=[404],
)
@requires("events.view")
async def api_status(request: Request) -> Response:
    event_id = path_id(request)
    await attestations.event_for_staff(actor_of(request), event_id)
    return json_response(_out(await attestation_mailing.mailing_status(event_id)))


@api_doc(
    summary="Envoyer par courriel toutes les attestations de participation d'un événement",
    description="Une fois l'événement terminé : chaque personne accueillie reçoit son "
    "attestation (PDF joint), une seule fois; redemander n'envoie qu'aux personnes qui ne "
    "l'ont pas encore reçue. Le travail se fait en arrière-plan (202); suivre `mailed`. "
    "409 `attestations_not_given` ou `event_not_over`.",
    tags=TAGS,
    response=MailingOut,
    response_status=202,
    errors=[404, 409],
    request_required=False,
)
@requires("registrations.manage")
async def api_send(request: Request) -> Response:
    status = await attestation_mailing.request_mailing(actor_of(request), path_id(request))
    return json_response(_out(status), status_code=202)


routes: list[BaseRoute] = [
    Route("/manage/{token}/attestation.pdf", download, name="manage_attestation"),
    Route("/attestations/verifier/{code}", verify_page, name="attestation_verify"),
    Route("/admin/events/{id:int}/attestations", admin_page, name="admin_attestations"),
    Route(
        "/admin/events/{id:int}/attestations/send",
        admin_send,
        methods=["POST"],
        name="admin_attestations_send",
    ),
    Route(
        "/admin/events/{id:int}/attestations/{attestation_id:int}/revoke",
        admin_revoke,
        methods=["POST"],
        name="admin_attestation_revoke",
    ),
    Route("/api/v1/events/{id:int}/attestations", api_status, name="api_attestations"),
    Route(
        "/api/v1/events/{id:int}/attestations/send",
        api_send,
        methods=["POST"],
        name="api_attestations_send",
    ),
]
