"""Calendar routes: the public feed and its filters, single events, editions, caching."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
from ical.calendar_stream import IcsCalendarStream

from core.auth import Principal
from core.models import Role
from events import service
from events.models import Event
from events.schemas import EventIn
from tests.conftest import login

SYSTEM = Principal.system("tests")
# Upcoming dates, so the default window of the feed (a year back) never drops them.
DAY = (datetime.now(UTC) + timedelta(days=60)).date()


def on(day: date, hour: str) -> str:
    return f"{day.isoformat()}T{hour}"


def event_in(**overrides: Any) -> EventIn:
    values: dict[str, Any] = {
        "title": "Colloque régional",
        "kind": "regional_event",
        "starts_at": on(DAY, "09:00"),
        "ends_at": on(DAY, "11:30"),
        "venue_name": "Cégep régional de Lanaudière",
        "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
        "territory": "2461",
        "clienteles": ["youth"],
    }
    values.update(overrides)
    return EventIn.model_validate(values)


async def make_event(*, publish: bool = True, **overrides: Any) -> Event:
    event = await service.create_event(SYSTEM, event_in(**overrides))
    if publish:
        await service.publish_event(SYSTEM, event.id)
    return await Event.get(id=event.id)


def parse(body: bytes) -> Any:
    for line in body.split(b"\r\n"):
        assert len(line) <= 75
    return IcsCalendarStream.calendar_from_ics(body.decode("utf-8"))


def uids(body: bytes) -> set[str]:
    return {event.uid for event in parse(body).events}


@pytest.fixture
async def catalogue(db) -> dict[str, Event]:
    """Events where each filter matters (Lanaudière = 14, Chaudière-Appalaches = 12)."""
    events = {
        "joliette_activity": await make_event(
            title="Atelier à Joliette", kind="activity", territory="2461", clienteles=["youth"]
        ),
        "islet_event": await make_event(
            title="Forum à L'Islet", territory="2417", clienteles=["family"]
        ),
        "moulins_training": await make_event(
            title="Formation aux Moulins",
            kind="training",
            territory="2464",
            clienteles=["schools", "family"],
        ),
        "online_meeting": await make_event(
            title="Comité régional",
            kind="meeting",
            territory=None,
            venue_name="",
            address="",
            online_url="https://visio.exemple.ca/comite-secret",
            clienteles=["society"],
        ),
        "draft": await make_event(
            title="Brouillon", kind="activity", territory="2452", publish=False
        ),
        "private": await make_event(title="Sur invitation", visibility="private"),
        "unlisted": await make_event(title="Non répertorié", visibility="unlisted"),
    }
    await service.cancel_event(SYSTEM, events["moulins_training"].id, "Tempête")
    return {key: await Event.get(id=event.id) for key, event in events.items()}


def uid_set(catalogue: dict[str, Event], *keys: str) -> set[str]:
    return {catalogue[key].uid for key in keys}


async def test_public_feed_lists_public_events_with_cancellations(client, catalogue):
    response = await client.get("/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"].startswith("inline")
    assert response.headers["cache-control"] == "public, max-age=300"
    assert uids(response.content) == uid_set(
        catalogue, "joliette_activity", "islet_event", "moulins_training", "online_meeting"
    )
    calendar = parse(response.content)
    cancelled = next(e for e in calendar.events if e.uid == catalogue["moulins_training"].uid)
    assert str(cancelled.status).endswith("CANCELLED")
    assert b"STATUS:CANCELLED\r\n" in response.content
    assert b"comite-secret" not in response.content
    assert b"Brouillon" not in response.content and b"Sur invitation" not in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=activity", {"joliette_activity"}),
        ("kind=training", {"moulins_training"}),
        ("territory=2461", {"joliette_activity"}),  # an MRC
        ("territory=14", {"joliette_activity", "moulins_training"}),  # a region and its MRCs
        ("territory=12", {"islet_event"}),
        ("clientele=family", {"islet_event", "moulins_training"}),
        ("clientele=youth", {"joliette_activity"}),
        ("clientele=family&territory=14", {"moulins_training"}),
        ("kind=activity&territory=12", set()),
        (f"from={DAY + timedelta(days=1)}", set()),
        (
            f"to={DAY}",
            {"joliette_activity", "islet_event", "moulins_training", "online_meeting"},
        ),
    ],
)
async def test_feed_filters_return_exactly_the_matching_events(client, catalogue, query, expected):
    response = await client.get(f"/calendar.ics?{query}")
    assert response.status_code == 200, response.text
    assert uids(response.content) == uid_set(catalogue, *expected)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=concert", "Type d'événement inconnu."),
        ("from=2027-02-31", "Date invalide"),
        ("to=demain", "Date invalide"),
        ("territory=9999", "Territoire inconnu : 9999."),
        ("clientele=aliens", "Clientèle inconnue : aliens."),
        ("from=2027-03-01&to=2027-02-01", "La date de fin doit suivre la date de début."),
    ],
)
async def test_bad_filters_are_refused_in_french(client, catalogue, query, message):
    response = await client.get(f"/calendar.ics?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert message in response.text


async def test_single_event_access(client, catalogue):
    for key in ("joliette_activity", "moulins_training", "unlisted", "online_meeting"):
        event = catalogue[key]
        response = await client.get(f"/events/{event.id}.ics")
        assert response.status_code == 200, key
        assert uids(response.content) == {event.uid}
        assert response.headers["content-disposition"] == (
            f'attachment; filename="evenement-{event.id}.ics"'
        )
        assert response.headers["cache-control"] == "public, max-age=300"
    assert (
        b"comite-secret"
        not in (await client.get(f"/events/{catalogue['online_meeting'].id}.ics")).content
    )
    for key in ("draft", "private"):
        assert (await client.get(f"/events/{catalogue[key].id}.ics")).status_code == 404
        assert (await client.get(f"/events/{catalogue[key].id}/calendar.ics")).status_code == 404
    assert (await client.get("/events/999999.ics")).status_code == 404
    assert (await client.get("/events/999999/calendar.ics")).status_code == 404


async def test_staff_may_fetch_drafts_and_private_events(client, catalogue):
    await login(client, Role.REVIEWER)
    for key in ("draft", "private"):
        response = await client.get(f"/events/{catalogue[key].id}.ics")
        assert response.status_code == 200
        assert uids(response.content) == {catalogue[key].uid}
        assert response.headers["cache-control"] == "private, no-cache"
    # The public feed stays public for staff too.
    feed = await client.get("/calendar.ics")
    assert catalogue["draft"].uid not in uids(feed.content)


async def test_edition_feed(client, db):
    edition = await make_event(
        title="JPS 2027",
        kind="perseverance_days",
        starts_at=on(DAY, "00:00"),
        ends_at=on(DAY + timedelta(days=4), "23:59"),
        territory="14",
        venue_name="Lanaudière",
    )

    async def child(title: str, offset: int, **kw: Any) -> Event:
        day = DAY + timedelta(days=offset)
        return await make_event(
            title=title,
            kind="activity",
            parent_id=edition.id,
            starts_at=on(day, "09:00"),
            ends_at=on(day, "10:00"),
            **kw,
        )

    later = await child("Activité du jeudi", 3)
    first = await child("Activité du mardi", 1)
    cancelled = await child("Activité annulée", 2)
    await service.cancel_event(SYSTEM, cancelled.id)
    draft = await child("Activité en préparation", 1, publish=False)
    private = await child("Activité privée", 1, visibility="private")
    other = await make_event(title="Hors édition")

    response = await client.get(f"/events/{edition.id}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("inline")
    calendar = parse(response.content)
    assert [e.uid for e in calendar.events] == [edition.uid, first.uid, cancelled.uid, later.uid]
    assert calendar.events[0].summary == "JPS 2027"
    listed = uids(response.content)
    assert not listed & {draft.uid, private.uid, other.uid}
    assert b"X-WR-CALNAME:JPS 2027\r\n" in response.content

    # Publishing a child changes the edition feed.
    etag = response.headers["etag"]
    await service.publish_event(SYSTEM, draft.id)
    again = await client.get(f"/events/{edition.id}/calendar.ics", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert draft.uid in uids(again.content)
    assert (
        await client.get(
            f"/events/{edition.id}/calendar.ics", headers={"If-None-Match": again.headers["etag"]}
        )
    ).status_code == 304


@pytest.mark.parametrize("path", ["/calendar.ics", "/events/{id}.ics", "/events/{id}/calendar.ics"])
async def test_revalidation(client, catalogue, path):
    event = catalogue["joliette_activity"]
    url = path.format(id=event.id)
    first = await client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    last_modified = first.headers["last-modified"]
    assert parsedate_to_datetime(last_modified) >= event.updated_at.replace(microsecond=0)

    # Same body again, same validators.
    second = await client.get(url)
    assert second.content == first.content and second.headers["etag"] == etag

    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        cached = await client.get(url, headers={"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["cache-control"] == "public, max-age=300"
    assert (await client.get(url, headers={"If-None-Match": '"other"'})).status_code == 200
    # If-None-Match wins over If-Modified-Since.
    both = await client.get(
        url, headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified}
    )
    assert both.status_code == 200

    assert (await client.get(url, headers={"If-Modified-Since": last_modified})).status_code == 304
    later = format_datetime(datetime.now(UTC) + timedelta(days=1), usegmt=True)
    assert (await client.get(url, headers={"If-Modified-Since": later})).status_code == 304
    earlier = format_datetime(
        parsedate_to_datetime(last_modified) - timedelta(seconds=1), usegmt=True
    )
    assert (await client.get(url, headers={"If-Modified-Since": earlier})).status_code == 200
    assert (await client.get(url, headers={"If-Modified-Since": "garbage"})).status_code == 200

    # An update changes the ETag, the body, and (a later change) Last-Modified.
    await service.update_event(
        SYSTEM,
        event.id,
        event_in(
            title="Atelier à Joliette (nouvelle salle)",
            kind="activity",
            starts_at=on(DAY, "13:00"),
            ends_at=on(DAY, "15:00"),
        ),
    )
    await Event.filter(id=event.id).update(
        updated_at=parsedate_to_datetime(last_modified) + timedelta(minutes=5)
    )
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert b"nouvelle salle" in changed.content
    assert b"SEQUENCE:1\r\n" in changed.content
    assert (await client.get(url, headers={"If-Modified-Since": last_modified})).status_code == 200
    assert (
        await client.get(url, headers={"If-None-Match": changed.headers["etag"]})
    ).status_code == 304


async def test_feed_goes_back_one_year_unless_asked(client, catalogue):
    old_day = (datetime.now(UTC) - timedelta(days=400)).date()
    old = await make_event(
        title="Gala d'il y a longtemps",
        starts_at=on(old_day, "18:00"),
        ends_at=on(old_day, "22:00"),
    )
    assert old.uid not in uids((await client.get("/calendar.ics")).content)
    since = old_day - timedelta(days=1)
    listed = uids((await client.get(f"/calendar.ics?from={since}")).content)
    assert old.uid in listed and catalogue["islet_event"].uid in listed


async def test_feed_etag_changes_when_an_event_leaves_it(client, catalogue):
    first = await client.get("/calendar.ics")
    event = catalogue["islet_event"]
    await service.update_event(
        SYSTEM,
        event.id,
        event_in(title=event.title, territory="2417", clienteles=["family"], visibility="private"),
    )
    response = await client.get("/calendar.ics", headers={"If-None-Match": first.headers["etag"]})
    assert response.status_code == 200
    assert event.uid not in uids(response.content)


async def test_feed_etag_depends_on_filters_and_language(client, catalogue):
    all_events = await client.get("/calendar.ics")
    activities = await client.get("/calendar.ics?kind=activity")
    english = await client.get("/calendar.ics", headers={"Accept-Language": "en"})
    assert len({r.headers["etag"] for r in (all_events, activities, english)}) == 3
    assert b"CATEGORIES:Regional event\r\n" in english.content
    assert "Accept-Language" in all_events.headers["vary"]


async def test_head_and_openapi(client, catalogue):
    head = await client.head("/calendar.ics")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"]
    document = (await client.get("/api/v1/openapi.json")).json()
    for path in ("/calendar.ics", "/events/{id}.ics", "/events/{id}/calendar.ics"):
        operation = document["paths"][path]["get"]
        assert "security" not in operation
        assert "text/calendar" in operation["responses"]["200"]["content"]
