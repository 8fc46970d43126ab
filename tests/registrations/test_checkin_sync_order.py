"""Offline sync in scan-time order across devices: the earliest scan wins.

A tablet that was offline may sync a scan made before the check-in another tablet
recorded online: the earlier scan takes the standing check-in's place (same row),
and what it replaced is reported back and audited. The Scan rows stay as answered.
"""

import asyncio
from datetime import UTC, datetime, timedelta

from core.auth import Principal
from core.models import AuditEntry, Role
from registrations import checkin, devices, service
from registrations.models import CheckIn, CheckinResult, Scan
from tests.conftest import make_user
from tests.registrations.helpers import SYSTEM, person
from tests.registrations.test_checkin import _event, _payload


async def _devices(event_id: int, *names: str) -> list[int]:
    organizer = Principal.for_user(await make_user(Role.ORGANIZER))
    return [(await devices.pair_device(organizer, event_id, name))[0].id for name in names]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_earlier_offline_scan_supersedes_online_checkin(settings):
    event = await _event()
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    payload = await _payload(settings, reg)
    tablet_a, tablet_b, tablet_c = await _devices(
        event.id, "Tablette A", "Tablette B", "Tablette C"
    )

    # Tablet B, online, scans the ticket ("09:05").
    online = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=payload, device_id=tablet_b, nonce="b-1"
    )
    assert online.result == CheckinResult.OK
    standing_id = online.checkin.id
    at_b = online.checkin.checked_in_at

    # Tablet A was offline and scanned it earlier ("09:00"); it syncs now.
    at_a = at_b - timedelta(minutes=5)
    batch_a = [{"payload": payload, "scanned_at": at_a, "nonce": "a-1"}]
    [synced] = await checkin.sync_scans(settings, SYSTEM, event.id, batch_a, device_id=tablet_a)
    assert synced["result"] == "ok"
    assert synced["checkin_id"] == standing_id
    assert _at(synced["checked_in_at"]) == at_a
    assert _at(synced["superseded"]["checked_in_at"]) == at_b
    assert synced["superseded"]["device"] == "Tablette B"

    # The same CheckIn row now says 09:00 by tablet A; still one for that day.
    rows = await CheckIn.filter(registration_id=reg.id)
    assert len(rows) == 1 and rows[0].id == standing_id
    assert rows[0].checked_in_at == at_a
    assert rows[0].device_id == tablet_a and rows[0].method == "sync"
    assert rows[0].active_key is not None

    # The door's answers are kept as given: B's scan stays ok at 09:05 by B.
    scan_b = await Scan.get(nonce=checkin.scan_key(event.id, tablet_b, "b-1"))
    assert scan_b.result == CheckinResult.OK and scan_b.device_id == tablet_b
    assert scan_b.scanned_at == at_b and scan_b.checkin_id == standing_id
    scan_a = await Scan.get(nonce=checkin.scan_key(event.id, tablet_a, "a-1"))
    assert scan_a.result == CheckinResult.OK and scan_a.device_id == tablet_a
    assert scan_a.scanned_at == at_a and scan_a.checkin_id == standing_id

    [entry] = await AuditEntry.filter(action="checkin.superseded")
    assert entry.target_id == str(standing_id)
    assert _at(entry.details["before"]["checked_in_at"]) == at_b
    assert entry.details["before"]["device"] == "Tablette B"
    assert _at(entry.details["after"]["checked_in_at"]) == at_a
    assert entry.details["after"]["device"] == "Tablette A"

    # Re-sending A's batch changes nothing.
    [again] = await checkin.sync_scans(settings, SYSTEM, event.id, batch_a, device_id=tablet_a)
    assert again["result"] == "ok" and again["replayed"] is True
    assert _at(again["checked_in_at"]) == at_a
    assert await Scan.all().count() == 2
    assert await AuditEntry.filter(action="checkin.superseded").count() == 1
    row = await CheckIn.get(id=standing_id)
    assert row.checked_in_at == at_a and row.device_id == tablet_a

    # A later sync from a third tablet ("09:10") is a duplicate of A's 09:00.
    batch_c = [{"payload": payload, "scanned_at": at_b + timedelta(minutes=1), "nonce": "c-1"}]
    [late] = await checkin.sync_scans(settings, SYSTEM, event.id, batch_c, device_id=tablet_c)
    assert late["result"] == "already_checked_in"
    assert _at(late["previous_checkin_at"]) == at_a
    assert late["previous_device"] == "Tablette A"
    assert "superseded" not in late
    assert await CheckIn.filter(registration_id=reg.id).count() == 1
    assert (await CheckIn.get(id=standing_id)).checked_in_at == at_a


async def test_online_scan_does_not_supersede(settings):
    """Only synced scans reorder: an online scan is a duplicate, whatever its `at`."""
    event = await _event()
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    payload = await _payload(settings, reg)
    first = await checkin.check_in(settings, SYSTEM, event_id=event.id, payload=payload)
    at = first.checkin.checked_in_at
    again = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=payload, at=at - timedelta(minutes=5)
    )
    assert again.result == CheckinResult.ALREADY_CHECKED_IN
    assert again.previous.checked_in_at == at
    assert (await CheckIn.get(id=first.checkin.id)).checked_in_at == at
    assert not await AuditEntry.filter(action="checkin.superseded").exists()


async def test_concurrent_earlier_syncs_keep_the_earliest(settings):
    event = await _event()
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    payload = await _payload(settings, reg)
    names = [f"Tablette {n}" for n in range(6)]
    devices = await _devices(event.id, *names)
    online = await checkin.check_in(settings, SYSTEM, event_id=event.id, payload=payload)
    at = online.checkin.checked_in_at
    times = [at - timedelta(minutes=n + 1) for n in range(6)]

    batches = await asyncio.gather(
        *(
            checkin.sync_scans(
                settings,
                SYSTEM,
                event.id,
                [{"payload": payload, "scanned_at": times[n], "nonce": f"d-{n}"}],
                device_id=devices[n],
            )
            for n in range(6)
        )
    )
    results = [batch[0] for batch in batches]
    assert {r["result"] for r in results} <= {"ok", "already_checked_in"}
    assert results[5]["result"] == "ok"  # the earliest scan always wins
    rows = await CheckIn.filter(registration_id=reg.id)
    assert len(rows) == 1 and rows[0].id == online.checkin.id
    assert rows[0].checked_in_at == times[5] and rows[0].device_id == devices[5]
    # Each ok replaced exactly what stood before it: a chain from the online check-in.
    winners = sorted(
        (r for r in results if r["result"] == "ok"), key=lambda r: r["checked_in_at"], reverse=True
    )
    replaced = [_at(r["superseded"]["checked_in_at"]) for r in winners]
    assert replaced == [at] + [_at(r["checked_in_at"]) for r in winners[:-1]]
    assert await AuditEntry.filter(action="checkin.superseded").count() == len(winners)
    # A duplicate's previous check-in was at or before its own scan.
    for n, r in enumerate(results):
        if r["result"] == "already_checked_in":
            assert _at(r["previous_checkin_at"]) <= times[n]
    assert await Scan.all().count() == 7


async def test_same_batch_sent_twice_at_once(settings):
    event = await _event()
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    payload = await _payload(settings, reg)
    [tablet] = await _devices(event.id, "Tablette A")
    online = await checkin.check_in(settings, SYSTEM, event_id=event.id, payload=payload)
    at = online.checkin.checked_in_at - timedelta(minutes=5)
    batch = [{"payload": payload, "scanned_at": at, "nonce": "a-1"}]
    first, second = await asyncio.gather(
        checkin.sync_scans(settings, SYSTEM, event.id, batch, device_id=tablet),
        checkin.sync_scans(settings, SYSTEM, event.id, batch, device_id=tablet),
    )
    assert first[0]["result"] == second[0]["result"] == "ok"
    assert await Scan.filter(nonce=checkin.scan_key(event.id, tablet, "a-1")).count() == 1
    assert await AuditEntry.filter(action="checkin.superseded").count() == 1
    assert (await CheckIn.get(id=online.checkin.id)).checked_in_at == at


async def test_batches_arriving_late_still_keep_scan_time_order(settings):
    """Two offline tablets overlapping on tickets: whichever syncs first, the earlier
    scans stand at the end, and the later ones are reported as duplicates."""
    event = await _event(capacity=50)
    regs = [
        (await service.register(event.id, person(n), settings=settings)).registration
        for n in range(8)
    ]
    payloads = [await _payload(settings, r) for r in regs]
    tablet_a, tablet_b = await _devices(event.id, "Tablette A", "Tablette B")
    base = datetime.now(UTC) - timedelta(minutes=10)
    early = [
        {"payload": payloads[i], "scanned_at": base + timedelta(seconds=i), "nonce": f"a-{i}"}
        for i in range(5)
    ]
    late = [
        {
            "payload": payloads[i],
            "scanned_at": base + timedelta(minutes=1, seconds=i),
            "nonce": f"b-{i}",
        }
        for i in range(3, 8)
    ]
    # The later tablet syncs first: all its scans are ok at that moment.
    first = await checkin.sync_scans(settings, SYSTEM, event.id, late, device_id=tablet_b)
    assert [r["result"] for r in first] == ["ok"] * 5
    second = await checkin.sync_scans(settings, SYSTEM, event.id, early, device_id=tablet_a)
    assert [r["result"] for r in second] == ["ok"] * 5
    assert ["superseded" in r for r in second] == [False, False, False, True, True]
    assert all(r["superseded"]["device"] == "Tablette B" for r in second[3:])
    rows = {c.registration_id: c for c in await CheckIn.all()}
    assert len(rows) == 8
    for i in range(5):
        assert rows[regs[i].id].checked_in_at == early[i]["scanned_at"]
        assert rows[regs[i].id].device_id == tablet_a
    # Re-sending B's batch replays the first answers and changes nothing.
    replay = await checkin.sync_scans(settings, SYSTEM, event.id, late, device_id=tablet_b)
    assert [r["result"] for r in replay] == ["ok"] * 5
    assert all(r["replayed"] for r in replay)
    assert (await CheckIn.get(registration_id=regs[3].id)).device_id == tablet_a
    assert await Scan.all().count() == 10
