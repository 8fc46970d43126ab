"""Fair capacity rules (issue 12): a waiting party that fits is never overtaken, every
change that frees places or shrinks a waiting party promotes the waitlist, a party larger
than the whole capacity is refused at once, and the messages say how many places remain.

Promotion order: strict first-come, first-served over the parties that fit — the waitlist
is read in arrival order and each party that fits in the places left is confirmed; a
party too large for them keeps its rank and does not block a smaller one behind it."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import ValidationFailed
from core.settings import Settings
from events.models import Event
from registrations import capacity, service
from registrations.models import Registration, RegistrationSource, RegistrationStatus
from tests.registrations.helpers import SYSTEM, person, published_event

WAITLISTED = RegistrationStatus.WAITLISTED
CONFIRMED = RegistrationStatus.CONFIRMED


# These rules are about places, for parties of any size: the public channels' own limits
# (largest public party, seats per address; tests/registrations/test_abuse.py) are lifted.


@pytest.fixture
def settings(db: Settings) -> Settings:
    return db.with_(public_seats_per_address_hour=0)


async def status_of(registration: Registration) -> RegistrationStatus:
    return RegistrationStatus((await Registration.get(id=registration.id)).status)


async def register(settings, event: Event, n: int, party_size: int = 1) -> Registration:
    result = await service.register(event.id, person(n, party_size=party_size), settings=settings)
    return result.registration


# --------------------------------------------------------------------------- the HTTP reproduction


async def test_a_waiting_group_that_shrinks_is_confirmed_before_the_next_registrant(client):
    """Issue 12's reproduction through the API (with a group that fits the capacity: a
    larger one is now refused at once). Capacity 20, waitlist on: one person registers,
    a group of 20 waits; its manager lowers the party to 19 → the group is confirmed in
    the same request and the next single registrant waits behind."""
    event = await published_event(max_public_party_size=500, capacity=20, waitlist=True)

    def body(n: int, party_size: int = 1) -> dict:
        return {
            "first_name": f"Prénom{n}",
            "last_name": f"Nom{n}",
            "email": f"personne{n}@exemple.qc.ca",
            "clientele": "schools",
            "party_size": party_size,
        }

    url = f"/api/v1/events/{event.id}/registrations"
    first = await client.post(url, json=body(1))
    assert first.json()["status"] == "confirmed"
    group = await client.post(url, json=body(2, party_size=20))
    assert group.status_code == 201, group.text
    assert (group.json()["status"], group.json()["waitlist_position"]) == ("waitlisted", 1)

    response = await client.patch(
        f"/api/v1/manage/{group.json()['manage_token']}", json={"party_size": 19}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "confirmed"
    assert response.json()["ticket"] is not None

    late = await client.post(url, json=body(3))
    assert late.status_code == 201, late.text
    assert (late.json()["status"], late.json()["waitlist_position"]) == ("waitlisted", 1)
    assert (await Event.get(id=event.id)).seats_taken == 20


# --------------------------------------------------------------------------- promotion triggers


@pytest.mark.parametrize(
    "operation",
    [
        "cancel",
        "decline",
        "confirmed_party_shrinks",
        "waitlisted_party_shrinks",
        "capacity_raised",
        "move",
    ],
)
async def test_every_trigger_promotes_the_first_waiting_party_that_fits(settings, operation):
    from events import service as events
    from tests.events.test_service import event_in

    event = await published_event(max_public_party_size=500, capacity=10, waitlist=True)
    holder = await register(settings, event, 1, party_size=8)
    await register(settings, event, 2, party_size=2)
    big = await register(settings, event, 3, party_size=10)  # waits first: 0 left
    group = await register(settings, event, 4, party_size=8)  # waits behind it
    single = await register(settings, event, 5)  # waits behind the group
    assert {await status_of(big), await status_of(group), await status_of(single)} == {WAITLISTED}
    if operation == "cancel":
        await service.cancel(settings, holder.id)
    elif operation == "decline":
        assert await service.decline(settings, SYSTEM, [holder.id]) == 1
    elif operation == "confirmed_party_shrinks":
        await service.change_party_size(settings, holder.id, 1)  # frees 7: not 8
    elif operation == "waitlisted_party_shrinks":
        await Event.filter(id=event.id).update(capacity=15)  # 5 places free, not 8
        await service.change_party_size(settings, group.id, 5)
    elif operation == "capacity_raised":
        data = event_in(
            starts_at="2030-02-16T09:00", ends_at="2030-02-16T11:30", capacity=18, waitlist=True
        )
        await events.update_event(SYSTEM, event.id, data)
    else:
        other = await published_event(max_public_party_size=500, title="Autre lancement")
        await service.move(settings, SYSTEM, holder.id, other.id)
    # The party of 10 never fits the places freed: it keeps its rank, first.
    assert await status_of(big) == WAITLISTED
    assert await capacity.waitlist_position(await Registration.get(id=big.id)) == 1
    if operation == "confirmed_party_shrinks":
        # 7 places: the group of 8 keeps its rank too, the single behind it fits and goes.
        assert await status_of(group) == WAITLISTED
        assert await status_of(single) == CONFIRMED
    else:
        assert await status_of(group) == CONFIRMED
        assert await status_of(single) == WAITLISTED
    event = await Event.get(id=event.id)
    heads = sum(
        await Registration.filter(event_id=event.id, status=CONFIRMED).values_list(
            "party_size", flat=True
        )
    )
    assert event.seats_taken == heads <= (event.capacity or 0)


async def test_promotion_is_first_come_first_served_over_the_parties_that_fit(settings):
    event = await published_event(max_public_party_size=500, capacity=6, waitlist=True)
    holder = await register(settings, event, 1, party_size=6)
    big = await register(settings, event, 2, party_size=6)
    group = await register(settings, event, 3, party_size=3)
    first_single = await register(settings, event, 4)
    second_single = await register(settings, event, 5)
    await service.change_party_size(settings, holder.id, 2)  # 4 places free
    assert await status_of(big) == WAITLISTED  # does not fit, keeps its rank
    assert await status_of(group) == CONFIRMED  # first that fits
    assert await status_of(first_single) == CONFIRMED  # then the next that fits
    assert await status_of(second_single) == WAITLISTED  # no place left
    assert await capacity.waitlist_position(await Registration.get(id=big.id)) == 1
    assert await capacity.waitlist_position(await Registration.get(id=second_single.id)) == 2
    await service.cancel(settings, holder.id)  # 2 more: the big party still waits
    assert await status_of(big) == WAITLISTED
    assert await status_of(second_single) == CONFIRMED


async def test_a_newcomer_never_overtakes_a_waiting_party_that_fits(settings):
    """When a waiting party fits in the places left (a promotion missed: data written
    before this rule, or a race on PostgreSQL), a newcomer lets it go first — it is
    promoted then — and takes what is left; one query, run only when the event has a
    waitlist."""
    event = await published_event(max_public_party_size=500, capacity=10, waitlist=True)
    holder = await register(settings, event, 1, party_size=10)
    group = await register(settings, event, 2, party_size=4)
    # Places freed without a promotion (as the old code left them).
    await Registration.filter(id=holder.id).update(party_size=5)
    await Event.filter(id=event.id).update(seats_taken=5)
    # The newcomer lets the waiting group go first (it fits: it is promoted now), then
    # takes what is left.
    newcomer = await service.register(event.id, person(3, party_size=2), settings=settings)
    assert await status_of(group) == CONFIRMED
    assert newcomer.registration.status == WAITLISTED  # 1 place left, a party of 2
    assert (await Event.get(id=event.id)).seats_taken == 9
    single = await service.register(event.id, person(5), settings=settings)
    assert single.registration.status == CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 10

    # A waiting party that does not fit does not hold the newcomers back.
    await service.cancel(settings, single.registration.id)
    assert await status_of(newcomer.registration) == WAITLISTED  # 2 > the 1 place freed
    other = await service.register(event.id, person(4), settings=settings)
    assert other.registration.status == CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 10


async def test_a_waiting_group_is_confirmed_first_when_a_cancellation_races_newcomers(settings):
    """A cancellation frees enough places for a waiting group (behind a party too large
    for them) while 20 people register at the same time: the group is confirmed first,
    never overtaken, and nothing is oversold (SQLite and PostgreSQL)."""
    event = await published_event(max_public_party_size=500, capacity=20, waitlist=True)
    holder = await register(settings, event, 1, party_size=12)
    await register(settings, event, 2, party_size=8)
    big = await register(settings, event, 3, party_size=20)
    group = await register(settings, event, 4, party_size=10)
    assert await status_of(big) == await status_of(group) == WAITLISTED

    newcomers = [service.register(event.id, person(100 + n), settings=settings) for n in range(20)]
    results = await asyncio.gather(
        *newcomers[:10], service.cancel(settings, holder.id), *newcomers[10:]
    )
    group = await Registration.get(id=group.id)
    assert group.status == CONFIRMED
    assert await status_of(big) == WAITLISTED
    singles = [
        await Registration.get(id=r.registration.id)
        for r in results
        if isinstance(r, service.RegistrationResult)
    ]
    confirmed = [s for s in singles if s.status == CONFIRMED]
    assert len(confirmed) == 2
    assert group.confirmed_at is not None
    assert all(s.confirmed_at and s.confirmed_at >= group.confirmed_at for s in confirmed)
    assert (await Event.get(id=event.id)).seats_taken == 20


# --------------------------------------------------------------------------- too large a party


async def test_a_party_larger_than_the_capacity_is_refused_on_every_channel(settings):
    event = await published_event(max_public_party_size=500, capacity=20, waitlist=True)
    message = (
        "Votre groupe de 25 personnes dépasse la capacité de l'événement (20 places). "
        "Réduisez le nombre ou écrivez à l'organisation."
    )
    for source, actor in (
        (RegistrationSource.FORM, None),
        (RegistrationSource.API, None),
        (RegistrationSource.BACKOFFICE, SYSTEM),
    ):
        with pytest.raises(capacity.PartyTooLarge) as error:
            await service.register(
                event.id, person(1, party_size=25), settings=settings, source=source, actor=actor
            )
        assert error.value.message == message
        assert error.value.fields == {"party_size": message}
    assert await Registration.filter(event_id=event.id).count() == 0

    one = await published_event(
        max_public_party_size=500, capacity=1, waitlist=True, title="Rencontre individuelle"
    )
    with pytest.raises(ValidationFailed) as error:
        await service.register(one.id, person(1, party_size=2), settings=settings)
    assert "(1 place)" in error.value.message

    mine = await register(settings, event, 2, party_size=2)
    with pytest.raises(capacity.PartyTooLarge):
        await service.change_party_size(settings, mine.id, 21)
    waiting = await register(settings, event, 3, party_size=19)
    assert waiting.status == WAITLISTED
    with pytest.raises(capacity.PartyTooLarge):
        await service.change_party_size(settings, waiting.id, 25)
    assert (await Registration.get(id=waiting.id)).party_size == 19


async def test_places_left_are_said_when_the_waitlist_is_off(settings):
    event = await published_event(max_public_party_size=500, capacity=30)
    await register(settings, event, 1, party_size=10)
    with pytest.raises(capacity.EventFull) as error:
        await service.register(event.id, person(2, party_size=25), settings=settings)
    assert error.value.message == "Il reste 20 places; votre groupe compte 25 personnes."
    assert error.value.payload()["error"]["places_left"] == 20
    await register(settings, event, 3, party_size=19)
    with pytest.raises(capacity.EventFull) as error:
        await service.register(event.id, person(4, party_size=2), settings=settings)
    assert error.value.message == "Il reste 1 place; votre groupe compte 2 personnes."
    await register(settings, event, 5)
    with pytest.raises(capacity.EventFull) as error:
        await service.register(event.id, person(6), settings=settings)
    assert error.value.message == "Cet événement est complet."
    assert error.value.payload()["error"]["places_left"] == 0


async def test_too_large_and_places_left_messages_through_the_api_and_the_form(client, settings):
    from html import unescape

    from registrations import manage_links
    from tests.registrations.test_pages import register_through_form

    too_large = (
        "Votre groupe de 25 personnes dépasse la capacité de l'événement (20 places). "
        "Réduisez le nombre ou écrivez à l'organisation."
    )
    event = await published_event(max_public_party_size=500, capacity=20, waitlist=True)
    url = f"/api/v1/events/{event.id}/registrations"
    body = {
        "first_name": "Marc-André",
        "last_name": "Tremblay",
        "email": "marc-andre.tremblay@exemple.qc.ca",
        "clientele": "schools",
        "party_size": 25,
    }
    response = await client.post(url, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("party_too_large", too_large)
    assert error["fields"] == {"party_size": too_large}
    assert error["capacity"] == 20

    page = await register_through_form(client, event, party_size="25")
    assert page.status_code == 422
    assert too_large in unescape(page.text)
    assert "liste d'attente" not in unescape(page.text).split("<form")[0].split("</h1>")[-1]

    mine = await register(settings, event, 1, party_size=2)
    token = manage_links.manage_token(settings, mine)
    response = await client.patch(f"/api/v1/manage/{token}", json={"party_size": 25})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "party_too_large"
    page = await client.get(f"/manage/{token}/edit")
    from tests.conftest import csrf_from

    response = await client.post(
        f"/manage/{token}/edit",
        data={"party_size": "25", "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 422
    assert too_large in unescape(response.text)
    assert 'name="party_size"' in response.text  # the form again, to lower the number
    assert (await Registration.get(id=mine.id)).party_size == 2

    no_waitlist = await published_event(
        max_public_party_size=500, capacity=30, title="Atelier sans liste d'attente"
    )
    await register(settings, no_waitlist, 2, party_size=10)
    body["party_size"] = 25
    response = await client.post(f"/api/v1/events/{no_waitlist.id}/registrations", json=body)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "event_full"
    assert error["message"] == "Il reste 20 places; votre groupe compte 25 personnes."
    assert error["places_left"] == 20
    page = await register_through_form(client, no_waitlist, party_size="25")
    assert page.status_code == 409
    assert "Il reste 20 places; votre groupe compte 25 personnes." in page.text
    assert "Cet événement est complet" not in page.text
    assert 'name="first_name"' in page.text  # the form stays, to lower the number

    doc = (await client.get("/api/v1/openapi.json")).json()
    post = doc["paths"]["/api/v1/events/{id}/registrations"]["post"]
    assert "file d'attente" in post["description"] or "liste d'attente" in post["description"]
    assert "422" in post["responses"]
