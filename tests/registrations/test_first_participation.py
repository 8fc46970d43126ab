"""Each person's first participation (`FirstParticipation`), kept by database triggers
(migration registrations 0010): every kind of write that can change it, compared after each
step with the from-scratch computation and with a hand-written expectation; the triggers
present after the migrations (an SQLite table rebuild drops them); on PostgreSQL, two
transactions registering one person at once."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from core.db import dialect
from events.models import Event, EventKind, EventStatus
from people.models import Clientele, Person
from registrations.models import FirstParticipation, Registration, RegistrationStatus

TABLE = "registrations_first_participation"
EARLY = datetime(2026, 2, 16, 14, 0, tzinfo=UTC)
LATE = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
LATER = datetime(2026, 9, 1, 13, 0, tzinfo=UTC)


async def make_event(starts: datetime) -> Event:
    return await Event.create(
        uid=secrets.token_hex(8),
        kind=EventKind.ACTIVITY,
        status=EventStatus.PUBLISHED,
        title=f"Activité {starts:%Y-%m-%d}",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
    )


async def make_person(name: str) -> Person:
    return await Person.create(
        first_name=name, last_name="Test", email=f"{name.lower()}@exemple.qc.ca"
    )


async def register(event: Event, person: Person, status: RegistrationStatus) -> Registration:
    clientele = await Clientele.first()
    assert clientele is not None
    return await Registration.create(
        public_id=secrets.token_hex(8),
        ticket_code=secrets.token_hex(4),
        event=event,
        person=person,
        status=status,
        clientele=clientele,
        active_key=f"{event.id}:{person.id}",
    )


async def stored() -> dict[int, datetime]:
    return {row.person_id: row.starts_at for row in await FirstParticipation.all()}


async def from_scratch() -> dict[int, datetime]:
    first: dict[int, datetime] = {}
    rows = Registration.filter(status=RegistrationStatus.CONFIRMED).values(
        "person_id", "event__starts_at"
    )
    for row in await rows:
        start = row["event__starts_at"]
        if row["person_id"] not in first or start < first[row["person_id"]]:
            first[row["person_id"]] = start
    return first


async def check(expected: dict[int, datetime]) -> None:
    assert await stored() == expected
    assert await from_scratch() == expected


async def test_triggers_exist_after_the_migrations(db):
    client = connections.get("default")
    if dialect() == "sqlite":
        rows = await client.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?", [f"{TABLE}%"]
        )
        expected = {f"{TABLE}_{name}" for name in ("insert", "delete", "update", "event")}
    else:
        rows = await client.execute_query_dict(
            "SELECT tgname AS name FROM pg_trigger WHERE tgname LIKE $1 AND NOT tgisinternal",
            [f"{TABLE}%"],
        )
        expected = {f"{TABLE}_registration", f"{TABLE}_event"}
    assert {row["name"] for row in rows} == expected


async def test_every_write_keeps_the_first_participation_exact(db):
    early, late, later = await make_event(EARLY), await make_event(LATE), await make_event(LATER)
    ana, ben = await make_person("Ana"), await make_person("Ben")

    # Registered: a confirmed registration counts; one on the waitlist does not.
    r_late = await register(late, ana, RegistrationStatus.CONFIRMED)
    r_early = await register(early, ana, RegistrationStatus.WAITLISTED)
    await check({ana.id: LATE})

    # Promoted from the waitlist (status written by the ORM's save).
    r_early.status = RegistrationStatus.CONFIRMED
    await r_early.save()
    await check({ana.id: EARLY})

    # Saved again without a change of status, person or event: nothing moves.
    r_early.answers = {"allergies": "aucune"}
    await r_early.save()
    await check({ana.id: EARLY})

    # Cancelled (a queryset update, as the services write it).
    await Registration.filter(id=r_early.id).update(status=RegistrationStatus.CANCELLED)
    await check({ana.id: LATE})

    # Moved to another event.
    await Registration.filter(id=r_late.id).update(event_id=later.id)
    await check({ana.id: LATER})

    # The event's start moved (earlier, then later).
    later.starts_at = EARLY - timedelta(days=1)
    await later.save()
    await check({ana.id: EARLY - timedelta(days=1)})
    await Event.filter(id=later.id).update(starts_at=LATER)
    await check({ana.id: LATER})

    # Moved onto another person (the retention rule's anonymous person): both recomputed.
    await register(early, ben, RegistrationStatus.PENDING_APPROVAL)
    await Registration.filter(id=r_late.id).update(person_id=ben.id)
    await check({ben.id: LATER})

    # Deleted.
    await Registration.filter(id=r_late.id).delete()
    await check({})

    # Several people in one statement (a bulk update of their status).
    await Registration.filter(event_id=early.id).update(status=RegistrationStatus.CONFIRMED)
    await check({ana.id: EARLY, ben.id: EARLY})


async def test_rows_follow_the_report_services(db):
    """Through the participation report's own data set (services and ORM): the table
    equals the from-scratch computation, erased person included."""
    from tests.reports.dataset import build

    await build()
    expected = await from_scratch()
    assert expected
    await check(expected)


async def test_two_transactions_registering_one_person_at_once(db):
    """PostgreSQL: the second transaction waits for the first (advisory lock) and sees its
    registration; without the lock it would fail on the primary key or keep a stale start."""
    if dialect() != "postgres":
        pytest.skip("SQLite has one writer at a time")
    early, late = await make_event(EARLY), await make_event(LATE)
    ana = await make_person("Ana")
    clientele = await Clientele.first()
    assert clientele is not None
    first_in = asyncio.Event()

    async def one(event: Event, hold: bool) -> None:
        async with in_transaction() as conn:
            await Registration.create(
                public_id=secrets.token_hex(8),
                ticket_code=secrets.token_hex(4),
                event=event,
                person=ana,
                status=RegistrationStatus.CONFIRMED,
                clientele=clientele,
                active_key=f"{event.id}:{ana.id}",
                using_db=conn,
            )
            if hold:
                first_in.set()
                await asyncio.sleep(0.3)

    async def second() -> None:
        await first_in.wait()
        await one(early, hold=False)

    await asyncio.gather(one(late, hold=True), second())
    await check({ana.id: EARLY})
