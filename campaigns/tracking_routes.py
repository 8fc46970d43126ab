"""Tracking endpoints (public): the open pixel and the click redirect (see
`campaigns.tracking`). A bad token or a URL the campaign does not hold is a 404."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from campaigns import tracking
from core.http import settings_of


async def open_pixel(request: Request) -> Response:
    await tracking.record_open(settings_of(request), str(request.path_params["token"])[:100])
    return Response(
        tracking.PIXEL,
        media_type="image/gif",
        headers={"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"},
    )


async def click(request: Request) -> Response:
    url = await tracking.record_click(
        settings_of(request),
        str(request.path_params["token"])[:100],
        request.query_params.get("u", "")[:4000],
    )
    return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})


routes = [
    Route("/t/o/{token}.gif", open_pixel, methods=["GET"], name="track_open"),
    Route("/t/c/{token}", click, methods=["GET"], name="track_click"),
]
