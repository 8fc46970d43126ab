"""Capacity, waitlist and approval rules, including under concurrency (both databases)."""

import asyncio
import random

import pytest

from core.models import OutboundMessage
from events.models import Event
from registrations import capacity, opening, service
from registrations.models import Registration, RegistrationStatus
from tests.registrations.helpers import SYSTEM, person, published_event


async def test_confirmed_then_waitlisted_then_full(settings):
    event = await published_event(capacity=2, waitlist=True)
    r1 = await service.register(event.id, person(1), settings=settings)
    r2 = await service.register(event.id, person(2, party_size=1), settings=settings)
    r3 = await service.register(event.id, person(3), settings=settings)
    assert r1.registration.status == r2.registration.status == RegistrationStatus.CONFIRMED
    assert r3.registration.status == RegistrationStatus.WAITLISTED
    assert r3.waitlist_position == 1
    closed = await published_event(capacity=1)
    await service.register(closed.id, person(1), settings=settings)
    with pytest.raises(capacity.EventFull):
        await service.register(closed.id, person(2), settings=settings)
    assert await Registration.filter(event_id=closed.id).count() == 1


async def test_one_active_registration_per_person(settings):
    event = await published_event()
    await service.register(event.id, person(1), settings=settings)
    with pytest.raises(service.AlreadyRegistered) as err:
        await service.register(
            event.id, person(1, email="PERSONNE1@Exemple.qc.ca"), settings=settings
        )
    assert "lien de gestion" in err.value.message


async def test_cancel_promotes_in_order_and_party_sizes(settings):
    event = await published_event(capacity=5, waitlist=True)
    a = (await service.register(event.id, person(1, party_size=5), settings=settings)).registration
    big = (
        await service.register(event.id, person(2, party_size=4), settings=settings)
    ).registration
    small = (
        await service.register(event.id, person(3, party_size=1), settings=settings)
    ).registration
    assert big.status == small.status == RegistrationStatus.WAITLISTED
    await service.change_party_size(settings, a.id, 3)  # frees 2: not enough for the 4
    assert (await Registration.get(id=big.id)).status == RegistrationStatus.WAITLISTED
    # First come, first served over the parties that fit: the 1 behind the 4 goes.
    assert (await Registration.get(id=small.id)).status == RegistrationStatus.CONFIRMED
    await service.cancel(settings, a.id)
    assert (await Registration.get(id=big.id)).status == RegistrationStatus.CONFIRMED
    assert (await Registration.get(id=small.id)).status == RegistrationStatus.CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 5
    assert await OutboundMessage.filter(subject__startswith="Une place s'est libérée").count() == 2


async def test_capacity_raise_promotes(settings):
    from events import service as events
    from tests.events.test_service import event_in

    event = await published_event(capacity=1, waitlist=True)
    await service.register(event.id, person(1), settings=settings)
    waiting = (await service.register(event.id, person(2), settings=settings)).registration
    data = event_in(
        starts_at="2030-02-16T09:00", ends_at="2030-02-16T11:30", capacity=2, waitlist=True
    )
    await events.update_event(SYSTEM, event.id, data)
    assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.CONFIRMED


async def test_approval_flow(settings):
    event = await published_event(capacity=1, requires_approval=True, waitlist=True)
    p1 = (await service.register(event.id, person(1), settings=settings)).registration
    p2 = (await service.register(event.id, person(2), settings=settings)).registration
    p3 = (await service.register(event.id, person(3), settings=settings)).registration
    assert {p1.status, p2.status} == {RegistrationStatus.PENDING_APPROVAL}
    counts = await service.approve(settings, SYSTEM, [p1.id, p2.id])
    assert counts["confirmed"] == 1 and counts["waitlisted"] == 1
    assert await service.decline(settings, SYSTEM, [p3.id]) == 1
    # Declining the confirmed one promotes the waitlisted one.
    await service.decline(settings, SYSTEM, [p1.id])
    assert (await Registration.get(id=p2.id)).status == RegistrationStatus.CONFIRMED


async def test_window_enforced(settings):
    event = await published_event(registration_opens_at="2029-12-01T00:00")
    from datetime import UTC, datetime

    if datetime.now(UTC).year < 2029:
        with pytest.raises(opening.RegistrationClosed):
            await service.register(event.id, person(1), settings=settings)
    past = await published_event(starts_at="2020-02-16T09:00", ends_at="2020-02-16T11:30")
    with pytest.raises(opening.RegistrationClosed):
        await service.register(past.id, person(1), settings=settings)


async def test_300_concurrent_registrations_for_50_places(settings):
    event = await published_event(capacity=50, waitlist=True)
    results = await asyncio.gather(
        *(service.register(event.id, person(n), settings=settings) for n in range(300))
    )
    statuses = [r.registration.status for r in results]
    assert statuses.count(RegistrationStatus.CONFIRMED) == 50
    assert statuses.count(RegistrationStatus.WAITLISTED) == 250
    positions = sorted(
        [
            await capacity.waitlist_position(r.registration)
            for r in results
            if r.registration.status == RegistrationStatus.WAITLISTED
        ]
    )
    assert positions == list(range(1, 251))
    assert (await Event.get(id=event.id)).seats_taken == 50
    assert await Registration.filter(event_id=event.id).count() == 300

    waitlisted = (
        await Registration.filter(event_id=event.id, status=RegistrationStatus.WAITLISTED)
        .order_by("waitlist_rank", "id")
        .values_list("id", flat=True)
    )
    confirmed = await Registration.filter(
        event_id=event.id, status=RegistrationStatus.CONFIRMED
    ).values_list("id", flat=True)
    await asyncio.gather(*(service.cancel(settings, rid) for rid in confirmed[:10]))
    now_confirmed = set(
        await Registration.filter(
            event_id=event.id, status=RegistrationStatus.CONFIRMED
        ).values_list("id", flat=True)
    )
    assert set(waitlisted[:10]) <= now_confirmed
    assert not set(waitlisted[10:]) & now_confirmed
    assert len(now_confirmed) == 50


async def test_mixed_party_sizes_never_oversell(settings):
    event = await published_event(capacity=50, waitlist=True)
    rng = random.Random(7)
    sizes = [rng.randint(1, 5) for _ in range(120)]
    await asyncio.gather(
        *(
            service.register(event.id, person(n, party_size=s), settings=settings)
            for n, s in enumerate(sizes)
        )
    )
    heads = sum(
        await Registration.filter(
            event_id=event.id, status=RegistrationStatus.CONFIRMED
        ).values_list("party_size", flat=True)
    )
    assert heads <= 50
    assert heads == (await Event.get(id=event.id)).seats_taken


async def test_modify_is_all_or_nothing(settings):
    from core.errors import ValidationFailed
    from registrations.models import Question

    event = await published_event(capacity=10)
    question = await Question.create(event=event, kind="number", label="Âge", required=True)
    reg = (
        await service.register(
            event.id, person(1, answers={str(question.id): 15}), settings=settings
        )
    ).registration
    with pytest.raises(ValidationFailed):
        await service.modify_registration(
            settings, reg.id, party_size=4, answers={str(question.id): "beaucoup"}
        )
    reg = await Registration.get(id=reg.id)
    assert reg.party_size == 1 and (await Event.get(id=event.id)).seats_taken == 1
    changed = await service.modify_registration(
        settings, reg.id, party_size=4, answers={str(question.id): 16}
    )
    assert changed.party_size == 4 and changed.answers == {str(question.id): 16}
    assert (await Event.get(id=event.id)).seats_taken == 4


async def test_a_public_registration_never_rewrites_someone_elses_record(settings):
    """Knowing an e-mail must not let a stranger rename a person or change their
    clientele; it only fills what the record leaves empty. The registration keeps what
    was submitted."""
    from people.models import Clientele, Person
    from registrations.models import RegistrationSource

    youth = await Clientele.get(code="youth")
    await Person.create(
        first_name="Chantal",
        last_name="Beaulieu",
        email="chantal@exemple.qc.ca",
        email_key="chantal@exemple.qc.ca",
        clientele=youth,
        phone="",
    )
    event = await published_event(capacity=10)
    result = await service.register(
        event.id,
        person(
            1,
            first_name="Pirate",
            last_name="Inconnu",
            email="Chantal@Exemple.qc.ca",
            clientele="schools",
            phone="450 555-0199",
        ),
        settings=settings,
    )
    stored = await Person.get(email_key="chantal@exemple.qc.ca").prefetch_related("clientele")
    assert (stored.first_name, stored.last_name) == ("Chantal", "Beaulieu")
    assert stored.clientele.code == "youth"
    assert stored.phone == "+14505550199"  # was empty: filled in (E.164)
    assert result.registration.person_id == stored.id  # type: ignore[attr-defined]
    registration = await Registration.get(id=result.registration.id).prefetch_related("clientele")
    assert registration.clientele.code == "schools"

    # The organizers' own channel (back office) may correct the record.
    other = await published_event(capacity=10, title="Autre colloque")
    await service.register(
        other.id,
        person(2, first_name="Chantale", last_name="Beaulieu", email="chantal@exemple.qc.ca"),
        settings=settings,
        source=RegistrationSource.BACKOFFICE,
        actor=capacity.SYSTEM,
    )
    assert (await Person.get(id=stored.id)).first_name == "Chantale"


@pytest.mark.parametrize("operation", ["cancel", "decline", "smaller_party", "move"])
async def test_every_operation_that_frees_places_promotes_the_waitlist(settings, operation):
    """One release path: cancel, decline, a smaller party and a move all give the places
    back and promote the waitlist in the same transaction."""
    event = await published_event(capacity=3, waitlist=True)
    holder = (
        await service.register(event.id, person(1, party_size=3), settings=settings)
    ).registration
    waiting = (
        await service.register(event.id, person(2, party_size=2), settings=settings)
    ).registration
    assert waiting.status == RegistrationStatus.WAITLISTED
    if operation == "cancel":
        await service.cancel(settings, holder.id)
    elif operation == "decline":
        assert await service.decline(settings, SYSTEM, [holder.id]) == 1
    elif operation == "smaller_party":
        await service.change_party_size(settings, holder.id, 1)
    else:
        other = await published_event(title="Autre lancement")
        await service.move(settings, SYSTEM, holder.id, other.id)
    assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.CONFIRMED
    expected = 3 if operation == "smaller_party" else 2
    assert (await Event.get(id=event.id)).seats_taken == expected


async def test_release_gives_back_only_what_a_confirmed_registration_holds(settings):
    event = await published_event(capacity=1, waitlist=True)
    await service.register(event.id, person(1), settings=settings)
    waiting = (await service.register(event.id, person(2), settings=settings)).registration
    for held in (RegistrationStatus.WAITLISTED, RegistrationStatus.PENDING_APPROVAL):
        assert await capacity.release(settings, event.id, held, 1) == []
    assert await capacity.release(settings, event.id, RegistrationStatus.CONFIRMED, 0) == []
    assert (await Event.get(id=event.id)).seats_taken == 1
    assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.WAITLISTED
    promoted = await capacity.release(settings, event.id, RegistrationStatus.CONFIRMED, 1)
    assert [r.id for r in promoted] == [waiting.id]
    assert (await Event.get(id=event.id)).seats_taken == 1


def test_fits_reads_the_places_left():
    assert capacity.fits(Event(capacity=None, seats_taken=50), 10)
    assert capacity.fits(Event(capacity=10, seats_taken=7), 3)
    assert not capacity.fits(Event(capacity=10, seats_taken=8), 3)
    assert not capacity.fits(Event(capacity=5, seats_taken=7), 1)  # over capacity
