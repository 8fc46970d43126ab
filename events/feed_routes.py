"""Calendar routes (ICS): one event, the public feed, an edition's feed.

- GET /events/{id}.ics: one event, as a download. Anyone gets published, cancelled and
  completed events that are public or unlisted; staff holding "events.view" also get
  drafts and private events (answered `Cache-Control: private`); others get 404.
- GET /calendar.ics: the public feed, with the list's filters `kind`, `territory` (a
  region includes its MRCs), `clientele`, and `from`/`to` (dates). Cancelled events stay
  in the feed (STATUS:CANCELLED) so subscribers see the cancellation. Without `from`, the
  feed starts a year back. Unknown or malformed filter values give 400 (short French
  text), never a silently unfiltered feed.
- GET /events/{id}/calendar.ics: an edition and its public children.

Which events each calendar holds lives in `events.calendars`. Feeds are cacheable: a
strong ETag computed before the body is built (from one aggregate query over the events:
count, latest updated_at, sums of ids and sequences; plus the filters, the language and
the base URL), so a revalidation loads no rows, and recently built bodies are kept by
ETag (a repeated request only runs the aggregate).
Last-Modified is the latest change of any event that could belong to the answer (an
event leaving the feed also moves it). 304 answers If-None-Match (which wins) and
If-Modified-Since.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from tortoise.queryset import QuerySet

from core import i18n
from core.auth import current_principal
from core.errors import NotFound
from core.http import path_id, settings_of
from core.i18n import _
from core.openapi import DATE_QUERY_SCHEMA, api_doc, choice_query_schema, query_param
from events import calendars, service
from events.calendars import Fingerprint, latest, utc
from events.ics import ICS_CONTENT_TYPE, CalendarEvent, build_calendar
from events.listing import visible_to_public
from events.models import Event, EventKind

FORMAT_VERSION = "1"  # bump when the ICS output changes for the same data
MAX_AGE = 300
ICS_CONTENT = {"text/calendar": {"schema": {"type": "string"}}}


def _etag(fingerprint: Fingerprint, parts: Sequence[object]) -> str:
    digest = hashlib.sha256()
    latest = fingerprint.latest.isoformat() if fingerprint.latest else ""
    for part in (
        FORMAT_VERSION,
        i18n.current_language.get(),
        *parts,
        fingerprint.count,
        latest,
        fingerprint.id_sum,
        fingerprint.sequence_sum,
    ):
        digest.update(str(part).encode() + b"\x1f")
    return f'"{digest.hexdigest()[:40]}"'


def _not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return utc(last_modified).replace(microsecond=0) <= since
    return False


def _headers(
    etag: str, last_modified: datetime | None, *, public: bool, disposition: str
) -> dict[str, str]:
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={MAX_AGE}" if public else "private, no-cache",
        "Vary": "Accept-Language, Cookie",
        "Content-Disposition": disposition,
    }
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(utc(last_modified), usegmt=True)
    return headers


class _BodyCache:
    """Recently built calendars by ETag (the ETag identifies the content, see Fingerprint)."""

    def __init__(self, max_entries: int = 32, max_bytes: int = 32 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.entries: OrderedDict[str, bytes] = OrderedDict()

    def get(self, etag: str) -> bytes | None:
        body = self.entries.get(etag)
        if body is not None:
            self.entries.move_to_end(etag)
        return body

    def put(self, etag: str, body: bytes) -> None:
        self.entries[etag] = body
        self.entries.move_to_end(etag)
        while len(self.entries) > self.max_entries or (
            len(self.entries) > 1 and sum(map(len, self.entries.values())) > self.max_bytes
        ):
            self.entries.popitem(last=False)


BODY_CACHE = _BodyCache()


async def _calendar_response(
    request: Request,
    query: QuerySet[Event] | None,
    *,
    parts: Sequence[object],
    last_modified: datetime | None,
    public: bool,
    disposition: str,
    name: str | None,
    head: Sequence[Event] = (),
) -> Response:
    """304, or the calendar of `head` + the events of `query` (by start time)."""
    base_url = settings_of(request).base_url
    parts = [base_url, public, name, *parts]
    fingerprint = Fingerprint.of(head)
    if query is not None:
        fingerprint += await calendars.fingerprint(query)
    etag = _etag(fingerprint, parts)
    last_modified = latest(last_modified, fingerprint.latest)
    if _not_modified(request, etag, last_modified):
        headers = _headers(etag, last_modified, public=public, disposition=disposition)
        return Response(status_code=304, headers=headers)
    body = BODY_CACHE.get(etag)
    if body is None:
        events: list[CalendarEvent] = list(head)
        if query is not None:
            events += await calendars.calendar_rows(query)
        # The ETag of what is actually sent (the data may have changed meanwhile).
        fingerprint = Fingerprint.of(events)
        etag = _etag(fingerprint, parts)
        last_modified = latest(last_modified, fingerprint.latest)
        body = build_calendar(events, base_url=base_url, name=name)
        BODY_CACHE.put(etag, body)
    return Response(
        body,
        media_type=ICS_CONTENT_TYPE,
        headers=_headers(etag, last_modified, public=public, disposition=disposition),
    )


def _bad_request(messages: Iterable[str]) -> Response:
    return PlainTextResponse(
        "\n".join(messages) + "\n",
        status_code=400,
        headers={"Cache-Control": "no-store"},
    )


async def _visible_event(request: Request) -> tuple[Event, bool]:
    """The event and whether it is public; 404 unless anyone or this staff member may see it."""
    event = await service.find_event(path_id(request))
    if visible_to_public(event):
        return event, True
    principal = await current_principal(request)
    if principal is not None and principal.can("events.view"):
        return event, False
    raise NotFound()


# --------------------------------------------------------------------------- routes


@api_doc(
    summary="Calendrier d'un événement (ICS)",
    tags=["Calendriers"],
    auth="public",
    response_content=ICS_CONTENT,
)
async def event_calendar(request: Request) -> Response:
    event, public = await _visible_event(request)
    return await _calendar_response(
        request,
        None,
        parts=["event", event.id],
        last_modified=event.updated_at,
        public=public,
        disposition=f'attachment; filename="evenement-{event.id}.ics"',
        name=None,
        head=[event],
    )


@api_doc(
    summary="Calendrier public des événements (ICS)",
    tags=["Calendriers"],
    auth="public",
    params=[
        query_param("kind", choice_query_schema([k.value for k in EventKind])),
        query_param("territory", {"type": "string"}),
        query_param("clientele", {"type": "string"}),
        query_param("from", DATE_QUERY_SCHEMA),
        query_param("to", DATE_QUERY_SCHEMA),
    ],
    response_content=ICS_CONTENT,
)
async def public_calendar(request: Request) -> Response:
    filters, errors = await calendars.feed_filters(request.query_params)
    if errors:
        return _bad_request(errors)
    query = await calendars.public_feed(filters)
    parts = [
        "feed",
        filters.kind,
        filters.territory,
        filters.clientele,
        _iso(filters.date_from),
        _iso(filters.date_to),
    ]
    return await _calendar_response(
        request,
        query,
        parts=parts,
        last_modified=await calendars.public_feed_changed(),
        public=True,
        disposition='inline; filename="calendrier.ics"',
        name=_("Calendrier des événements"),
    )


@api_doc(
    summary="Calendrier d'une édition et de ses activités (ICS)",
    tags=["Calendriers"],
    auth="public",
    response_content=ICS_CONTENT,
)
async def edition_calendar(request: Request) -> Response:
    edition, public = await _visible_event(request)
    return await _calendar_response(
        request,
        calendars.edition_feed(edition),
        parts=["edition", edition.id],
        last_modified=await calendars.edition_feed_changed(edition),
        public=public,
        disposition=f'inline; filename="edition-{edition.id}.ics"',
        name=edition.title,
        head=[edition],
    )


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


routes: list = [
    Route("/calendar.ics", public_calendar, methods=["GET"], name="public_calendar"),
    Route("/events/{id:int}.ics", event_calendar, methods=["GET"], name="event_calendar"),
    Route(
        "/events/{id:int}/calendar.ics",
        edition_calendar,
        methods=["GET"],
        name="edition_calendar",
    ),
]
