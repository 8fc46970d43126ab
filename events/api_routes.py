"""JSON API for events (DESIGN.md, "HTTP surface"): thin handlers over events.service,
events.editions and events.listing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import current_principal, requires
from core.errors import ValidationFailed
from core.http import actor_of, int_query_param, json_response, parse_json, path_id, settings_of
from core.openapi import (
    DATE_QUERY_SCHEMA,
    ID_QUERY_SCHEMA,
    api_doc,
    choice_query_schema,
    page_params,
    query_param,
)
from core.paging import MAX_PAGE
from events import editions, listing, output, service
from events.models import EventKind, EventStatus
from events.schemas import CancelIn, DuplicateIn, EventIn, EventList, EventOut, EventPatch

TAGS = ["événements"]
MAX_PER_PAGE = 200
LIST_PARAMS = [
    query_param("kind", choice_query_schema([k.value for k in EventKind]), "type"),
    query_param("territory", {"type": "string"}, "code de région (inclut ses MRC) ou de MRC"),
    query_param("clientele", {"type": "string"}, "code de clientèle cible"),
    query_param("from", DATE_QUERY_SCHEMA, "se termine à partir de ce jour"),
    query_param("to", DATE_QUERY_SCHEMA, "commence au plus tard ce jour"),
    query_param("parent_id", ID_QUERY_SCHEMA, "les activités d'une édition"),
    query_param("q", {"type": "string"}, "texte libre"),
    query_param(
        "status",
        choice_query_schema([s.value for s in EventStatus]),
        "équipe seulement (le public ne voit que les événements publiés)",
    ),
    *page_params(MAX_PER_PAGE),
]


async def _out(request: Request, event_id: int, status_code: int = 200) -> Response:
    principal = await current_principal(request)
    event = await service.get_event(principal, event_id)
    staff = principal is not None and principal.can("events.view")
    body = await output.event_out(event, base_url=settings_of(request).base_url, staff=staff)
    return json_response(body, status_code=status_code)


@api_doc(
    summary="Créer un événement (brouillon)",
    tags=TAGS,
    request=EventIn,
    response=EventOut,
    response_status=201,
)
@requires("events.edit")
async def create(request: Request) -> Response:
    data = await parse_json(request, EventIn)
    event = await service.create_event(actor_of(request), data)
    return await _out(request, event.id, 201)


@api_doc(
    summary="Lister les événements publiés (filtres)",
    tags=TAGS,
    auth="public",
    response=EventList,
    params=LIST_PARAMS,
    errors=[422],
)
async def list_events(request: Request) -> Response:
    principal = await current_principal(request)
    filters = listing.EventFilters.from_params(request.query_params)
    if filters.errors:
        raise ValidationFailed(fields=filters.errors)
    page = int_query_param(request, "page", 1, 1, MAX_PAGE)
    per_page = int_query_param(request, "per_page", 50, 1, MAX_PER_PAGE)
    staff = principal is not None and principal.can("events.view")
    public = not (staff and filters.status is not None)
    events, total = await listing.list_events(
        principal, filters, page=page, per_page=per_page, public=public, related=False
    )
    base_url = settings_of(request).base_url
    items = await output.events_out(events, base_url=base_url, staff=staff)
    return json_response({"items": items, "total": total, "page": page, "per_page": per_page})


@api_doc(summary="Détail d'un événement", tags=TAGS, auth="public", response=EventOut, errors=[404])
async def detail(request: Request) -> Response:
    return await _out(request, path_id(request))


@api_doc(
    summary="Modifier un événement (champs envoyés seulement)",
    description=(
        "Une capacité inférieure aux personnes déjà confirmées est refusée : 409 "
        '`{"error": {"code": "over_capacity", "over_by": n, ...}}`; renvoyer avec '
        "`\"confirm_over_capacity\": true` pour l'enregistrer quand même (personne n'est "
        "désinscrit; l'événement est alors signalé au-delà de la capacité). Une capacité "
        "relevée fait avancer la liste d'attente dans la même transaction."
    ),
    tags=TAGS,
    request=EventPatch,
    response=EventOut,
    errors=[404, 409],
)
@requires("events.edit")
async def patch(request: Request) -> Response:
    event_id = path_id(request)
    changes = await parse_json(request, EventPatch)
    event = await service.get_event(actor_of(request), event_id)
    data = await service.merge_patch(event, changes)
    await service.update_event(actor_of(request), event_id, data)
    return await _out(request, event_id)


@api_doc(summary="Supprimer un brouillon", tags=TAGS, response_status=204, errors=[404, 409])
@requires("events.edit")
async def delete(request: Request) -> Response:
    await service.delete_event(actor_of(request), path_id(request))
    return Response(status_code=204)


@api_doc(summary="Publier un brouillon", tags=TAGS, response=EventOut, errors=[404, 409, 422])
@requires("events.edit")
async def publish(request: Request) -> Response:
    await service.publish_event(actor_of(request), path_id(request))
    return await _out(request, path_id(request))


@api_doc(
    summary="Annuler (les inscrits sont avisés, ICS METHOD:CANCEL)",
    tags=TAGS,
    request=CancelIn,
    request_required=False,
    response=EventOut,
    errors=[404, 409],
)
@requires("events.edit")
async def cancel(request: Request) -> Response:
    data = (
        await parse_json(request, CancelIn)
        if int(request.headers.get("content-length") or 0) > 0
        else CancelIn()
    )
    await service.cancel_event(actor_of(request), path_id(request), data.message)
    return await _out(request, path_id(request))


@api_doc(
    summary="Dupliquer (« même événement l'an prochain »)",
    tags=TAGS,
    request=DuplicateIn,
    request_required=False,
    response=EventOut,
    response_status=201,
    errors=[404],
)
@requires("events.edit")
async def duplicate(request: Request) -> Response:
    data = (
        await parse_json(request, DuplicateIn)
        if int(request.headers.get("content-length") or 0) > 0
        else DuplicateIn()
    )
    copy = await editions.duplicate_event(
        actor_of(request),
        path_id(request),
        shift_days=data.shift_days,
        with_children=data.with_children,
    )
    return await _out(request, copy.id, 201)


@api_doc(
    summary="Créer un lancement par MRC de la région de l'édition",
    tags=TAGS,
    response=EventList,
    response_status=201,
    errors=[404, 409, 422],
)
@requires("events.edit")
async def territorial_launches(request: Request) -> Response:
    created = await editions.create_territorial_children(actor_of(request), path_id(request))
    base_url = settings_of(request).base_url
    items = await output.events_out(created, base_url=base_url, staff=True)
    return json_response(
        {"items": items, "total": len(items), "page": 1, "per_page": len(items)}, 201
    )


routes = [
    Route("/api/v1/events", create, methods=["POST"], name="api_events_create"),
    Route("/api/v1/events", list_events, methods=["GET"], name="api_events_list"),
    Route("/api/v1/events/{id:int}", detail, methods=["GET"], name="api_events_detail"),
    Route("/api/v1/events/{id:int}", patch, methods=["PATCH"], name="api_events_patch"),
    Route("/api/v1/events/{id:int}", delete, methods=["DELETE"], name="api_events_delete"),
    Route("/api/v1/events/{id:int}/publish", publish, methods=["POST"], name="api_events_publish"),
    Route("/api/v1/events/{id:int}/cancel", cancel, methods=["POST"], name="api_events_cancel"),
    Route(
        "/api/v1/events/{id:int}/duplicate",
        duplicate,
        methods=["POST"],
        name="api_events_duplicate",
    ),
    Route(
        "/api/v1/events/{id:int}/territorial-launches",
        territorial_launches,
        methods=["POST"],
        name="api_events_territorial",
    ),
]
