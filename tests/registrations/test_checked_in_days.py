"""Each registration's check-in days (`Registration.checked_in_days`), kept by database
triggers (migration registrations 0011): every kind of check-in write, through the door's
services and as plain statements, compared after each step with the from-scratch count and
with a hand-written expectation; the triggers present after the migrations (an SQLite
table rebuild drops them); the application never writing the column back; on PostgreSQL,
two transactions checking in one registration at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from core.db import dialect
from registrations import checkin, notices, service
from registrations.models import CheckIn, CheckinResult, Registration
from tests.registrations.helpers import SYSTEM, person, published_event

PREFIX = "registrations_checked_in_days"
ZONE = ZoneInfo("America/Toronto")


async def stored() -> dict[int, int]:
    return {r.id: r.checked_in_days for r in await Registration.all()}


async def from_scratch() -> dict[int, int]:
    counts = {r.id: 0 for r in await Registration.all()}
    for row in await CheckIn.filter(active_key__isnull=False).values("registration_id"):
        counts[row["registration_id"]] += 1
    return counts


async def check(expected: dict[int, int]) -> None:
    assert await stored() == expected
    assert await from_scratch() == expected


async def two_day_event():
    """Started yesterday, ends tomorrow (local time): a scan counts on either day."""
    today = datetime.now(ZONE).date()
    start = (today - timedelta(days=1)).strftime("%Y-%m-%dT00:30")
    end = (today + timedelta(days=1)).strftime("%Y-%m-%dT23:00")
    return await published_event(starts_at=start, ends_at=end, capacity=50)


def yesterday_noon() -> datetime:
    day = datetime.now(ZONE).date() - timedelta(days=1)
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZONE).astimezone(UTC)


async def test_triggers_exist_after_the_migrations(db):
    client = connections.get("default")
    if dialect() == "sqlite":
        rows = await client.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?", [f"{PREFIX}%"]
        )
        expected = {f"{PREFIX}_{name}" for name in ("insert", "delete", "update")}
    else:
        rows = await client.execute_query_dict(
            "SELECT tgname AS name FROM pg_trigger WHERE tgname LIKE $1 AND NOT tgisinternal",
            [f"{PREFIX}%"],
        )
        expected = {f"{PREFIX}_checkin"}
    assert {row["name"] for row in rows} == expected


async def test_every_check_in_write_keeps_the_days_exact(settings):
    event = await two_day_event()
    ana = (await service.register(event.id, person(1), settings=settings)).registration
    ben = (await service.register(event.id, person(2), settings=settings)).registration
    await check({ana.id: 0, ben.id: 0})

    async def scan(registration: Registration, **kw):
        payload = await notices.ticket_payload(settings, registration)
        return await checkin.check_in(settings, SYSTEM, event_id=event.id, payload=payload, **kw)

    # Scanned today, then scanned again today (refused: nothing moves).
    today = await scan(ana)
    assert today.result == CheckinResult.OK
    await check({ana.id: 1, ben.id: 0})
    assert (await scan(ana)).result == CheckinResult.ALREADY_CHECKED_IN
    await check({ana.id: 1, ben.id: 0})

    # A tablet's offline scan of yesterday, synchronized: the second day.
    synced = await checkin.sync_scans(
        settings,
        SYSTEM,
        event.id,
        [
            {
                "payload": await notices.ticket_payload(settings, ana),
                "scanned_at": yesterday_noon(),
                "nonce": "hier-ana",
            }
        ],
    )
    assert [r["result"] for r in synced] == ["ok"]
    await check({ana.id: 2, ben.id: 0})

    # Undone (the organizer's correction), then scanned again: a new check-in.
    assert today.checkin is not None
    await checkin.undo_checkin(SYSTEM, today.checkin.id)
    await check({ana.id: 1, ben.id: 0})
    assert (await scan(ana)).result == CheckinResult.OK
    await check({ana.id: 2, ben.id: 0})

    # Plain statements, whoever writes them: undone and restored by a queryset update,
    # moved onto another registration (both recounted), deleted.
    yesterday = await CheckIn.get(
        registration_id=ana.id, active_key__not_isnull=True, day__lt=datetime.now(ZONE).date()
    )
    await CheckIn.filter(id=yesterday.id).update(active_key=None)
    await check({ana.id: 1, ben.id: 0})
    await CheckIn.filter(id=yesterday.id).update(active_key=f"{ana.id}:{yesterday.day}")
    await check({ana.id: 2, ben.id: 0})
    await CheckIn.filter(id=yesterday.id).update(
        registration_id=ben.id, active_key=f"{ben.id}:{yesterday.day}"
    )
    await check({ana.id: 1, ben.id: 1})
    await CheckIn.filter(id=yesterday.id).delete()
    await check({ana.id: 1, ben.id: 0})

    # A change of the other columns (the retention rule blanks the volunteer's name).
    await CheckIn.filter(registration_id=ana.id).update(volunteer="")
    await check({ana.id: 1, ben.id: 0})

    # The registration deleted: its check-ins go with it, the other is untouched.
    await Registration.filter(id=ana.id).delete()
    await check({ben.id: 0})


async def test_the_application_never_writes_the_column(settings):
    event = await two_day_event()
    created = (await service.register(event.id, person(1), settings=settings)).registration
    assert created.checked_in_days == 0  # read back from the database on insert
    loaded = await Registration.get(id=created.id)
    payload = await notices.ticket_payload(settings, created)
    outcome = await checkin.check_in(settings, SYSTEM, event_id=event.id, payload=payload)
    assert outcome.result == CheckinResult.OK
    # An object loaded before the check-in, saved whole: its stale 0 is not written back.
    loaded.answers = {"allergies": "aucune"}
    await loaded.save()
    assert (await Registration.get(id=created.id)).checked_in_days == 1
    with pytest.raises(OperationalError):
        await loaded.save(update_fields=["checked_in_days"])


async def test_days_follow_the_report_data_set(db):
    """Through the participation report's own data set (services and ORM): a multi-day
    event, an undone check-in, an erased person."""
    from tests.reports.dataset import build

    await build()
    expected = await from_scratch()
    assert sorted(expected.values()).count(2) == 1  # r21: both days of E2
    await check(expected)


async def test_two_transactions_checking_in_one_registration_at_once(settings):
    """PostgreSQL: the second transaction waits for the first (the registration's row
    lock) and counts its check-in; without the lock both would count 1."""
    if dialect() != "postgres":
        pytest.skip("SQLite has one writer at a time")
    event = await two_day_event()
    ana = (await service.register(event.id, person(1), settings=settings)).registration
    today = datetime.now(ZONE).date()
    first_in = asyncio.Event()

    async def one(day, hold: bool) -> None:
        async with in_transaction() as conn:
            await CheckIn.create(
                event_id=event.id,
                registration_id=ana.id,
                day=day,
                active_key=f"{ana.id}:{day}",
                checked_in_at=datetime.now(UTC),
                method="sync",
                using_db=conn,
            )
            if hold:
                first_in.set()
                await asyncio.sleep(0.3)

    async def second() -> None:
        await first_in.wait()
        await one(today - timedelta(days=1), hold=False)

    await asyncio.gather(one(today, hold=True), second())
    await check({ana.id: 2})
