"""All-day events (one or several whole days), the phone setting of an event, and the API's
one datetime convention (ISO 8601 with the event's local offset)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ical.calendar_stream import IcsCalendarStream

from core.auth import Principal
from core.models import OutboundMessage, Role
from events import service
from events.ics import cancellation_ics, event_ics
from events.models import Event, PhoneField
from events.schemas import EventIn
from registrations import service as registrations
from registrations.checkin import CheckinWindow
from tests.conftest import login, token_for
from tests.events.test_backoffice import form
from tests.registrations.helpers import person

SYSTEM = Principal.system("tests")
BASE = "https://rassembleur.exemple.ca"
WEEK = "du lundi 14 au vendredi 18 février 2028"
API_BODY: dict[str, Any] = {
    "title": "Colloque de deux jours",
    "kind": "regional_event",
    "all_day": True,
    "starts_at": "2028-02-14",
    "ends_at": "2028-02-15",
    "venue_name": "Cégep régional de Lanaudière",
    "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
    "territory": "2461",
}


async def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {await token_for(Role.ORGANIZER)}"}


async def all_day_event(publish: bool = True, **overrides: Any) -> Event:
    values: dict[str, Any] = {**API_BODY, "starts_at": "2028-02-14", "ends_at": "2028-02-18"}
    values.update(overrides)
    event = await service.create_event(SYSTEM, EventIn.model_validate(values))
    if publish:
        await service.publish_event(SYSTEM, event.id)
    return await Event.get(id=event.id)


def strict(data: bytes) -> Any:
    return IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))


# --------------------------------------------------------------------------- API


async def test_api_creates_and_reads_a_two_day_all_day_event(client):
    headers = await _auth()
    r = await client.post("/api/v1/events", json=API_BODY, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["all_day"] is True
    assert (body["starts_at"], body["ends_at"]) == ("2028-02-14", "2028-02-15")
    event = await Event.get(id=body["id"])
    # Stored as the first day 00:00 and the last day 23:59:59 in the event's zone.
    assert event.all_day
    assert event.starts_at == datetime(2028, 2, 14, 5, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2028, 2, 16, 4, 59, 59, tzinfo=UTC)
    await client.post(f"/api/v1/events/{event.id}/publish", headers=headers)
    public = (await client.get(f"/api/v1/events/{event.id}")).json()
    assert (public["all_day"], public["starts_at"], public["ends_at"]) == (
        True,
        "2028-02-14",
        "2028-02-15",
    )
    # A PATCH of another field keeps the days; a PATCH of the last day moves it.
    r = await client.patch(f"/api/v1/events/{event.id}", json={"title": "X"}, headers=headers)
    assert (r.json()["starts_at"], r.json()["ends_at"]) == ("2028-02-14", "2028-02-15")
    r = await client.patch(
        f"/api/v1/events/{event.id}", json={"ends_at": "2028-02-16"}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["starts_at"], r.json()["ends_at"]) == ("2028-02-14", "2028-02-16")
    # The last day before the first is refused in French.
    r = await client.post(
        "/api/v1/events", json={**API_BODY, "ends_at": "2028-02-13"}, headers=headers
    )
    assert r.status_code == 422
    assert "ends_at" in r.json()["error"]["fields"]
    # Timed events keep their datetimes.
    timed = {**API_BODY, "all_day": False, "starts_at": "2028-02-14T09:00"}
    timed["ends_at"] = "2028-02-14T11:00"
    r = await client.post("/api/v1/events", json=timed, headers=headers)
    assert r.json()["all_day"] is False
    assert r.json()["starts_at"] == "2028-02-14T09:00:00-05:00"


async def test_openapi_documents_all_day_dates_and_phone_field(client):
    schema = (await client.get("/api/v1/openapi.json")).json()
    out = schema["components"]["schemas"]["EventOut"]["properties"]
    assert "all_day" in out and "phone_field" in out
    starts = out["starts_at"]
    formats = {option.get("format") for option in starts.get("anyOf", [starts])}
    assert formats == {"date-time", "date"}
    assert "all_day" in starts.get("description", "")


async def test_api_datetimes_carry_the_events_local_offset(client):
    headers = await _auth()
    body = {
        **API_BODY,
        "all_day": False,
        "starts_at": "2028-02-16T09:00",
        "ends_at": "2028-02-16T11:00",
        "registration_opens_at": "2028-01-10T08:00:00Z",
        "registration_closes_at": "2028-02-15T17:00",
    }
    created = (await client.post("/api/v1/events", json=body, headers=headers)).json()
    assert created["registration_opens_at"] == "2028-01-10T03:00:00-05:00"
    assert created["registration_closes_at"] == "2028-02-15T17:00:00-05:00"
    event_id = created["id"]
    await client.post(f"/api/v1/events/{event_id}/publish", headers=headers)
    r = await client.post(f"/api/v1/events/{event_id}/cancel", headers=headers)
    out = r.json()
    for name in ("created_at", "published_at", "cancelled_at"):
        moment = datetime.fromisoformat(out[name])
        assert moment.utcoffset() == timedelta(hours=-5), (name, out[name])  # EST in winter


async def test_registrations_api_list_gives_created_at_in_the_events_zone(client, settings):
    event = await all_day_event(
        all_day=False,
        timezone="America/Halifax",
        starts_at="2030-02-16T09:00",
        ends_at="2030-02-16T11:00",
    )
    await registrations.register(event.id, person(1), settings=settings)
    r = await client.get(f"/api/v1/events/{event.id}/registrations", headers=await _auth())
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    offset = datetime.fromisoformat(item["created_at"]).utcoffset()
    # Halifax: -04:00 in winter, -03:00 in summer (the day the test runs).
    assert offset in (timedelta(hours=-4), timedelta(hours=-3)), item["created_at"]


async def test_api_phone_field_is_saved_and_validated(client):
    headers = await _auth()
    r = await client.post("/api/v1/events", json=API_BODY, headers=headers)
    assert r.json()["phone_field"] == "optional"  # the default
    r = await client.post(
        "/api/v1/events", json={**API_BODY, "phone_field": "required"}, headers=headers
    )
    assert r.status_code == 201 and r.json()["phone_field"] == "required"
    event_id = r.json()["id"]
    assert (await Event.get(id=event_id)).phone_field == PhoneField.REQUIRED
    r = await client.patch(
        f"/api/v1/events/{event_id}", json={"phone_field": "hidden"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["phone_field"] == "hidden"
    r = await client.post(
        "/api/v1/events", json={**API_BODY, "phone_field": "parfois"}, headers=headers
    )
    assert r.status_code == 422
    assert "phone_field" in r.json()["error"]["fields"]
    r = await client.patch(
        f"/api/v1/events/{event_id}", json={"phone_field": "parfois"}, headers=headers
    )
    assert r.status_code == 422
    assert (await Event.get(id=event_id)).phone_field == PhoneField.HIDDEN


# --------------------------------------------------------------------------- back office


async def test_form_all_day_box_uses_the_date_part_and_phone_setting(client):
    await login(client, "organizer")
    page = await client.get("/admin/events/new")
    assert "Toute la journée" in page.text
    assert 'name="phone_field"' in page.text
    for label in ("Ne pas demander", "Facultatif", "Obligatoire"):
        assert label in page.text
    # Without JavaScript the inputs stay datetime-local: the date part is used.
    data = form(
        all_day="on",
        starts_at="2028-02-14T09:00",
        ends_at="2028-02-18T00:00",
        phone_field="required",
    )
    response = await client.post("/admin/events/new", data=data)
    assert response.status_code == 303, response.text
    event = await Event.get()
    assert event.all_day and event.phone_field == PhoneField.REQUIRED
    assert event.starts_at == datetime(2028, 2, 14, 5, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2028, 2, 19, 4, 59, 59, tzinfo=UTC)
    detail = (await client.get(f"/admin/events/{event.id}")).text
    assert WEEK in detail
    assert "Téléphone à l'inscription" in detail and "Obligatoire" in detail
    edit = (await client.get(f"/admin/events/{event.id}/edit")).text
    assert re.search(r'name="all_day"[^>]* checked', edit)
    assert 'value="2028-02-14"' in edit and 'value="2028-02-18"' in edit
    # Back to a timed event; a bad phone setting is refused, nothing saved.
    bad = form(phone_field="parfois")
    response = await client.post(f"/admin/events/{event.id}/edit", data=bad)
    assert response.status_code == 422
    assert (await Event.get(id=event.id)).phone_field == PhoneField.REQUIRED
    response = await client.post(f"/admin/events/{event.id}/edit", data=form(phone_field="hidden"))
    assert response.status_code == 303, response.text
    event = await Event.get(id=event.id)
    assert not event.all_day and event.phone_field == PhoneField.HIDDEN
    assert event.starts_at == datetime(2027, 2, 16, 14, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- display


async def test_public_pages_show_all_day_events_without_hours(client):
    week = await all_day_event(title="Semaine JPS")
    day = await all_day_event(title="Journée", starts_at="2028-02-15", ends_at="2028-02-15")
    page = (await client.get(f"/events/{week.id}")).text
    assert WEEK in page
    assert " 0 h" not in page and "23 h 59" not in page
    assert "mardi 15 février 2028" in (await client.get(f"/events/{day.id}")).text
    listing = (await client.get("/events?from=2028-02-01")).text
    assert WEEK in listing and "mardi 15 février 2028" in listing
    assert " 0 h" not in listing
    english = (await client.get(f"/events/{week.id}?lang=en")).text
    assert "Monday, February 14 to Friday, February 18, 2028" in english


async def test_confirmation_email_shows_the_days_without_hours(client, settings):
    event = await all_day_event()
    await registrations.register(event.id, person(1), settings=settings)
    message = await OutboundMessage.get(dedupe_key__startswith="registration_confirmed")
    text = " ".join(message.text_body.split())
    assert WEEK in text
    assert " 0 h" not in text and "23 h 59" not in message.html_body
    assert WEEK in " ".join(message.html_body.split())


# --------------------------------------------------------------------------- ICS


async def test_ics_all_day_is_value_date_with_exclusive_end(db):
    event = await all_day_event()
    text = event_ics(event, BASE).decode()
    assert "DTSTART;VALUE=DATE:20280214\r\n" in text
    assert "DTEND;VALUE=DATE:20280219\r\n" in text
    (vevent,) = strict(event_ics(event, BASE)).events
    assert type(vevent.dtstart) is date and vevent.dtstart == date(2028, 2, 14)
    assert type(vevent.dtend) is date and vevent.dtend == date(2028, 2, 19)
    for data in (
        event_ics(event, BASE, "REQUEST", include_online_url=True),
        cancellation_ics(event, BASE, attendee="a@exemple.qc.ca"),
    ):
        assert b"DTSTART;VALUE=DATE:20280214\r\n" in data
        (vevent,) = strict(data).events
        assert vevent.dtstart == date(2028, 2, 14) and vevent.dtend == date(2028, 2, 19)


async def test_feed_holds_an_all_day_event_beside_a_timed_one(client):
    today = datetime.now(UTC).date() + timedelta(days=30)
    week = await all_day_event(
        starts_at=today.isoformat(), ends_at=(today + timedelta(days=1)).isoformat()
    )
    timed = await all_day_event(
        all_day=False,
        title="Atelier",
        starts_at=f"{today.isoformat()}T09:00",
        ends_at=f"{today.isoformat()}T11:00",
    )
    response = await client.get("/calendar.ics")
    assert response.status_code == 200
    events = {e.uid: e for e in strict(response.content).events}
    assert events[week.uid].dtstart == today and type(events[week.uid].dtstart) is date
    assert events[week.uid].dtend == today + timedelta(days=2)
    assert isinstance(events[timed.uid].dtstart, datetime)


# --------------------------------------------------------------------------- check-in, demo


async def test_checkin_window_covers_the_whole_days(db):
    event = await all_day_event()
    window = CheckinWindow.of_event(event)
    assert window.opens == datetime(2028, 2, 14, 5, tzinfo=UTC) - timedelta(minutes=120)
    assert window.closes == datetime(2028, 2, 19, 4, 59, 59, tzinfo=UTC)


async def test_demo_jps_edition_is_all_day(client):
    from events.demo import load_demo_events
    from people.demo import load_demo_people
    from people.reference import seed_plan_items

    await seed_plan_items()
    await load_demo_people()
    await load_demo_events()
    jps = await Event.get(kind="perseverance_days", parent_id=None)
    assert jps.all_day
    r = await client.get(f"/api/v1/events/{jps.id}")
    assert (r.json()["starts_at"], r.json()["ends_at"]) == ("2027-02-15", "2027-02-19")
    assert "du lundi 15 au vendredi 19 février 2027" in (await client.get("/jps")).text


async def test_duplicate_keeps_the_days_and_the_phone_setting(client):
    headers = await _auth()
    event = await all_day_event(publish=False, phone_field="required")
    r = await client.post(f"/api/v1/events/{event.id}/duplicate", headers=headers)
    assert r.status_code == 201, r.text
    copy = r.json()
    assert (copy["all_day"], copy["starts_at"], copy["ends_at"]) == (
        True,
        "2029-02-12",
        "2029-02-16",
    )
    assert copy["phone_field"] == "required"
