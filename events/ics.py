"""iCalendar (RFC 5545) documents for events: feeds, single events, e-mail attachments.

- `build_calendar(events, base_url=...)`: a VCALENDAR with one VEVENT per event and one
  VTIMEZONE per time zone used (built once per calendar, cached per zone and year range).
- `event_ics(event, base_url)`: one event (the "Add to calendar" download).
- `cancellation_ics(event, base_url)`: METHOD:CANCEL, STATUS:CANCELLED, for the mail
  telling registrants that an event is cancelled (attach it with content type
  ``text/calendar`` and a file name such as ``annulation.ics``).

Times are written in the event's local time with a TZID (never floating); an all-day
event's are dates (DTSTART;VALUE=DATE, and DTEND;VALUE=DATE the day after its last day,
RFC 5545's exclusive end). The UID is the
event's stable `uid`, SEQUENCE is `event.sequence` (bumped by the service when the dates
or the place change). DTSTAMP is the event's last change in published feeds, so the same
data always gives the same bytes (cacheable feeds); iTIP messages (REQUEST/CANCEL) stamp
the current time. The online link is private: it is written only when the caller asks for
it (`include_online_url=True`, for registrants' attachments), never in public feeds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Parameters, Timezone, TimezoneDaylight, TimezoneStandard, vRecur, vUri

from core.i18n import _
from core.settings import DEFAULT_TIME_ZONE
from events.models import AttendanceMode, Event, EventKind, EventStatus, all_day_dates

PRODID = "-//Rassembleur//FR"
DEFAULT_TZID = DEFAULT_TIME_ZONE
ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"

_STATUS = {
    EventStatus.PUBLISHED: "CONFIRMED",
    EventStatus.COMPLETED: "CONFIRMED",
    EventStatus.CANCELLED: "CANCELLED",
    EventStatus.DRAFT: "TENTATIVE",
}


# The columns an ICS needs: feeds load them with `.values(*ICS_FIELDS)` into `EventRow`s,
# which is several times cheaper than building Tortoise models for 1,000 events.
ICS_FIELDS = (
    "id",
    "uid",
    "kind",
    "title",
    "description",
    "starts_at",
    "ends_at",
    "all_day",
    "timezone",
    "mode",
    "venue_name",
    "address",
    "online_url",
    "status",
    "sequence",
    "cancel_reason",
    "contact_name",
    "contact_email",
    "created_at",
    "updated_at",
)


@dataclass(slots=True)
class EventRow:
    id: int
    uid: str
    kind: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    all_day: bool
    timezone: str
    mode: str
    venue_name: str
    address: str
    online_url: str
    status: str
    sequence: int
    cancel_reason: str
    contact_name: str
    contact_email: str
    created_at: datetime
    updated_at: datetime


CalendarEvent = Event | EventRow


def event_url(event: CalendarEvent, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/events/{event.id}"


# --------------------------------------------------------------------------- VTIMEZONE


@dataclass(frozen=True)
class _Transition:
    local: datetime  # naive wall-clock time just before the change (RFC 5545 DTSTART)
    offset_from: timedelta
    offset_to: timedelta
    name: str
    dst: bool


def _offset(zone: tzinfo, moment: datetime) -> timedelta:
    return moment.astimezone(zone).utcoffset() or timedelta(0)


def _transitions(zone: tzinfo, first_year: int, last_year: int) -> list[_Transition]:
    """Every offset change of `zone` between the two years, found from the zone itself."""
    found: list[_Transition] = []
    step = timedelta(days=7)
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    before = _offset(zone, moment)
    while moment < end:
        nxt = min(moment + step, end)
        after = _offset(zone, nxt)
        if after != before:
            low, high = moment, nxt  # the change happens in (low, high]
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                if _offset(zone, mid) == before:
                    low = mid
                else:
                    high = mid
            change = high.replace(second=0, microsecond=0)
            local = change.astimezone(zone)
            found.append(
                _Transition(
                    local=(change + before).replace(tzinfo=None),
                    offset_from=before,
                    offset_to=local.utcoffset() or timedelta(0),
                    name=local.tzname() or "",
                    dst=bool(local.dst()),
                )
            )
            before = after
        moment = nxt
    return found


def _byday(day: date) -> str:
    weekday = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[day.weekday()]
    if (day + timedelta(days=7)).month != day.month:
        return f"-1{weekday}"  # the last such weekday of the month
    return f"{(day.day - 1) // 7 + 1}{weekday}"


def _pattern(t: _Transition) -> tuple[Any, ...]:
    return (
        t.dst,
        t.offset_from,
        t.offset_to,
        t.name,
        t.local.month,
        _byday(t.local.date()),
        t.local.time(),
    )


def _observance(t: _Transition, rule: dict[str, Any] | None) -> TimezoneStandard | TimezoneDaylight:
    component = TimezoneDaylight() if t.dst else TimezoneStandard()
    component.add("dtstart", t.local)
    component.add("tzoffsetfrom", t.offset_from)
    component.add("tzoffsetto", t.offset_to)
    if t.name:
        component.add("tzname", t.name)
    if rule:
        component.add("rrule", vRecur(rule))
    return component


@lru_cache(maxsize=32)
def vtimezone(tzid: str, first_year: int, last_year: int) -> bytes:
    """The VTIMEZONE of `tzid`, valid from `first_year` on, as yearly RRULEs.

    The offset changes are read from the system's zone data; each run of changes that
    follows one yearly rule (e.g. "second Sunday of March at 2:00") becomes one
    observance with an RRULE (closed with UNTIL when the rule changed later, open when it
    still applies at `last_year`), so clients get real DST rules that also hold for
    later events.
    """
    zone = ZoneInfo(tzid)
    start = datetime(first_year, 1, 1)
    initial = start.replace(tzinfo=zone)
    component = Timezone()
    component.add("tzid", tzid)
    transitions = _transitions(zone, first_year, last_year)
    offset = initial.utcoffset() or timedelta(0)
    component.add_component(
        _observance(
            _Transition(start, offset, offset, initial.tzname() or "", bool(initial.dst())), None
        )
    )
    # Group the changes into runs of one yearly rule (consecutive years, same pattern).
    runs: dict[tuple[Any, ...], list[list[_Transition]]] = {}
    for t in transitions:
        key = _pattern(t)
        series = runs.setdefault(key, [])
        if series and series[-1][-1].local.year == t.local.year - 1:
            series[-1].append(t)
        else:
            series.append([t])
    for key, series in runs.items():
        for run in series:
            first, last = run[0], run[-1]
            if len(run) == 1 and last.local.year < last_year:
                component.add_component(_observance(first, None))
                continue
            rule: dict[str, Any] = {
                "freq": "YEARLY",
                "bymonth": first.local.month,
                "byday": key[5],
            }
            if last.local.year < last_year:  # the rule changed afterwards: close it
                rule["until"] = (last.local - last.offset_from).replace(tzinfo=UTC)
            component.add_component(_observance(first, rule))
    return bytes(component.to_ical())


# --------------------------------------------------------------------------- VEVENT


def fold(line: str) -> bytes:
    """One content line, folded at 75 octets (never inside a UTF-8 character), CRLF."""
    raw = line.encode()
    if len(raw) <= 75:
        return raw + b"\r\n"
    chunks = []
    start, limit = 0, 75  # continuation lines: a space, then 74 octets
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and raw[end] & 0xC0 == 0x80:
            end -= 1
        chunks.append(raw[start:end])
        start, limit = end, 74
    return b"\r\n ".join(chunks) + b"\r\n"


def _text(value: str) -> str:
    """RFC 5545 TEXT escaping: backslash, semicolon, comma; newlines become \\n.

    The same rules as `icalendar.vText.to_ical()` (which costs ten times more: it builds
    a property object per value); tests parse the output with icalendar and `ical`.
    """
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _address(value: str) -> str:
    """An e-mail address as a URI value: no control characters, no line breaks."""
    return "".join(ch for ch in value.strip() if ord(ch) > 32 and ch not in '"<>')


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _utc_stamp(value: datetime) -> str:
    return _utc(value).strftime("%Y%m%dT%H%M%SZ")


@lru_cache(maxsize=64)
def _tz(tzid: str) -> tuple[ZoneInfo, str]:
    return ZoneInfo(tzid), Parameters({"TZID": tzid}).to_ical().decode()


def _local(name: str, value: datetime, tzid: str) -> str:
    zone, param = _tz(tzid)
    return f"{name};{param}:{value.astimezone(zone).strftime('%Y%m%dT%H%M%S')}"


def _dates(event: CalendarEvent, tzid: str) -> list[str]:
    """DTSTART and DTEND: local times with their TZID, or the days of an all-day event."""
    if event.all_day:
        first, last = all_day_dates(event.starts_at, event.ends_at, tzid)
        return [
            f"DTSTART;VALUE=DATE:{first.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(last + timedelta(days=1)).strftime('%Y%m%d')}",
        ]
    return [_local("DTSTART", event.starts_at, tzid), _local("DTEND", event.ends_at, tzid)]


def _location(event: CalendarEvent, include_online_url: bool) -> str:
    place = ", ".join(part for part in (event.venue_name, event.address) if part)
    if event.mode != AttendanceMode.IN_PERSON and (
        event.mode == AttendanceMode.ONLINE or not place
    ):
        if include_online_url and event.online_url:
            return event.online_url
        return _("En ligne")
    return place


def _description(event: CalendarEvent, base_url: str, include_online_url: bool) -> str:
    parts = []
    if event.status == EventStatus.CANCELLED:
        parts.append(_("Événement annulé."))
        if event.cancel_reason:
            parts.append(event.cancel_reason.strip())
    if event.description:
        parts.append(event.description.strip())
    if include_online_url and event.online_url:
        parts.append(_("Lien de participation en ligne : %(url)s", url=event.online_url))
    parts.append(_("Détails et inscription : %(url)s", url=event_url(event, base_url)))
    return "\n\n".join(parts)


def vevent(
    event: CalendarEvent,
    *,
    base_url: str,
    include_online_url: bool = False,
    dtstamp: datetime | None = None,
    status: str | None = None,
    organizer: str | None = None,
    attendee: str | None = None,
    categories: dict[str, str] | None = None,
) -> bytes:
    """One VEVENT, serialized (folded content lines).

    Written line by line (values escaped by icalendar's property types, lines folded at
    75 octets) rather than through `icalendar.Event.to_ical()`, which costs about 0.4 ms
    per event: a feed of 1,000 events must build in a few tens of milliseconds.
    `categories` maps kinds to their escaped labels (computed once per calendar).
    """
    categories = categories or _categories()
    tzid = event.timezone or DEFAULT_TZID
    lines = [
        "BEGIN:VEVENT",
        f"UID:{_text(event.uid)}",
        f"DTSTAMP:{_utc_stamp(dtstamp or event.updated_at)}",
        *_dates(event, tzid),
        f"SEQUENCE:{int(event.sequence)}",
        f"STATUS:{status or _STATUS.get(EventStatus(event.status), 'CONFIRMED')}",
        f"SUMMARY:{_text(event.title)}",
        f"DESCRIPTION:{_text(_description(event, base_url, include_online_url))}",
    ]
    location = _location(event, include_online_url)
    if location:
        lines.append(f"LOCATION:{_text(location)}")
    lines += [
        f"URL:{vUri(event_url(event, base_url)).to_ical().decode()}",
        f"CATEGORIES:{categories[event.kind]}",
        f"CREATED:{_utc_stamp(event.created_at)}",
        f"LAST-MODIFIED:{_utc_stamp(event.updated_at)}",
    ]
    if (status or _STATUS.get(EventStatus(event.status))) == "CANCELLED":
        lines.append("TRANSP:TRANSPARENT")
    email = organizer or event.contact_email
    if email:
        params = (
            f";{Parameters({'CN': event.contact_name}).to_ical().decode()}"
            if event.contact_name
            else ""
        )
        lines.append(f"ORGANIZER{params}:mailto:{_address(email)}")
    if attendee:
        lines.append(f"ATTENDEE:mailto:{_address(attendee)}")
    lines.append("END:VEVENT")
    return b"".join(fold(line) for line in lines)


def _categories() -> dict[str, str]:
    """Each kind's label in the current language, escaped for CATEGORIES."""
    from events.labels import kind_label

    return {kind.value: _text(kind_label(kind)) for kind in EventKind}


def _year_range(events: list[CalendarEvent]) -> tuple[int, int]:
    now = datetime.now(UTC).year
    years = [e.starts_at.year for e in events] + [e.ends_at.year for e in events]
    # One year either side: an event on 1 January in UTC may be 31 December locally.
    return min([*years, now]) - 1, max([*years, now]) + 1


def _calendar(components: Iterable[bytes], *, method: str | None, name: str | None) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    if method:
        lines.append(f"METHOD:{method}")
    if name:
        lines += [f"NAME:{_text(name)}", f"X-WR-CALNAME:{_text(name)}"]
    head = b"".join(fold(line) for line in lines)
    return head + b"".join(components) + b"END:VCALENDAR\r\n"


def build_calendar(
    events: Iterable[CalendarEvent],
    *,
    base_url: str,
    method: str | None = "PUBLISH",
    name: str | None = None,
    include_online_url: bool = False,
    default_tzid: str = DEFAULT_TZID,
) -> bytes:
    """A VCALENDAR of `events` (already loaded: no query is made here).

    Always carries the VTIMEZONE of `default_tzid` (so an empty feed is still a valid
    calendar with one component), plus one for each other zone the events use; each is
    built once per calendar.
    """
    items = list(events)
    first_year, last_year = _year_range(items)
    tzids = [default_tzid] + sorted({e.timezone for e in items if e.timezone} - {default_tzid})
    components = [vtimezone(tzid, first_year, last_year) for tzid in tzids]
    categories = _categories()
    components += [
        vevent(
            event,
            base_url=base_url,
            include_online_url=include_online_url,
            categories=categories,
        )
        for event in items
    ]
    return _calendar(components, method=method, name=name)


def event_ics(
    event: CalendarEvent,
    base_url: str,
    method: str = "PUBLISH",
    *,
    include_online_url: bool = False,
) -> bytes:
    """One event as a calendar file (the download, or a registrant's attachment).

    With `method="REQUEST"` (an invitation or an update sent by mail) the DTSTAMP is the
    current time and the event's contact is the ORGANIZER.
    """
    if method == "PUBLISH":
        return build_calendar(
            [event], base_url=base_url, method=method, include_online_url=include_online_url
        )
    return _itip(event, base_url, method, include_online_url=include_online_url)


def cancellation_ics(
    event: CalendarEvent,
    base_url: str,
    *,
    organizer: str | None = None,
    attendee: str | None = None,
) -> bytes:
    """METHOD:CANCEL for the mail telling registrants an event is cancelled.

    Same UID and the event's (already bumped) SEQUENCE, so calendars that imported the
    event remove it. `organizer` (an e-mail address) defaults to the event's contact;
    `attendee` is the recipient's address when known.
    """
    return _itip(
        event, base_url, "CANCEL", status="CANCELLED", organizer=organizer, attendee=attendee
    )


def _itip(
    event: CalendarEvent,
    base_url: str,
    method: str,
    *,
    status: str | None = None,
    organizer: str | None = None,
    attendee: str | None = None,
    include_online_url: bool = False,
) -> bytes:
    first_year, last_year = _year_range([event])
    components = [
        vtimezone(event.timezone or DEFAULT_TZID, first_year, last_year),
        vevent(
            event,
            base_url=base_url,
            include_online_url=include_online_url,
            dtstamp=datetime.now(UTC),
            status=status,
            organizer=organizer,
            attendee=attendee,
        ),
    ]
    return _calendar(components, method=method, name=None)
