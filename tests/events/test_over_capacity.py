"""A capacity lowered below the confirmed heads is shown, not silent (issue 12, item 3):
the first attempt is refused with how many people would be over capacity, an explicit
confirmation saves it, nobody is dropped, and the back office flags the event."""

from __future__ import annotations

from html import unescape

from core.models import Role
from events.models import Event
from registrations import service as registrations
from registrations.models import Registration, RegistrationStatus
from tests.conftest import login, token_for
from tests.events.test_backoffice import form
from tests.registrations.helpers import person, published_event

MESSAGE = (
    "23 personnes sont déjà confirmées : la nouvelle capacité de 20 laisse 3 personnes "
    "au-delà. Confirmez pour enregistrer quand même."
)


async def _event_with_23(settings) -> Event:
    event = await published_event(capacity=30)
    for n, size in enumerate((10, 10, 3)):
        await registrations.register(event.id, person(n, party_size=size), settings=settings)
    return await Event.get(id=event.id)


async def _all_confirmed(event: Event) -> bool:
    statuses = await Registration.filter(event_id=event.id).values_list("status", flat=True)
    return len(statuses) == 3 and set(statuses) == {RegistrationStatus.CONFIRMED}


async def test_api_refuses_then_saves_with_the_flag(client, settings):
    event = await _event_with_23(settings)
    headers = {"Authorization": f"Bearer {await token_for(Role.ORGANIZER)}"}
    url = f"/api/v1/events/{event.id}"
    response = await client.patch(url, json={"capacity": 20}, headers=headers)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert (error["code"], error["over_by"], error["message"]) == ("over_capacity", 3, MESSAGE)
    assert (await Event.get(id=event.id)).capacity == 30

    response = await client.patch(
        url, json={"capacity": 20, "confirm_over_capacity": True}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["capacity"] == 20
    saved = await Event.get(id=event.id)
    assert (saved.capacity, saved.seats_taken, saved.over_capacity) == (20, 23, 3)
    assert await _all_confirmed(event)

    # Other changes to an event already over capacity need no new confirmation.
    response = await client.patch(url, json={"title": "Colloque (salle réduite)"}, headers=headers)
    assert response.status_code == 200, response.text
    # Nor does a capacity at or above the confirmed heads.
    response = await client.patch(url, json={"capacity": 23}, headers=headers)
    assert response.status_code == 200, response.text

    doc = (await client.get("/api/v1/openapi.json")).json()
    assert "confirm_over_capacity" in doc["components"]["schemas"]["EventPatch"]["properties"]


async def test_back_office_form_asks_to_confirm_and_flags_the_event(client, settings):
    event = await _event_with_23(settings)
    await login(client, "organizer")
    values = form(
        title=event.title,
        starts_at="2030-02-16T09:00",
        ends_at="2030-02-16T11:30",
        territory="2462",
        capacity="20",
        clienteles=[],
    )
    response = await client.post(f"/admin/events/{event.id}/edit", data=values)
    assert response.status_code == 409, response.text
    text = unescape(response.text)
    assert MESSAGE in text
    assert 'name="confirm_over_capacity"' in text
    assert 'value="20"' in text  # the organizer's input is kept
    assert (await Event.get(id=event.id)).capacity == 30

    response = await client.post(
        f"/admin/events/{event.id}/edit", data={**values, "confirm_over_capacity": "on"}
    )
    assert response.status_code == 303, response.text
    assert (await Event.get(id=event.id)).capacity == 20
    assert await _all_confirmed(event)

    detail = unescape((await client.get(f"/admin/events/{event.id}")).text)
    assert "au-delà de la capacité" in detail
    listing = unescape((await client.get("/admin/events")).text)
    assert "au-delà de la capacité" in listing
    other = await published_event(capacity=50, title="Autre colloque")
    assert "au-delà de la capacité" not in unescape(
        (await client.get(f"/admin/events/{other.id}")).text
    )
