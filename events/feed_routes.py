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

Feeds are cacheable: a strong ETag computed before the body is built (from one aggregate
query over the events: count, latest updated_at, sums of ids and sequences; plus the
filters, the language and the base URL), so a revalidation loads no rows, and recently
built bodies are kept by ETag (a repeated request only runs the aggregate).
Last-Modified is the latest change of any event that could belong to the answer (an
event leaving the feed also moves it). 304 answers If-None-Match (which wins) and
If-Modified-Since.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from tortoise.functions import Count, Max, Sum
from tortoise.queryset import QuerySet

from core import i18n
from core.auth import current_principal
from core.errors import NotFound
from core.i18n import _
from core.openapi import api_doc
from events.ics import ICS_CONTENT_TYPE, ICS_FIELDS, CalendarEvent, EventRow, build_calendar
from events.models import Event, Visibility
from events.service import LOCAL_TZ, PUBLIC_STATUSES, EventFilters, filtered_events
from people.models import Clientele, Territory

FORMAT_VERSION = "1"  # bump when the ICS output changes for the same data
MAX_AGE = 300
PAST_DAYS = 365  # how far back the public feed goes when `from` is not given
FEED_PARAMS = ("kind", "territory", "clientele", "from", "to")
ICS_CONTENT = {"text/calendar": {"schema": {"type": "string"}}}


@dataclass(frozen=True)
class Fingerprint:
    """What identifies a calendar's content: its events' count, ids, sequences, last change.

    Every change that alters an event's ICS goes through `Model.save()` (which moves
    `updated_at`); an event entering or leaving the set changes the count, the id sum or
    the latest change. A status change by queryset update (published -> completed, the
    worker) does not alter the ICS (both are CONFIRMED).
    """

    count: int = 0
    latest: datetime | None = None
    id_sum: int = 0
    sequence_sum: int = 0

    @classmethod
    def of(cls, events: Sequence[CalendarEvent]) -> Fingerprint:
        return cls(
            count=len(events),
            latest=_latest(*(e.updated_at for e in events)),
            id_sum=sum(e.id for e in events),
            sequence_sum=sum(e.sequence for e in events),
        )

    def __add__(self, other: Fingerprint) -> Fingerprint:
        return Fingerprint(
            self.count + other.count,
            _latest(self.latest, other.latest),
            self.id_sum + other.id_sum,
            self.sequence_sum + other.sequence_sum,
        )


async def _fingerprint(query: QuerySet[Event]) -> Fingerprint:
    """One aggregate query (no rows loaded)."""
    rows = await query.annotate(
        n=Count("id"), latest=Max("updated_at"), ids=Sum("id"), sequences=Sum("sequence")
    ).values("n", "latest", "ids", "sequences")
    row = rows[0] if rows else {}
    latest = row.get("latest")
    if isinstance(latest, str):  # SQLite gives the stored text
        latest = datetime.fromisoformat(latest)
    return Fingerprint(
        count=int(row.get("n") or 0),
        latest=_utc(latest) if isinstance(latest, datetime) else None,
        id_sum=int(row.get("ids") or 0),
        sequence_sum=int(row.get("sequences") or 0),
    )


def _utc(value: datetime) -> datetime:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _latest(*values: datetime | None) -> datetime | None:
    present = [_utc(v) for v in values if v is not None]
    return max(present) if present else None


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
        return _utc(last_modified).replace(microsecond=0) <= since
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
        headers["Last-Modified"] = format_datetime(_utc(last_modified), usegmt=True)
    return headers


async def _latest_change(query: QuerySet[Event]) -> datetime | None:
    return (await _fingerprint(query)).latest


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
    base_url = request.app.state.settings.base_url
    parts = [base_url, public, name, *parts]
    fingerprint = Fingerprint.of(head)
    if query is not None:
        fingerprint += await _fingerprint(query)
    etag = _etag(fingerprint, parts)
    last_modified = _latest(last_modified, fingerprint.latest)
    if _not_modified(request, etag, last_modified):
        headers = _headers(etag, last_modified, public=public, disposition=disposition)
        return Response(status_code=304, headers=headers)
    body = BODY_CACHE.get(etag)
    if body is None:
        events: list[CalendarEvent] = list(head)
        if query is not None:
            rows = await query.order_by("starts_at", "id").values(*ICS_FIELDS)
            events += [EventRow(**row) for row in rows]
        # The ETag of what is actually sent (the data may have changed meanwhile).
        fingerprint = Fingerprint.of(events)
        etag = _etag(fingerprint, parts)
        last_modified = _latest(last_modified, fingerprint.latest)
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


async def _visible_event(request: Request, event_id: int) -> tuple[Event, bool]:
    """The event and whether it is public; 404 unless anyone or this staff member may see it."""
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    if event.status in PUBLIC_STATUSES and event.visibility != Visibility.PRIVATE:
        return event, True
    principal = await current_principal(request)
    if principal is not None and principal.can("events.view"):
        return event, False
    raise NotFound()


async def _feed_filters(params: Any) -> tuple[EventFilters, list[str]]:
    parsed = EventFilters.from_params(params)
    errors = [parsed.errors[key] for key in FEED_PARAMS if key in parsed.errors]
    filters = EventFilters(
        kind=parsed.kind,
        territory=parsed.territory,
        clientele=parsed.clientele,
        date_from=parsed.date_from,
        date_to=parsed.date_to,
    )
    if filters.territory and not await Territory.exists(code=filters.territory):
        errors.append(_("Territoire inconnu : %(code)s.", code=filters.territory))
    if filters.clientele and not await Clientele.exists(code=filters.clientele):
        errors.append(_("Clientèle inconnue : %(codes)s.", codes=filters.clientele))
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        errors.append(_("La date de fin doit suivre la date de début."))
    return filters, errors


# --------------------------------------------------------------------------- routes


@api_doc(
    summary="Calendrier d'un événement (ICS)",
    tags=["Calendriers"],
    auth="public",
    response_content=ICS_CONTENT,
)
async def event_calendar(request: Request) -> Response:
    event, public = await _visible_event(request, request.path_params["id"])
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
        {"name": "kind", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "territory", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "clientele", "in": "query", "required": False, "schema": {"type": "string"}},
        {
            "name": "from",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "date"},
        },
        {
            "name": "to",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "date"},
        },
    ],
    response_content=ICS_CONTENT,
)
async def public_calendar(request: Request) -> Response:
    filters, errors = await _feed_filters(request.query_params)
    if errors:
        return _bad_request(errors)
    if filters.date_from is None:
        today = datetime.now(UTC).astimezone(LOCAL_TZ).date()
        filters.date_from = today - timedelta(days=PAST_DAYS)
    query = await filtered_events(filters, public=True)
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
        # Any change to any event counts (one that left the feed changed the feed too).
        last_modified=await _latest_change(Event.all()),
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
    edition, public = await _visible_event(request, request.path_params["id"])
    children = Event.filter(
        parent_id=edition.id, status__in=PUBLIC_STATUSES, visibility=Visibility.PUBLIC
    )
    return await _calendar_response(
        request,
        children,
        parts=["edition", edition.id],
        last_modified=_latest(
            edition.updated_at, await _latest_change(Event.filter(parent_id=edition.id))
        ),
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
