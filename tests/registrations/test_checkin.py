"""The door decision: every result code from a real scenario, concurrency, offline sync."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from core.auth import Principal
from core.errors import Forbidden
from registrations import capacity, checkin, devices, notices, service, tickets, walkins
from registrations import roster as roster_service
from registrations.models import CheckIn, CheckinResult, Registration, Scan
from tests.conftest import make_user
from tests.registrations.helpers import SYSTEM, person, published_event


def _soon(hours: float = 0.5) -> tuple[str, str]:
    """An event starting in `hours` hours, lasting 3 hours (local time strings, in an
    event's default time zone)."""
    from zoneinfo import ZoneInfo

    from events.schemas import EventIn

    start = datetime.now(ZoneInfo(EventIn.model_fields["timezone"].default)) + timedelta(
        hours=hours
    )
    return start.strftime("%Y-%m-%dT%H:%M"), (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")


async def _event(**kw):
    start, end = _soon()
    return await published_event(starts_at=start, ends_at=end, **kw)


async def _payload(settings, registration: Registration) -> str:
    return await notices.ticket_payload(settings, registration)


async def test_every_result_code(settings):
    event = await _event(capacity=1, waitlist=True)
    other = await _event(title="Autre événement")
    ok = (await service.register(event.id, person(1), settings=settings)).registration
    waiting = (await service.register(event.id, person(2), settings=settings)).registration
    elsewhere = (await service.register(other.id, person(3), settings=settings)).registration
    gone = (await service.register(other.id, person(4), settings=settings)).registration

    async def scan(reg, ev=event, **kw):
        return await checkin.check_in(
            settings, SYSTEM, event_id=ev.id, payload=await _payload(settings, reg), **kw
        )

    first = await scan(ok)
    assert first.result == CheckinResult.OK and first.checkin is not None
    again = await scan(ok)
    assert again.result == CheckinResult.ALREADY_CHECKED_IN
    assert again.previous.checked_in_at == first.checkin.checked_in_at
    assert (await scan(waiting)).result == CheckinResult.WAITLISTED
    wrong = await scan(elsewhere)
    assert wrong.result == CheckinResult.WRONG_EVENT
    assert wrong.as_dict()["right_event"]["title"] == "Autre événement"
    await service.cancel(settings, gone.id)
    assert (await scan(gone, ev=other)).result == CheckinResult.CANCELLED
    approval = await _event(requires_approval=True)
    pending = (await service.register(approval.id, person(5), settings=settings)).registration
    assert (await scan(pending, ev=approval)).result == CheckinResult.UNAPPROVED
    start, end = _soon(hours=-5)  # over two hours ago
    past = await published_event(starts_at=start, ends_at=end)
    from registrations.models import RegistrationSource

    latecomer = (
        await service.register(
            past.id,
            person(6),
            settings=settings,
            source=RegistrationSource.BACKOFFICE,
            actor=SYSTEM,
        )
    ).registration
    late = await scan(latecomer, ev=past)
    assert late.result == CheckinResult.OUTSIDE_WINDOW
    early = await scan(elsewhere, ev=other, at=datetime.now(UTC) - timedelta(hours=3))
    assert early.result == CheckinResult.OUTSIDE_WINDOW
    garbage = await checkin.check_in(settings, SYSTEM, event_id=event.id, payload="bonjour")
    assert garbage.result == CheckinResult.INVALID
    # Every scan is recorded, failed or not.
    assert await Scan.all().count() == 9
    assert len(garbage.as_dict()["message"]) > 0


async def test_forged_payload_is_invalid(settings):
    event = await _event()
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    payload = await _payload(settings, reg)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for position in (len(tickets.PREFIX) + 3, len(payload) // 2, len(payload) - 2):
        ch = payload[position]
        forged = (
            payload[:position] + alphabet[(alphabet.index(ch) + 1) % 32] + payload[position + 1 :]
        )
        outcome = await checkin.check_in(settings, SYSTEM, event_id=event.id, payload=forged)
        assert outcome.result in (CheckinResult.INVALID, CheckinResult.WRONG_EVENT)
        assert outcome.result == CheckinResult.INVALID or outcome.registration is None
    # A validly formed payload signed with another key.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    rogue = tickets.Signer(Ed25519PrivateKey.generate(), "")
    outcome = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=rogue.sign(event.id, reg.public_id)
    )
    assert outcome.result == CheckinResult.INVALID
    assert not await CheckIn.exists()


async def test_twenty_concurrent_scans_one_ok(settings):
    event = await _event()
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    payload = await _payload(settings, reg)
    outcomes = await asyncio.gather(
        *(checkin.check_in(settings, SYSTEM, event_id=event.id, payload=payload) for _ in range(20))
    )
    results = [o.result for o in outcomes]
    assert results.count(CheckinResult.OK) == 1
    assert results.count(CheckinResult.ALREADY_CHECKED_IN) == 19
    assert await CheckIn.filter(registration_id=reg.id).count() == 1


async def test_nonce_makes_retry_idempotent_and_undo(settings):
    event = await _event()
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    payload = await _payload(settings, reg)
    nonce = str(uuid.uuid4())
    first = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=payload, nonce=nonce
    )
    retry = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=payload, nonce=nonce
    )
    assert first.result == retry.result == CheckinResult.OK
    assert await Scan.filter(nonce=checkin.scan_key(event.id, None, nonce)).count() == 1
    await checkin.undo_checkin(SYSTEM, first.checkin.id)
    again = await checkin.check_in(settings, SYSTEM, event_id=event.id, payload=payload)
    assert again.result == CheckinResult.OK


async def test_checkin_role_and_scoped_device(settings):
    from core.models import Role

    event = await _event()
    other = await _event(title="Autre")
    volunteer = Principal.for_user(await make_user(Role.CHECKIN))
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    outcome = await checkin.check_in(
        settings, volunteer, event_id=event.id, registration_id=reg.public_id, method="search"
    )
    assert outcome.result == CheckinResult.OK
    organizer = Principal.for_user(await make_user(Role.ORGANIZER))
    device, raw = await devices.pair_device(organizer, event.id, "Tablette 1")
    from core.auth import principal_from_token

    tablet = await principal_from_token(raw)
    assert tablet.can("checkin.scan", event_id=event.id)
    with pytest.raises(Forbidden):
        await roster_service.roster(settings, tablet, other.id)
    roster = await roster_service.roster(settings, tablet, event.id)
    assert roster["counts"] == {"present": 1, "present_registrations": 1, "registered": 1}
    assert roster_service.rows_as_dicts(roster)[0]["checked_in_at"] is not None
    await devices.revoke_device(organizer, device.id)
    assert await principal_from_token(raw) is None


async def test_sync_two_devices_overlapping(settings):
    event = await _event(capacity=500)
    regs = [
        (await service.register(event.id, person(n), settings=settings)).registration
        for n in range(170)
    ]
    payloads = [await _payload(settings, r) for r in regs]
    base = datetime.now(UTC)
    device_a = [
        {"payload": payloads[i], "scanned_at": base + timedelta(seconds=i), "nonce": f"a-{i}"}
        for i in range(100)
    ]
    device_b = [
        {
            "payload": payloads[i],
            "scanned_at": base + timedelta(seconds=i, milliseconds=500),
            "nonce": f"b-{i}",
        }
        for i in range(70, 170)
    ]
    results_a = await checkin.sync_scans(settings, SYSTEM, event.id, device_a)
    results_b = await checkin.sync_scans(settings, SYSTEM, event.id, device_b)
    all_results = [r["result"] for r in results_a + results_b]
    assert all_results.count("ok") == 170
    assert all_results.count("already_checked_in") == 30
    duplicates = [r for r in results_b if r["result"] == "already_checked_in"]
    assert all("previous_checkin_at" in r for r in duplicates)
    # Re-sending the same batches changes nothing.
    again = await checkin.sync_scans(settings, SYSTEM, event.id, device_a + device_b)
    assert sorted(r["result"] for r in again) == sorted(all_results)
    assert await CheckIn.all().count() == 170
    assert await Scan.all().count() == 200


async def test_walk_in_over_capacity_only_when_allowed(settings):
    from registrations.schemas import RegistrationIn

    full = await _event(capacity=1)
    await service.register(full.id, person(1), settings=settings)
    walkin = RegistrationIn.model_validate(
        {
            "first_name": "Sur",
            "last_name": "Place",
            "email": "surplace@exemple.qc.ca",
            "clientele": "family",
        }
    )
    with pytest.raises(capacity.EventFull):
        await walkins.walk_in(settings, SYSTEM, full.id, walkin)
    allowed = await _event(capacity=1)
    from events.models import Event

    await Event.filter(id=allowed.id).update(allow_walkins_over_capacity=True)
    await service.register(allowed.id, person(1), settings=settings)
    outcome = await walkins.walk_in(settings, SYSTEM, allowed.id, walkin)
    assert outcome.result == CheckinResult.OK


async def test_nonce_replays_failed_scans_and_outlives_an_undo(settings):
    """Retries are answered from the unique nonce (no look-up before the decision)."""
    event = await _event()
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    bad = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload="RSB1:AAAA", nonce="n-bad"
    )
    again = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload="RSB1:AAAA", nonce="n-bad"
    )
    assert bad.result == again.result == CheckinResult.INVALID
    assert again.extra.get("replayed") is True
    assert await Scan.filter(nonce=checkin.scan_key(event.id, None, "n-bad")).count() == 1
    payload = await _payload(settings, reg)
    first = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=payload, nonce="n-ok"
    )
    await checkin.undo_checkin(SYSTEM, first.checkin.id)
    retry = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=payload, nonce="n-ok"
    )
    assert retry.result == CheckinResult.OK and retry.extra.get("replayed") is True
    assert retry.checkin.id == first.checkin.id
    # The retry did not check the person in again (its insert was rolled back).
    assert await CheckIn.filter(registration_id=reg.id).count() == 1
    assert not await CheckIn.filter(active_key__isnull=False).exists()


async def test_event_changes_reach_the_door_at_once(settings):
    """The door keeps the event in memory a few seconds; a save in this process drops it."""
    event = await _event()
    first = (await service.register(event.id, person(1), settings=settings)).registration
    second = (await service.register(event.id, person(2), settings=settings)).registration
    ok = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=await _payload(settings, first)
    )
    assert ok.result == CheckinResult.OK
    event.starts_at = datetime.now(UTC) + timedelta(hours=5)
    event.ends_at = event.starts_at + timedelta(hours=2)
    await event.save()
    late = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=await _payload(settings, second)
    )
    assert late.result == CheckinResult.OUTSIDE_WINDOW


async def test_wrong_event_answer_names_the_event_only(settings):
    """Issue 13: another event's ticket or registration tells the door which event it is
    for, never who it is (no name, organization, clientele or ticket code), even replayed."""
    event = await _event()
    other = await _event(title="Événement B")
    elsewhere = (
        await service.register(
            other.id, person(7, organization="Organisme secret"), settings=settings
        )
    ).registration
    payload = await _payload(settings, elsewhere)
    by_ticket = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=payload, nonce="w-1"
    )
    by_search = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, registration_id=elsewhere.public_id
    )
    replayed = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, payload=payload, nonce="w-1"
    )
    assert replayed.extra.get("replayed") is True
    for outcome in (by_ticket, by_search, replayed):
        body = outcome.as_dict()
        assert body["result"] == "wrong_event"
        assert "registration" not in body
        assert body["right_event"]["id"] == other.id
        assert body["right_event"]["title"] == "Événement B"
        text = str(body)
        for secret in ("Prénom7", "Nom7", "Organisme secret", elsewhere.ticket_code, "schools"):
            assert secret not in text
    # The scans of this door keep no link to the other event's registration.
    assert not await Scan.filter(event_id=event.id, registration_id=elsewhere.id).exists()


async def test_nonce_is_scoped_to_the_event(settings):
    """Issue 13: a nonce first used at event B's door and replayed at event A's is a new
    scan at A (A's own decision), not B's stored answer."""
    event_a = await _event(title="A")
    event_b = await _event(title="B")
    reg_b = (await service.register(event_b.id, person(1), settings=settings)).registration
    reg_a = (await service.register(event_a.id, person(2), settings=settings)).registration
    at_b = await checkin.check_in(
        settings, SYSTEM, event_id=event_b.id, payload=await _payload(settings, reg_b), nonce="n-1"
    )
    assert at_b.result == CheckinResult.OK
    at_a = await checkin.check_in(
        settings, SYSTEM, event_id=event_a.id, payload=await _payload(settings, reg_a), nonce="n-1"
    )
    assert at_a.result == CheckinResult.OK and not at_a.extra.get("replayed")
    assert at_a.registration.id == reg_a.id
    assert await CheckIn.filter(registration_id=reg_a.id).count() == 1
    # The same nonce at A again is a retry there: A's first answer, replayed.
    again = await checkin.check_in(
        settings, SYSTEM, event_id=event_a.id, payload=await _payload(settings, reg_a), nonce="n-1"
    )
    assert again.result == CheckinResult.OK and again.extra.get("replayed") is True
    assert again.checkin.id == at_a.checkin.id
    assert await Scan.filter(nonce=checkin.scan_key(event_a.id, None, "n-1")).count() == 1
    # A long nonce still fits the column (hashed) and still replays.
    long_nonce = "x" * 64
    first = await checkin.check_in(
        settings, SYSTEM, event_id=event_a.id, registration_id=reg_b.public_id, nonce=long_nonce
    )
    second = await checkin.check_in(
        settings, SYSTEM, event_id=event_a.id, registration_id=reg_b.public_id, nonce=long_nonce
    )
    assert first.result == second.result == CheckinResult.WRONG_EVENT
    assert second.extra.get("replayed") is True
    assert len(checkin.scan_key(event_a.id, 12345, long_nonce)) <= 64
