"""The check-in tablet app: its HTML shell and its service worker.

The shell carries no personal data (everything comes from the JSON API with a device
token or the staff session), so the service worker may cache it for offline use.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.auth import current_principal
from core.http import path_id
from core.settings import PROJECT_ROOT, local_tz
from core.templating import csrf_token, render

STATIC = PROJECT_ROOT / "static"
SW_FILE = STATIC / "checkin" / "sw.js"
# Everything the service worker caches; its version is a hash of these files.
CACHED_ASSETS = (
    "checkin/app.js",
    "checkin/app.css",
    "checkin/decoder.js",
    "vendor/jsqr/jsQR.js",
)


@lru_cache(maxsize=1)
def assets_version() -> str:
    digest = hashlib.sha256()
    for name in (*CACHED_ASSETS, "checkin/sw.js"):
        digest.update((STATIC / name).read_bytes())
    digest.update((PROJECT_ROOT / "templates/registrations/checkin/app.html").read_bytes())
    return digest.hexdigest()[:12]


async def tablet_app(request: Request) -> Response:
    event_id = path_id(request, "event_id")
    principal = await current_principal(request)
    staff = (
        principal is not None
        and principal.via == "session"
        and principal.can("checkin.scan", event_id=event_id)
    )
    return render(
        request,
        "registrations/checkin/app.html",
        {
            "event_id": event_id,
            "csrf": csrf_token(request) if staff else "",
            "version": assets_version(),
            # Until the roster (with the event's own zone) is known.
            "time_zone": local_tz().key,
        },
        headers={"Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"},
    )


async def service_worker(request: Request) -> Response:
    body = SW_FILE.read_text(encoding="utf-8").replace("__VERSION__", assets_version())
    return Response(
        body,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/checkin/"},
    )


routes = [
    Route("/checkin/sw.js", service_worker, name="checkin_sw"),
    Route("/checkin/{event_id:int}", tablet_app, name="checkin_app"),
]
