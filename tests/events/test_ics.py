"""ICS documents: every one parses with the strict `ical` package and with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from ical.calendar_stream import IcsCalendarStream

from core import i18n
from core.auth import Principal
from events import service
from events.ics import build_calendar, cancellation_ics, event_ics, fold, vtimezone
from events.models import Event
from events.schemas import EventIn

SYSTEM = Principal.system("tests")
BASE = "https://rassembleur.exemple.ca"
TORONTO = ZoneInfo("America/Toronto")


def event_in(**overrides: Any) -> EventIn:
    values: dict[str, Any] = {
        "title": "Colloque régional",
        "kind": "regional_event",
        "starts_at": "2027-02-16T09:00",
        "ends_at": "2027-02-16T11:30",
        "venue_name": "Cégep régional de Lanaudière à Joliette",
        "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
        "territory": "2461",  # MRC de Joliette (2462 is Matawinie)
        "clienteles": ["youth", "schools"],
        "description": "Une matinée d'échanges sur la persévérance scolaire.",
    }
    values.update(overrides)
    return EventIn.model_validate(values)


async def published(**overrides: Any) -> Event:
    event = await service.create_event(SYSTEM, event_in(**overrides))
    await service.publish_event(SYSTEM, event.id)
    return await Event.get(id=event.id)


def parse(data: bytes) -> tuple[Any, icalendar.Calendar]:
    """Parse with both libraries and check the physical lines (CRLF, <= 75 octets)."""
    assert data.endswith(b"\r\n")
    for line in data.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # folding never splits a UTF-8 character
    strict = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    loose = icalendar.Calendar.from_ical(data)
    return strict, loose


async def test_joliette_event_is_9_to_11_30_local_and_14_to_16_30_utc(db):
    event = await published()
    data = event_ics(event, BASE)
    text = data.decode()
    assert "DTSTART;TZID=America/Toronto:20270216T090000\r\n" in text
    assert "DTEND;TZID=America/Toronto:20270216T113000\r\n" in text
    strict, loose = parse(data)
    (vevent,) = strict.events
    assert vevent.dtstart.astimezone(UTC) == datetime(2027, 2, 16, 14, 0, tzinfo=UTC)
    assert vevent.dtend.astimezone(UTC) == datetime(2027, 2, 16, 16, 30, tzinfo=UTC)
    assert vevent.uid == event.uid
    assert vevent.sequence == 0
    assert str(vevent.status).endswith("CONFIRMED")
    assert vevent.summary == "Colloque régional"
    assert vevent.url == f"{BASE}/events/{event.id}"
    assert vevent.location == (
        "Cégep régional de Lanaudière à Joliette, 20, rue Saint-Charles-Borromée Sud, Joliette"
    )
    assert vevent.categories == ["Événement régional"]
    assert "persévérance scolaire" in vevent.description
    assert f"{BASE}/events/{event.id}" in vevent.description
    assert vevent.last_modified is not None
    assert loose["PRODID"] == "-//Rassembleur//FR"
    assert loose["METHOD"] == "PUBLISH"
    assert [tz.tz_name for tz in loose.timezones] == ["America/Toronto"]


async def test_vtimezone_carries_the_dst_rules(db):
    event = await published(starts_at="2027-07-06T09:00", ends_at="2027-07-06T10:00")
    strict, loose = parse(event_ics(event, BASE))
    assert strict.events[0].dtstart.astimezone(UTC) == datetime(2027, 7, 6, 13, tzinfo=UTC)
    (component,) = loose.timezones
    rules = {
        (sub.name, sub["TZOFFSETTO"].to_ical()): sub.get("RRULE")
        for sub in component.subcomponents
        if sub.get("RRULE")
    }
    daylight = rules[("DAYLIGHT", "-0400")]
    standard = rules[("STANDARD", "-0500")]
    assert daylight["BYMONTH"] == [3] and daylight["BYDAY"] == ["2SU"]
    assert standard["BYMONTH"] == [11] and standard["BYDAY"] == ["1SU"]
    # The VTIMEZONE alone (not the TZID name) gives the right offsets, also years later.
    built = component.to_tz(lookup_tzid=False)
    for moment in (
        datetime(2027, 2, 16, 9),
        datetime(2027, 3, 14, 1, 59),
        datetime(2027, 3, 14, 3, 0),
        datetime(2027, 7, 6, 9),
        datetime(2027, 11, 7, 3, 0),
        datetime(2031, 6, 1, 12),
        datetime(2034, 12, 1, 12),
    ):
        assert (
            moment.replace(tzinfo=built).utcoffset() == moment.replace(tzinfo=TORONTO).utcoffset()
        ), moment


def test_vtimezone_closes_old_rules_with_until():
    data = vtimezone("America/Toronto", 2004, 2010)
    component = icalendar.Timezone.from_ical(data)
    built = component.to_tz(lookup_tzid=False)
    # 2006: first Sunday of April; 2007 on: second Sunday of March.
    assert (
        datetime(2006, 3, 20, 12, tzinfo=built).utcoffset()
        == datetime(2006, 3, 20, 12, tzinfo=TORONTO).utcoffset()
    )
    assert (
        datetime(2008, 3, 20, 12, tzinfo=built).utcoffset()
        == datetime(2008, 3, 20, 12, tzinfo=TORONTO).utcoffset()
    )
    assert b"UNTIL=" in data


async def test_date_change_increments_sequence(db):
    event = await published()
    before, _ = parse(event_ics(event, BASE))
    assert before.events[0].sequence == 0
    await service.update_event(
        SYSTEM, event.id, event_in(starts_at="2027-02-17T13:00", ends_at="2027-02-17T15:00")
    )
    event = await Event.get(id=event.id)
    data = event_ics(event, BASE)
    assert b"SEQUENCE:1\r\n" in data
    after, _ = parse(data)
    assert after.events[0].uid == before.events[0].uid
    assert after.events[0].sequence == 1
    assert after.events[0].dtstart.astimezone(UTC) == datetime(2027, 2, 17, 18, tzinfo=UTC)


async def test_cancellation(db):
    event = await published(contact_name="Équipe, IRC", contact_email="info@irc.exemple.ca")
    await service.cancel_event(SYSTEM, event.id, "Tempête de neige; reporté.")
    event = await Event.get(id=event.id)
    feed = build_calendar([event], base_url=BASE)
    strict, _ = parse(feed)
    assert b"STATUS:CANCELLED\r\n" in feed
    assert str(strict.events[0].status).endswith("CANCELLED")
    assert "Tempête de neige; reporté." in strict.events[0].description

    mail = cancellation_ics(event, BASE, attendee="marie@exemple.ca\r\nX-INJECTED:1")
    assert b"\r\nX-INJECTED" not in mail
    strict, loose = parse(mail)
    assert loose["METHOD"] == "CANCEL"
    (vevent,) = strict.events
    assert str(vevent.status).endswith("CANCELLED")
    assert vevent.uid == event.uid
    assert vevent.sequence == event.sequence == 1
    assert vevent.organizer.uri == "mailto:info@irc.exemple.ca"
    assert vevent.organizer.common_name == "Équipe, IRC"
    assert vevent.attendees[0].uri == "mailto:marie@exemple.caX-INJECTED:1"


async def test_long_text_is_escaped_folded_and_round_trips(db):
    title = "Atelier « Réussir », volet 1; parents\nsuite — ça déménage, vraiment; " * 2
    title = title[:200].strip()
    description = ("Élèves, parents; intervenants\\enseignants — ça c'est l'été! " * 60).strip()
    event = await published(title=title, description=description)
    event = await Event.get(id=event.id)
    assert event.title == title  # stored as given
    data = event_ics(event, BASE)
    assert b"\\;" in data and b"\\," in data and b"\\n" in data and b"\\\\" in data
    assert any(line.startswith(b" ") for line in data.split(b"\r\n"))
    strict, loose = parse(data)
    assert strict.events[0].summary == title
    assert strict.events[0].description.startswith(description)
    assert str(loose.events[0]["SUMMARY"]) == title
    assert str(loose.events[0]["DESCRIPTION"]).startswith(description)


def test_fold_never_splits_characters():
    line = "SUMMARY:" + "é" * 100 + "x" * 3 + "€" * 50
    folded = fold(line)
    lines = folded.split(b"\r\n")
    assert lines[-1] == b""
    assert all(len(part) <= 75 for part in lines)
    assert all(part.startswith(b" ") for part in lines[1:-1])
    unfolded = folded.replace(b"\r\n ", b"").removesuffix(b"\r\n").decode()
    assert unfolded == line
    assert fold("SHORT:ok") == b"SHORT:ok\r\n"


async def test_online_link_only_for_registrants(db):
    secret = "https://visio.exemple.ca/rencontre/secret-123"
    online = await published(
        venue_name="", address="", mode="online", online_url=secret, kind="meeting"
    )
    hybrid = await published(online_url=secret)
    for event in (online, hybrid):
        data = event_ics(event, BASE)
        assert b"secret-123" not in data
        parse(data)
    strict, _ = parse(build_calendar([online, hybrid], base_url=BASE))
    assert strict.events[0].location == "En ligne"
    assert strict.events[1].location.startswith("Cégep régional")
    assert b"secret-123" not in build_calendar([online, hybrid], base_url=BASE)
    private, _ = parse(event_ics(online, BASE, include_online_url=True))
    assert private.events[0].location == secret
    assert secret in private.events[0].description
    request = event_ics(hybrid, BASE, "REQUEST", include_online_url=True)
    _strict, loose = parse(request)
    assert loose["METHOD"] == "REQUEST"
    assert secret in str(loose.events[0]["DESCRIPTION"])


async def test_empty_calendar_is_valid_and_language_follows_the_request(db):
    strict, loose = parse(build_calendar([], base_url=BASE, name="Calendrier"))
    assert strict.events == []
    assert [tz.tz_name for tz in loose.timezones] == ["America/Toronto"]
    event = await published()
    token = i18n.current_language.set("en")
    try:
        strict, _ = parse(build_calendar([event], base_url=BASE))
    finally:
        i18n.current_language.reset(token)
    assert strict.events[0].categories[0] != "Événement régional"
