"""The registrant's JSON API: register to an event, then read, change or cancel the
registration with its manage token. The same service calls as the HTML pages
(`registrations.public_routes`); a manage token only ever opens its own registration.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.auth import current_principal
from core.errors import Conflict, ValidationFailed
from core.http import json_response, parse_json, path_id, settings_of
from core.i18n import _, iso_or_none
from core.openapi import api_doc
from core.settings import Settings
from registrations import service
from registrations.answers import clean_answers, event_questions
from registrations.capacity import waitlist_position
from registrations.manage_links import by_manage_token, manage_token
from registrations.models import Registration, RegistrationSource, RegistrationStatus
from registrations.public_routes import hit_limit, seat_limit_of, token_of
from registrations.schemas import (
    CheckEmailOut,
    ManagePatch,
    RegistrationIn,
    RegistrationOut,
    TicketOut,
)

API_LIMIT = "60/minute"
TAGS = ["inscriptions"]


_UNKNOWN: Any = object()


async def registration_out(
    settings: Settings, registration: Registration, *, position: int | None = _UNKNOWN
) -> dict[str, Any]:
    """The API view of a registration (`position`: the waitlist position, when known)."""
    if position is _UNKNOWN:
        position = await waitlist_position(registration)
    token = manage_token(settings, registration)
    base = f"{settings.base_url}/manage/{token}"
    clientele = await service.clientele_of(registration)
    ticket = None
    if registration.status == RegistrationStatus.CONFIRMED:
        ticket = TicketOut(
            code=registration.ticket_code,
            qr_payload=await service.ticket(settings, registration),
            qr_png_url=f"{base}/qr.png",
            qr_svg_url=f"{base}/qr.svg",
        )
    out = RegistrationOut(
        id=registration.public_id,
        event_id=registration.event_id,
        status=str(RegistrationStatus(registration.status).value),
        waitlist_position=position,
        party_size=registration.party_size,
        clientele=clientele.code,
        manage_token=token,
        manage_url=base,
        ticket=ticket,
        ics_url=f"{base}/event.ics",
        hold_expires_at=iso_or_none(registration.hold_expires_at),
    )
    return out.model_dump()


REGISTER_POLICY = (
    "Places et liste d'attente : la capacité compte des personnes (`party_size`). Une "
    "inscription est confirmée si le groupe tient dans les places restantes sans doubler "
    "personne : si un groupe déjà en liste d'attente tient dans ces places, la nouvelle "
    "inscription passe en liste d'attente derrière lui. La liste d'attente est servie "
    "dans l'ordre d'arrivée parmi les groupes qui tiennent dans les places libérées (un "
    "groupe trop grand pour elles garde son rang sans bloquer les suivants), dans la même "
    "transaction que l'annulation, le refus, la réduction d'un groupe (confirmé ou en "
    "attente), la hausse de capacité ou le déplacement qui libère ces places. Erreurs : "
    "422 `party_too_large` (groupe plus grand que toute la capacité, refusé d'emblée; "
    "`capacity` dans l'erreur), 409 `event_full` sans liste d'attente (`places_left` "
    "dans l'erreur), 409 `registration_closed`. Adresse courriel déjà inscrite à "
    "l'événement : sans jeton ni session (appel anonyme), la réponse est 202 "
    '`{"status": "check_email", "message": "..."}` et la personne inscrite reçoit son '
    "lien de gestion par courriel (aucune réponse ne dit à un tiers qui est inscrit où); "
    "avec un jeton ou une session (appel authentifié), 409 `already_registered`. "
    "Limites des canaux publics (appel anonyme ou sans le droit d'inscrire à "
    "l'événement) : un groupe plus grand que `max_public_party_size` de l'événement est "
    "refusé, 422 `group_request_required` (`max_party_size` dans l'erreur), sauf avec "
    "`group_request: true` (demande de groupe : `pending_approval`, aucune place retenue); "
    "les places demandées par adresse et par événement sont limitées par heure "
    "(PUBLIC_SEATS_PER_ADDRESS_HOUR) : 429 `rate_limited` avec `Retry-After`. Événement "
    "« confirmer par courriel » : statut `pending_email`, places retenues jusqu'à "
    "`hold_expires_at`, sans billet; le lien envoyé par courriel confirme l'inscription."
)


@api_doc(
    summary="S'inscrire à un événement",
    description=REGISTER_POLICY,
    tags=TAGS,
    request=RegistrationIn,
    response=RegistrationOut,
    response_status=201,
    other_responses={
        202: (
            "Sans jeton : l'adresse est déjà inscrite; le lien de gestion lui est envoyé "
            "(la même réponse ne dit rien de plus à qui ne la possède pas)",
            CheckEmailOut,
        )
    },
    auth="public",
    errors=[400, 404, 409, 429],
)
async def api_register(request: Request) -> Response:
    await hit_limit(request, API_LIMIT, "api-register")
    data = await parse_json(request, RegistrationIn)
    settings = settings_of(request)
    principal = await current_principal(request)
    event_id = path_id(request)
    try:
        result = await service.register(
            event_id,
            data,
            settings=settings,
            source=RegistrationSource.API,
            actor=principal,
            seat_limit=seat_limit_of(request),
        )
    except service.AlreadyRegistered:
        if principal is not None:  # an authenticated channel: the plain conflict
            raise
        await service.resend_manage_link(settings, event_id, data.email)
        body = CheckEmailOut(message=service.check_email_message())
        return json_response(body.model_dump(), status_code=202)
    return json_response(
        await registration_out(settings, result.registration, position=result.waitlist_position),
        status_code=201,
    )


@api_doc(
    summary="Lire son inscription (lien de gestion)",
    tags=TAGS,
    response=RegistrationOut,
    auth="public",
    errors=[404],
)
async def api_manage_get(request: Request) -> Response:
    settings = settings_of(request)
    registration = await by_manage_token(settings, token_of(request))
    return json_response(await registration_out(settings, registration))


@api_doc(
    summary="Modifier son inscription (taille du groupe, réponses)",
    description=(
        "Un groupe réduit (confirmé ou en liste d'attente) fait avancer la liste d'attente "
        "dans la même transaction. Erreurs : 422 `party_too_large` (plus grand que toute la "
        "capacité), 422 `group_request_required` (plus grand que le maximum d'une "
        "inscription en ligne, `max_party_size`), 409 `event_full` (un groupe confirmé qui "
        "grandit au-delà des places restantes; `places_left` dans l'erreur), 429 (trop de "
        "places demandées depuis cette adresse pour l'événement, `Retry-After`)."
    ),
    tags=TAGS,
    request=ManagePatch,
    response=RegistrationOut,
    auth="public",
    errors=[400, 404, 409, 429],
)
async def api_manage_patch(request: Request) -> Response:
    await hit_limit(request, API_LIMIT, "api-manage")
    settings = settings_of(request)
    registration = await by_manage_token(settings, token_of(request))
    patch = await parse_json(request, ManagePatch)
    if not registration.is_active:
        raise Conflict(_("Cette inscription est annulée."), code="cancelled")
    if patch.answers is not None:
        _cleaned, errors = clean_answers(
            await event_questions(registration.event_id),
            patch.answers,
        )
        if errors:
            raise ValidationFailed(fields=errors)
    await service.modify_registration(
        settings,
        registration.id,
        party_size=patch.party_size,
        answers=patch.answers,
        seat_limit=seat_limit_of(request),
    )
    registration = await by_manage_token(settings, token_of(request))
    return json_response(await registration_out(settings, registration))


@api_doc(
    summary="Annuler son inscription",
    tags=TAGS,
    response=RegistrationOut,
    auth="public",
    errors=[404, 409, 429],
)
async def api_manage_delete(request: Request) -> Response:
    await hit_limit(request, API_LIMIT, "api-manage")
    settings = settings_of(request)
    registration = await by_manage_token(settings, token_of(request))
    await service.cancel(settings, registration.id)
    registration = await by_manage_token(settings, token_of(request))
    return json_response(await registration_out(settings, registration))


routes: list[BaseRoute] = [
    Route(
        "/api/v1/events/{id:int}/registrations",
        api_register,
        methods=["POST"],
        name="api_registrations_create",
    ),
    Route("/api/v1/manage/{token}", api_manage_get, methods=["GET"], name="api_manage_get"),
    Route("/api/v1/manage/{token}", api_manage_patch, methods=["PATCH"], name="api_manage_patch"),
    Route(
        "/api/v1/manage/{token}", api_manage_delete, methods=["DELETE"], name="api_manage_delete"
    ),
]
