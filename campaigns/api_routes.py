"""JSON API of the campaigns (DESIGN.md, "HTTP surface"): audiences and campaigns.

Thin: each handler parses, calls one domain operation (which checks `campaigns.manage`
itself) and answers JSON. Sending happens in the upkeep: `send` answers 202 at once.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from campaigns import audiences, funnel, service
from campaigns.schemas import (
    AudienceIn,
    AudienceOut,
    AudiencePreviewOut,
    CampaignIn,
    CampaignOut,
    CampaignStateOut,
)
from core.auth import requires
from core.http import actor_of, json_response, parse_json, path_id
from core.openapi import api_doc

AUDIENCES = ["audiences"]
CAMPAIGNS = ["campagnes"]


@api_doc(
    summary="Créer une audience (filtre enregistré)",
    tags=AUDIENCES,
    request=AudienceIn,
    response=AudienceOut,
    response_status=201,
    errors=[422],
)
@requires("campaigns.manage")
async def audience_create(request: Request) -> Response:
    data = await parse_json(request, AudienceIn)
    audience = await audiences.create_audience(actor_of(request), data)
    return json_response(await audiences.audience_out(audience), 201)


@api_doc(
    summary="Une audience : nombre joint et exclus par raison",
    tags=AUDIENCES,
    response=AudienceOut,
    errors=[404],
)
@requires("campaigns.manage")
async def audience_detail(request: Request) -> Response:
    audience = await audiences.get_audience(actor_of(request), path_id(request))
    return json_response(await audiences.audience_out(audience))


@api_doc(
    summary="Compter et prévisualiser un filtre sans l'enregistrer",
    tags=AUDIENCES,
    request=AudienceIn,
    response=AudiencePreviewOut,
    errors=[422],
)
@requires("campaigns.manage")
async def audience_count(request: Request) -> Response:
    data = await parse_json(request, AudienceIn)
    audience = await audiences.unsaved_audience(actor_of(request), data)
    return json_response(await audiences.audience_out(audience, with_preview=True))


async def _campaign(request: Request, campaign_id: int, status_code: int = 200) -> Response:
    campaign = await service.get_campaign(actor_of(request), campaign_id)
    return json_response(await funnel.campaign_out(campaign), status_code)


@api_doc(
    summary="Créer une campagne (brouillon)",
    tags=CAMPAIGNS,
    request=CampaignIn,
    response=CampaignStateOut,
    response_status=201,
    errors=[422],
)
@requires("campaigns.manage")
async def campaign_create(request: Request) -> Response:
    data = await parse_json(request, CampaignIn)
    campaign = await service.create_campaign(actor_of(request), data)
    return json_response({"id": campaign.id, "status": str(campaign.status)}, 201)


@api_doc(
    summary="Une campagne : état, entonnoir, répartition par clientèle et par MRC",
    tags=CAMPAIGNS,
    response=CampaignOut,
    errors=[404],
)
@requires("campaigns.manage")
async def campaign_detail(request: Request) -> Response:
    return await _campaign(request, path_id(request))


def _state_change(action: str, summary: str, status_code: int = 200) -> Route:
    operations = {
        "send": service.send,
        "pause": service.pause,
        "resume": service.resume,
        "cancel": service.cancel,
    }

    @api_doc(
        summary=summary,
        tags=CAMPAIGNS,
        response=CampaignStateOut,
        response_status=status_code,
        errors=[404, 409, 422],
    )
    @requires("campaigns.manage")
    async def endpoint(request: Request) -> Response:
        campaign = await operations[action](actor_of(request), path_id(request))
        return json_response({"id": campaign.id, "status": str(campaign.status)}, status_code)

    endpoint.__name__ = f"campaign_{action}"
    return Route(
        f"/api/v1/campaigns/{{id:int}}/{action}",
        endpoint,
        methods=["POST"],
        name=f"api_campaigns_{action}",
    )


routes = [
    Route("/api/v1/audiences", audience_create, methods=["POST"], name="api_audiences_create"),
    Route("/api/v1/audiences/count", audience_count, methods=["POST"], name="api_audiences_count"),
    Route(
        "/api/v1/audiences/{id:int}", audience_detail, methods=["GET"], name="api_audiences_detail"
    ),
    Route("/api/v1/campaigns", campaign_create, methods=["POST"], name="api_campaigns_create"),
    Route(
        "/api/v1/campaigns/{id:int}", campaign_detail, methods=["GET"], name="api_campaigns_detail"
    ),
    _state_change("send", "Envoyer maintenant (ou à l'heure prévue)", 202),
    _state_change("pause", "Mettre l'envoi en pause"),
    _state_change("resume", "Reprendre l'envoi"),
    _state_change("cancel", "Annuler la campagne"),
]
