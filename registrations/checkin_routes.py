"""Check-in JSON API (tablet app and other clients) — thin over registrations.checkin."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise.expressions import Q

from core.auth import Principal, authorize, requires
from core.errors import NotFound
from core.http import json_response, parse_json
from core.openapi import api_doc
from registrations import checkin
from registrations.models import CheckIn, CheckinDevice, Registration, Scan
from registrations.schemas import ScanIn, ScanOut, SyncIn, SyncOut, WalkinIn

TAGS = ["accueil"]
_devices: dict[int, tuple[float, int | None]] = {}


async def device_id_for(principal: Principal) -> int | None:
    """The paired device behind a scoped token (cached a minute).

    Each cache miss — at most once a minute per device and process — also records the
    device's `last_seen_at`, so that the back office shows which tablets are in use."""
    token_id = principal.extra.get("token_id")
    if token_id is None or not principal.scope:
        return None
    cached = _devices.get(token_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    device = await CheckinDevice.get_or_none(token_id=token_id)
    value = device.id if device else None
    if device is not None:
        await CheckinDevice.filter(id=device.id).update(last_seen_at=datetime.now(UTC))
    _devices[token_id] = (time.monotonic() + 60, value)
    return value


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
    principal: Principal = request.state.principal
    outcome = await checkin.check_in(
        request.app.state.settings,
        principal,
        event_id=data.event_id,
        payload=data.payload,
        registration_id=data.registration_id,
        device_id=await device_id_for(principal),
        at=data.scanned_at,
        nonce=data.nonce,
        method="scan" if data.payload else "search",
    )
    return json_response(outcome.as_dict())


@api_doc(
    summary="Synchroniser les scans faits hors ligne (idempotent par nonce)",
    tags=TAGS,
    request=SyncIn,
    response=SyncOut,
    auth="device",
    errors=[404],
)
@requires("checkin.scan")
async def sync(request: Request) -> Response:
    data = await parse_json(request, SyncIn)
    principal: Principal = request.state.principal
    results = await checkin.sync_scans(
        request.app.state.settings,
        principal,
        data.event_id,
        [s.model_dump() for s in data.scans],
        device_id=await device_id_for(principal),
    )
    return json_response({"results": results})


@api_doc(
    summary="Liste à mettre en cache pour l'accueil hors ligne",
    tags=TAGS,
    auth="device",
    errors=[404],
)
@requires("checkin.scan")
async def roster(request: Request) -> Response:
    await device_id_for(request.state.principal)  # records the device as seen
    body = await checkin.roster(
        request.app.state.settings, request.state.principal, request.path_params["event_id"]
    )
    return json_response(body, headers={"Cache-Control": "no-store"})


@api_doc(summary="Compteurs en direct et derniers scans", tags=TAGS, auth="device", errors=[404])
@requires("checkin.scan")
async def live(request: Request) -> Response:
    from events.models import Event

    event_id = request.path_params["event_id"]
    authorize(request.state.principal, "checkin.scan", event_id=event_id)
    await device_id_for(request.state.principal)  # tablets poll here: records them as seen
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    recent = (
        await Scan.filter(event_id=event_id)
        .order_by("-id")
        .limit(15)
        .select_related("registration__person", "device", "checkin")
    )
    return json_response(
        {
            "counts": await checkin.counts(event),
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
                    "checkin_id": s.checkin_id  # type: ignore[attr-defined]
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
    params=[{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}],
)
@requires("checkin.scan")
async def search(request: Request) -> Response:
    from events.models import Event

    event_id = request.path_params["event_id"]
    authorize(request.state.principal, "checkin.scan", event_id=event_id)
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    q = request.query_params.get("q", "").strip()[:100]
    if len(q) < 2:
        return json_response({"items": []})
    code = "".join(ch for ch in q.upper() if ch.isalnum())
    terms = Q(person__first_name__icontains=q) | Q(person__last_name__icontains=q)
    if " " in q:
        first, _sep, last = q.partition(" ")
        terms |= Q(
            person__first_name__icontains=first.strip(), person__last_name__icontains=last.strip()
        )
    if len(code) >= 4:
        terms |= Q(ticket_code__startswith=code)
    found = (
        await Registration.filter(Q(event_id=event_id) & terms)
        .select_related("person", "clientele", "organization")
        .limit(25)
    )
    day = checkin.local_day(event, datetime.now(UTC))
    present = set(
        await CheckIn.filter(
            event_id=event_id,
            day=day,
            active_key__isnull=False,
            registration_id__in=[r.id for r in found],
        ).values_list("registration_id", flat=True)
    )
    items = []
    for registration in found:
        summary = checkin.registration_summary(registration)
        summary["checked_in"] = registration.id in present
        items.append(summary)
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
    outcome = await checkin.walk_in(
        request.app.state.settings,
        request.state.principal,
        request.path_params["event_id"],
        data,
    )
    return json_response(outcome.as_dict(), status_code=201)


@api_doc(summary="Annuler un accueil (erreur à la porte)", tags=TAGS, auth="device", errors=[404])
@requires("checkin.scan")
async def undo(request: Request) -> Response:
    checkin_row = await checkin.undo_checkin(
        request.state.principal, request.path_params["checkin_id"]
    )
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
