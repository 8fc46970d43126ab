"""Check-in JSON API (tablet app and other clients) — thin over registrations.checkin
(door decisions), registrations.walkins, registrations.roster (the tablet's offline copy),
registrations.attendance (counts, search) and registrations.devices."""

from __future__ import annotations

import gzip
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import requires
from core.http import actor_of, json_response, parse_json, path_id, settings_of
from core.openapi import api_doc
from registrations import attendance, checkin, walkins
from registrations import roster as roster_service
from registrations.devices import device_id_for
from registrations.schemas import RosterOut, ScanIn, ScanOut, SyncIn, SyncOut, WalkinIn

TAGS = ["accueil"]
# Smaller answers go as they are (gzip's header would outweigh the gain).
GZIP_MIN_BYTES = 1024


def gzip_json(request: Request, data: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer, gzip-compressed when the client accepts it and it is worth it."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {**(headers or {}), "Vary": "Accept-Encoding"}
    accepted = request.headers.get("accept-encoding", "")
    if len(body) >= GZIP_MIN_BYTES and "gzip" in accepted.lower():
        body = gzip.compress(body, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type="application/json", headers=headers)


@api_doc(
    summary="Décider un scan (billet QR ou inscription)",
    tags=TAGS,
    request=ScanIn,
    response=ScanOut,
    auth="device",
    errors=[404],
)
@requires("checkin.scan")
async def scan(request: Request) -> Response:
    data = await parse_json(request, ScanIn)
    principal = actor_of(request)
    outcome = await checkin.check_in(
        settings_of(request),
        principal,
        event_id=data.event_id,
        payload=data.payload,
        registration_id=data.registration_id,
        device_id=await device_id_for(principal),
        at=data.scanned_at,
        nonce=data.nonce,
        method="scan" if data.payload else "search",
        volunteer=data.volunteer,
    )
    return json_response(outcome.as_dict())


@api_doc(
    summary="Synchroniser les scans faits hors ligne (idempotent par nonce; chaque scan est "
    "crédité à l'appareil qui l'a fait s'il est de cet événement, même révoqué depuis)",
    tags=TAGS,
    request=SyncIn,
    response=SyncOut,
    auth="device",
    errors=[404],
)
@requires("checkin.scan")
async def sync(request: Request) -> Response:
    data = await parse_json(request, SyncIn)
    principal = actor_of(request)
    results = await checkin.sync_scans(
        settings_of(request),
        principal,
        data.event_id,
        [s.model_dump() for s in data.scans],
        device_id=await device_id_for(principal),
    )
    return json_response({"results": results})


@api_doc(
    summary="Liste à mettre en cache pour l'accueil hors ligne (synchronisation par curseur)",
    description=(
        "Sans `since` : toute la liste (`full: true`), en lignes compactes (`fields` nomme "
        "les colonnes de chaque ligne de `rows`), et un `cursor`. Avec `since=<cursor>` : "
        "seulement les lignes changées depuis (`full: false`), et dans `removed` les "
        "identifiants des inscriptions qui ne sont plus à la liste; les lignes changées "
        "juste avant le curseur peuvent revenir (à fusionner par identifiant). Un curseur "
        "d'un autre jour de l'événement, trop ancien ou illisible donne toute la liste. "
        "Réponse compressée (gzip) si le client l'accepte."
    ),
    tags=TAGS,
    auth="device",
    params=[
        {
            "name": "since",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": (
                "le `cursor` de la réponse précédente (un curseur illisible, trop long ou "
                "d'un autre jour donne toute la liste)"
            ),
        }
    ],
    response=RosterOut,
    errors=[404],
)
@requires("checkin.scan")
async def roster(request: Request) -> Response:
    device_id = await device_id_for(actor_of(request))  # also records the device as seen
    body = await roster_service.roster(
        settings_of(request),
        actor_of(request),
        path_id(request, "event_id"),
        device_id,
        since=request.query_params.get("since"),
    )
    return gzip_json(request, body, headers={"Cache-Control": "no-store"})


@api_doc(summary="Compteurs en direct et derniers scans", tags=TAGS, auth="device", errors=[404])
@requires("checkin.scan")
async def live(request: Request) -> Response:
    event = await attendance.door_event(actor_of(request), path_id(request, "event_id"))
    await device_id_for(actor_of(request))  # tablets poll here: records them as seen
    recent = await attendance.recent_scans(event.id, 15)
    return json_response(
        {
            "counts": await attendance.counts(event),
            "recent": [
                {
                    "result": s.result.value,
                    "scanned_at": s.scanned_at.isoformat(),
                    "name": (
                        f"{s.registration.person.first_name} {s.registration.person.last_name}"
                        if s.registration
                        else ""
                    ),
                    "device": s.device.name if s.device else "",
                    "volunteer": s.volunteer,
                    "checkin_id": s.checkin_id
                    if s.result.value == "ok" and s.checkin and s.checkin.undone_at is None
                    else None,
                    # The scan that checked in, once its check-in was undone (a
                    # duplicate scan of it points at the same check-in: not marked).
                    "undone": bool(
                        s.result.value == "ok" and s.checkin and s.checkin.undone_at is not None
                    ),
                }
                for s in recent
            ],
        },
        headers={"Cache-Control": "no-store"},
    )


@api_doc(
    summary="Chercher une personne inscrite (nom ou code)",
    tags=TAGS,
    auth="device",
    params=[{"name": "q", "in": "query", "required": False, "schema": {"type": "string"}}],
)
@requires("checkin.scan")
async def search(request: Request) -> Response:
    event = await attendance.door_event(actor_of(request), path_id(request, "event_id"))
    items = await attendance.search(event, request.query_params.get("q", ""))
    return json_response({"items": items})


@api_doc(
    summary="Inscription sur place, accueillie aussitôt",
    tags=TAGS,
    request=WalkinIn,
    response=ScanOut,
    response_status=201,
    auth="device",
    errors=[404, 409],
)
@requires("checkin.scan")
async def walkin(request: Request) -> Response:
    data = await parse_json(request, WalkinIn)
    principal = actor_of(request)
    outcome = await walkins.walk_in(
        settings_of(request),
        principal,
        path_id(request, "event_id"),
        data,
        device_id=await device_id_for(principal),
        volunteer=data.volunteer,
    )
    return json_response(outcome.as_dict(), status_code=201)


@api_doc(summary="Annuler un accueil (erreur à la porte)", tags=TAGS, auth="device", errors=[404])
@requires("checkin.scan")
async def undo(request: Request) -> Response:
    checkin_row = await checkin.undo_checkin(actor_of(request), path_id(request, "checkin_id"))
    return json_response({"undone": True, "checkin_id": checkin_row.id})


routes = [
    Route("/api/v1/checkin", scan, methods=["POST"], name="api_checkin"),
    Route("/api/v1/checkin/sync", sync, methods=["POST"], name="api_checkin_sync"),
    Route("/api/v1/checkin/{checkin_id:int}/undo", undo, methods=["POST"], name="api_checkin_undo"),
    Route("/api/v1/events/{event_id:int}/checkin/roster", roster, name="api_checkin_roster"),
    Route("/api/v1/events/{event_id:int}/checkin/live", live, name="api_checkin_live"),
    Route("/api/v1/events/{event_id:int}/checkin/search", search, name="api_checkin_search"),
    Route("/api/v1/events/{event_id:int}/walkins", walkin, methods=["POST"], name="api_walkins"),
]
