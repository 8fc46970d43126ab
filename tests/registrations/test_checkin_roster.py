"""The tablet roster synced by cursor (registrations/roster.py): a full pull, then only the
rows changed since the cursor (check-ins, undos, cancellations, promotions, renames),
rows committed late within the overlap, tombstones, full pulls on a new day or a bad
cursor, and gzip over HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from core.auth import Principal
from core.models import Role
from people.models import Person
from registrations import checkin, devices, notices, roster, service
from registrations.models import CheckIn, Registration, RegistrationStatus
from tests.conftest import make_user
from tests.registrations.helpers import SYSTEM, person
from tests.registrations.test_checkin import _event

LONG_AGO = timedelta(minutes=10)


async def _age(*registrations: Registration) -> None:
    """Stamp these rows (and their people) as written long before the next pull, as if
    the roster had been pulled well after they changed."""
    past = datetime.now(UTC) - LONG_AGO
    ids = [r.id for r in registrations]
    await Registration.filter(id__in=ids).update(updated_at=past)
    await Person.filter(id__in=[r.person_id for r in registrations]).update(updated_at=past)
    await CheckIn.filter(registration_id__in=ids).update(changed_at=past)


async def _setup(settings, n: int = 5, **event_kw):
    event = await _event(**event_kw)
    regs = [
        (await service.register(event.id, person(i), settings=settings)).registration
        for i in range(n)
    ]
    await _age(*regs)
    return event, regs


def _by_id(body) -> dict[str, dict]:
    return {row["id"]: row for row in roster.rows_as_dicts(body)}


async def test_first_pull_is_full_then_only_changes(settings):
    event, regs = await _setup(settings)
    first = await roster.roster(settings, SYSTEM, event.id)
    assert first["full"] is True and first["cursor"].startswith("r1.")
    assert set(_by_id(first)) == {r.public_id for r in regs}
    assert first["fields"] == list(roster.ROW_FIELDS)
    assert _by_id(first)[regs[0].public_id]["name"] == "Prénom0 Nom0"
    assert first["clienteles"]["schools"]  # names of the codes in the rows

    quiet = await roster.roster(settings, SYSTEM, event.id, since=first["cursor"])
    assert quiet["full"] is False and quiet["rows"] == [] and quiet["removed"] == []
    assert quiet["counts"] == first["counts"]

    scanned = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, registration_id=regs[1].public_id, method="search"
    )
    await service.cancel(settings, regs[2].id, notify_person=False)
    await Person.filter(id=regs[3].person_id).update(first_name="Renommée")
    renamed = await Person.get(id=regs[3].person_id)
    await renamed.save()  # a real edit goes through save(): stamps updated_at

    delta = await roster.roster(settings, SYSTEM, event.id, since=quiet["cursor"])
    rows = _by_id(delta)
    assert delta["full"] is False
    assert set(rows) == {regs[1].public_id, regs[2].public_id, regs[3].public_id}
    assert rows[regs[1].public_id]["checked_in_at"] == event.local_iso(
        scanned.checkin.checked_in_at
    )
    assert rows[regs[2].public_id]["status"] == "cancelled"
    assert rows[regs[3].public_id]["name"] == "Renommée Nom3"
    assert delta["counts"]["present"] == 1 and delta["counts"]["registered"] == 4


async def test_undo_and_supersede_reach_the_delta(settings):
    event, regs = await _setup(settings, n=2)
    scanned = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, registration_id=regs[0].public_id, method="search"
    )
    await _age(*regs)
    base = await roster.roster(settings, SYSTEM, event.id)
    assert _by_id(base)[regs[0].public_id]["checked_in_at"] is not None

    await checkin.undo_checkin(SYSTEM, scanned.checkin.id)
    delta = await roster.roster(settings, SYSTEM, event.id, since=base["cursor"])
    assert _by_id(delta) == {
        regs[0].public_id: {**_by_id(base)[regs[0].public_id], "checked_in_at": None}
    }

    # A synced offline scan earlier than the standing check-in moves it back (a queryset
    # update): the new time reaches the tablets too.
    now = datetime.now(UTC)
    await checkin.check_in(
        settings, SYSTEM, event_id=event.id, registration_id=regs[1].public_id, method="search"
    )
    await _age(*regs)
    before = await roster.roster(settings, SYSTEM, event.id)
    payload = await notices.ticket_payload(settings, regs[1])
    await checkin.sync_scans(
        settings,
        SYSTEM,
        event.id,
        [{"payload": payload, "scanned_at": now - timedelta(minutes=2), "nonce": "early"}],
    )
    moved = await roster.roster(settings, SYSTEM, event.id, since=before["cursor"])
    assert list(_by_id(moved)) == [regs[1].public_id]
    assert _by_id(moved)[regs[1].public_id]["checked_in_at"] == event.local_iso(
        now - timedelta(minutes=2)
    )


async def test_waitlist_promotion_reaches_the_delta(settings):
    event = await _event(capacity=1, waitlist=True)
    first = (await service.register(event.id, person(1), settings=settings)).registration
    waiting = (await service.register(event.id, person(2), settings=settings)).registration
    assert waiting.status == RegistrationStatus.WAITLISTED
    await _age(first, waiting)
    base = await roster.roster(settings, SYSTEM, event.id)
    await service.cancel(settings, first.id, notify_person=False)  # promotes `waiting`
    rows = _by_id(await roster.roster(settings, SYSTEM, event.id, since=base["cursor"]))
    assert rows[waiting.public_id]["status"] == "confirmed"
    assert rows[first.public_id]["status"] == "cancelled"


async def test_a_row_committed_after_the_pull_within_the_overlap_is_not_lost(settings):
    """Rows become visible at commit, stamped before: a write stamped just before the
    cursor but committed after the pull comes in the next delta (the overlap); one
    stamped longer before than the overlap is the documented limit."""
    event, regs = await _setup(settings, n=3)
    base = await roster.roster(settings, SYSTEM, event.id)
    cursor = roster.Cursor.parse(base["cursor"])
    assert cursor is not None
    # Committed now, stamped (inside its transaction) 10 s before the pull started.
    await Registration.filter(id=regs[0].id).update(
        party_size=3, updated_at=cursor.at - timedelta(seconds=10)
    )
    await Registration.filter(id=regs[1].id).update(
        party_size=4, updated_at=cursor.at - roster.CURSOR_OVERLAP - timedelta(seconds=5)
    )
    rows = _by_id(await roster.roster(settings, SYSTEM, event.id, since=base["cursor"]))
    assert list(rows) == [regs[0].public_id]
    assert rows[regs[0].public_id]["party_size"] == 3


async def test_rows_leaving_the_roster_come_as_tombstones(settings, monkeypatch):
    event, regs = await _setup(settings, n=2)
    base = await roster.roster(settings, SYSTEM, event.id)
    # A status the door does not show (none of today's, e.g. a hold awaiting its e-mail).
    monkeypatch.setattr(
        roster,
        "ROSTER_STATUSES",
        tuple(s for s in roster.ROSTER_STATUSES if s != RegistrationStatus.DECLINED),
    )
    await service.decline(settings, SYSTEM, [regs[0].id])
    delta = await roster.roster(settings, SYSTEM, event.id, since=base["cursor"])
    assert delta["removed"] == [regs[0].public_id] and delta["rows"] == []
    full = await roster.roster(settings, SYSTEM, event.id)
    assert set(_by_id(full)) == {regs[1].public_id}


async def test_unusable_cursors_give_the_full_roster(settings):
    event, regs = await _setup(settings, n=2)
    base = await roster.roster(settings, SYSTEM, event.id)
    cursor = roster.Cursor.parse(base["cursor"])
    assert cursor is not None
    yesterday = roster.Cursor(cursor.day - timedelta(days=1), cursor.at).text()
    stale = roster.Cursor(cursor.day, cursor.at - roster.CURSOR_MAX_AGE - LONG_AGO).text()
    future = roster.Cursor(cursor.day, cursor.at + timedelta(hours=1)).text()
    for since in (yesterday, stale, future, "n'importe quoi", "r1.2027-13-01.5", "r1.x.y", ""):
        body = await roster.roster(settings, SYSTEM, event.id, since=since)
        assert body["full"] is True, since
        assert len(body["rows"]) == 2


async def test_roster_over_http_gzip_and_cursor(client, settings):
    event, regs = await _setup(settings, n=40)
    organizer = Principal.for_user(await make_user(Role.ORGANIZER))
    _device, raw = await devices.pair_device(organizer, event.id, "Tablette")
    headers = {"Authorization": f"Bearer {raw}", "Accept-Encoding": "gzip"}
    url = f"/api/v1/events/{event.id}/checkin/roster"
    response = await client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert response.headers["cache-control"] == "no-store"
    assert int(response.headers["content-length"]) < len(response.content)  # compressed
    body = response.json()
    assert len(body["rows"]) == 40 and body["full"] is True

    plain = await client.get(url, headers={**headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert len(json.loads(plain.content)["rows"]) == 40

    await checkin.check_in(
        settings, SYSTEM, event_id=event.id, registration_id=regs[7].public_id, method="search"
    )
    delta = await client.get(url, params={"since": body["cursor"]}, headers=headers)
    assert delta.status_code == 200
    data = delta.json()
    assert data["full"] is False and [row[0] for row in data["rows"]] == [regs[7].public_id]


async def test_counts_sum_every_present_party(settings):
    event = await _event(capacity=50)
    regs = [
        (await service.register(event.id, person(i, party_size=i), settings=settings)).registration
        for i in (1, 2, 3, 4)
    ]
    for reg in regs[:3]:
        await checkin.check_in(
            settings, SYSTEM, event_id=event.id, registration_id=reg.public_id, method="search"
        )
    body = await roster.roster(settings, SYSTEM, event.id)
    assert body["counts"] == {"present": 6, "present_registrations": 3, "registered": 10}
