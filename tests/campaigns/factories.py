"""Small builders for the campaign tests (rows written directly: fast, explicit)."""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, datetime, timedelta

from events.models import Event, EventKind, EventStatus
from people.models import Clientele, Consent, Organization, Person, Sector, Territory
from registrations.models import CheckIn, Registration, RegistrationStatus

_seq = itertools.count(1)


async def person(
    first: str = "Alex",
    *,
    email: str | None = None,
    language: str = "fr",
    clientele: str = "schools",
    territory: str | None = None,
    organization: Organization | None = None,
    consents: tuple[str, ...] = ("event_communications",),
    erased: bool = False,
) -> Person:
    n = next(_seq)
    email = email if email is not None else f"p{n}@exemple.qc.ca"
    territory_row = await Territory.get(code=territory) if territory else None
    p = await Person.create(
        first_name=first,
        last_name=f"Nom{n:05d}",
        email=None if erased else email,
        email_key=None if erased else email.lower(),
        language=language,
        clientele=await Clientele.get(code=clientele),
        territory=territory_row,
        organization=organization,
        erased_at=datetime.now(UTC) if erased else None,
    )
    for purpose in consents:
        await Consent.create(person=p, purpose=purpose, granted=True, source="test")
    return p


async def many_people(n: int, prefix: str = "inv") -> list[Person]:
    """`n` people in the schools clientele (every second one English-speaking), each with
    the event-communications consent: two bulk inserts, so thousands take a second."""
    clientele = await Clientele.get(code="schools")
    await Person.bulk_create(
        [
            Person(
                first_name=f"Prénom{i}",
                last_name=f"Nom{i}",
                email=f"{prefix}{i}@exemple.qc.ca",
                email_key=f"{prefix}{i}@exemple.qc.ca",
                language="en" if i % 2 else "fr",
                clientele=clientele,
            )
            for i in range(n)
        ],
        batch_size=500,
    )
    people = list(await Person.filter(email_key__startswith=prefix))
    await Consent.bulk_create(
        [
            Consent(person_id=p.id, purpose="event_communications", granted=True, source="test")
            for p in people
        ],
        batch_size=500,
    )
    return people


async def organization(name: str, sector: Sector = Sector.EDUCATION) -> Organization:
    return await Organization.create(name=name, name_key=name.casefold(), sector=sector)


async def event(title: str = "Lancement du portrait", parent: Event | None = None) -> Event:
    starts = datetime(2027, 2, 16, 14, 0, tzinfo=UTC)
    return await Event.create(
        uid=secrets.token_hex(8),
        kind=EventKind.REGIONAL_EVENT,
        title=title,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        venue_name="Salle Rolland-Brunelle",
        address="1000, boul. Manseau, Joliette",
        status=EventStatus.PUBLISHED,
        parent=parent,
    )


async def registration(
    ev: Event, p: Person, status: RegistrationStatus = RegistrationStatus.CONFIRMED
) -> Registration:
    n = next(_seq)
    return await Registration.create(
        public_id=secrets.token_hex(8),
        ticket_code=f"T{n:07d}"[-8:],
        event=ev,
        person=p,
        status=status,
        clientele_id=p.clientele_id,
        active_key=f"{ev.id}:{p.id}" if status == RegistrationStatus.CONFIRMED else None,
    )


async def check_in(reg: Registration) -> CheckIn:
    now = datetime.now(UTC)
    return await CheckIn.create(
        event_id=reg.event_id,
        registration=reg,
        day=now.date(),
        active_key=f"{reg.id}:{now.date()}",
        checked_in_at=now,
    )
