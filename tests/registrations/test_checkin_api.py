"""Check-in over HTTP: device tokens scoped to one event, scans, sync, walk-ins, undo."""

from datetime import UTC, datetime, timedelta

from core.auth import Principal
from core.models import Role
from registrations import devices, notices, service
from registrations.models import CheckIn
from registrations.roster import rows_as_dicts
from tests.conftest import make_user
from tests.registrations.helpers import person
from tests.registrations.test_checkin import _event


async def _device(event_id: int) -> str:
    organizer = Principal.for_user(await make_user(Role.ORGANIZER))
    _device_row, raw = await devices.pair_device(organizer, event_id, "Tablette porte A")
    return raw


async def test_device_token_scoped_to_its_event(client, settings):
    a = await _event(title="A")
    b = await _event(title="B")
    token = {"Authorization": f"Bearer {await _device(a.id)}"}
    reg = (await service.register(a.id, person(1), settings=settings)).registration
    payload = await notices.ticket_payload(settings, reg)
    r = await client.post(
        "/api/v1/checkin", json={"event_id": b.id, "payload": payload}, headers=token
    )
    assert r.status_code == 403
    assert (
        await client.get(f"/api/v1/events/{b.id}/checkin/roster", headers=token)
    ).status_code == 403
    # A device token can do nothing but check in.
    assert (await client.get("/api/v1/people", headers=token)).status_code == 403
    assert (await client.post("/api/v1/events", json={}, headers=token)).status_code == 403
    r = await client.post(
        "/api/v1/checkin", json={"event_id": a.id, "payload": payload}, headers=token
    )
    assert r.status_code == 200
    body = r.json()
    assert body["result"] == "ok" and body["registration"]["name"] == "Prénom1 Nom1"
    r = await client.post(
        "/api/v1/checkin", json={"event_id": a.id, "payload": payload}, headers=token
    )
    assert r.json()["result"] == "already_checked_in"
    assert r.json()["previous_device"] == "Tablette porte A"
    roster = (await client.get(f"/api/v1/events/{a.id}/checkin/roster", headers=token)).json()
    assert roster["counts"]["present"] == 1 and roster["public_key"]
    live = (await client.get(f"/api/v1/events/{a.id}/checkin/live", headers=token)).json()
    assert live["recent"][0]["result"] == "already_checked_in"
    checkin_id = live["recent"][1]["checkin_id"]
    r = await client.post(f"/api/v1/checkin/{checkin_id}/undo", headers=token)
    assert r.status_code == 200
    assert not await CheckIn.filter(active_key__isnull=False).exists()


async def test_search_walkin_and_sync(client, settings):
    event = await _event(capacity=10)
    token = {"Authorization": f"Bearer {await _device(event.id)}"}
    reg = (
        await service.register(event.id, person(1, last_name="Tremblay"), settings=settings)
    ).registration
    found = (
        await client.get(f"/api/v1/events/{event.id}/checkin/search?q=tremb", headers=token)
    ).json()["items"]
    assert [f["id"] for f in found] == [reg.public_id]
    by_code = (
        await client.get(
            f"/api/v1/events/{event.id}/checkin/search?q={reg.ticket_code[:5].lower()}",
            headers=token,
        )
    ).json()["items"]
    assert by_code and by_code[0]["id"] == reg.public_id
    r = await client.post(
        "/api/v1/checkin",
        json={"event_id": event.id, "registration_id": reg.public_id},
        headers=token,
    )
    assert r.json()["result"] == "ok"
    r = await client.post(
        f"/api/v1/events/{event.id}/walkins",
        headers=token,
        json={
            "first_name": "Marie",
            "last_name": "Sur-Place",
            "clientele": "family",
            "party_size": 3,
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["result"] == "ok" and r.json()["registration"]["party_size"] == 3
    r = await client.post(
        f"/api/v1/events/{event.id}/walkins",
        headers=token,
        json={"first_name": "", "last_name": "X", "clientele": "martiens"},
    )
    assert r.status_code == 422
    other = (await service.register(event.id, person(2), settings=settings)).registration
    payload = await notices.ticket_payload(settings, other)
    scans = [
        {
            "payload": payload,
            "scanned_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "nonce": "n-1",
        },
        {"payload": "RSB1:ABC", "scanned_at": datetime.now(UTC).isoformat(), "nonce": "n-2"},
    ]
    r = await client.post(
        "/api/v1/checkin/sync", json={"event_id": event.id, "scans": scans}, headers=token
    )
    assert [x["result"] for x in r.json()["results"]] == ["ok", "invalid"]
    r = await client.post(
        "/api/v1/checkin/sync", json={"event_id": event.id, "scans": scans}, headers=token
    )
    assert [x["result"] for x in r.json()["results"]] == ["ok", "invalid"]
    assert await CheckIn.filter(active_key__isnull=False).count() == 3


async def test_anonymous_and_bad_input(client):
    event = await _event()
    assert (
        await client.post("/api/v1/checkin", json={"event_id": event.id, "payload": "x"})
    ).status_code == 401
    token = {"Authorization": f"Bearer {await _device(event.id)}"}
    r = await client.post("/api/v1/checkin", json={"event_id": event.id}, headers=token)
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/checkin", content=b"{", headers=token | {"content-type": "application/json"}
    )
    assert r.status_code == 400
    r = await client.post(
        "/api/v1/checkin/sync",
        json={"event_id": event.id, "scans": [{"payload": "x"}]},
        headers=token,
    )
    assert r.status_code == 422


async def test_walkin_retry_with_nonce_registers_once(client, settings):
    from registrations.models import Registration

    event = await _event(capacity=10)
    token = {"Authorization": f"Bearer {await _device(event.id)}"}
    body = {
        "first_name": "Léa",
        "last_name": "Sans-Courriel",
        "clientele": "youth",
        "nonce": "walkin-1",
    }
    first = await client.post(f"/api/v1/events/{event.id}/walkins", headers=token, json=body)
    again = await client.post(f"/api/v1/events/{event.id}/walkins", headers=token, json=body)
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["registration"]["id"] == again.json()["registration"]["id"]
    assert await Registration.filter(event_id=event.id).count() == 1


async def test_live_marks_undone_checkins(client, settings):
    event = await _event()
    token = {"Authorization": f"Bearer {await _device(event.id)}"}
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    r = await client.post(
        "/api/v1/checkin",
        headers=token,
        json={"event_id": event.id, "registration_id": reg.public_id},
    )
    duplicate = await client.post(
        "/api/v1/checkin",
        headers=token,
        json={"event_id": event.id, "registration_id": reg.public_id},
    )
    assert duplicate.json()["result"] == "already_checked_in"
    await client.post(f"/api/v1/checkin/{r.json()['checkin_id']}/undo", headers=token)
    live = (await client.get(f"/api/v1/events/{event.id}/checkin/live", headers=token)).json()
    by_result = {item["result"]: item for item in live["recent"]}
    assert by_result["ok"]["undone"] is True and by_result["ok"]["checkin_id"] is None
    # The duplicate scan points at the same check-in but is not the one undone.
    assert by_result["already_checked_in"]["undone"] is False


async def test_checkin_answers_give_datetimes_with_the_events_offset(client, settings):
    """One API convention: datetimes carry the event's local offset, not UTC."""
    from datetime import datetime as _dt
    from zoneinfo import ZoneInfo

    event = await _event()
    token = {"Authorization": f"Bearer {await _device(event.id)}"}
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    payload = await notices.ticket_payload(settings, reg)
    offset = _dt.now(ZoneInfo(event.timezone)).isoformat()[-6:]  # e.g. "-05:00"
    assert offset != "+00:00"
    first = await client.post(
        "/api/v1/checkin", json={"event_id": event.id, "payload": payload}, headers=token
    )
    assert first.json()["checked_in_at"].endswith(offset)
    again = await client.post(
        "/api/v1/checkin", json={"event_id": event.id, "payload": payload}, headers=token
    )
    assert again.json()["previous_checkin_at"].endswith(offset)
    roster = (await client.get(f"/api/v1/events/{event.id}/checkin/roster", headers=token)).json()
    assert roster["event"]["starts_at"][-6:] in {"-05:00", "-04:00"}
    (entry,) = [r for r in rows_as_dicts(roster) if r["checked_in_at"]]
    assert entry["checked_in_at"].endswith(offset)
