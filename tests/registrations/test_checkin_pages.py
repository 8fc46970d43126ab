"""Back-office check-in page: access, pairing a tablet (link shown once), revocation, undo,
CSV export, CSRF."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from core.auth import Principal
from core.models import AuditEntry, Role
from registrations import checkin, devices, notices, service
from registrations.models import CheckIn, CheckinDevice, CheckinResult, Scan
from tests.conftest import csrf_from, login
from tests.registrations.helpers import SYSTEM, person
from tests.registrations.test_checkin import _event

LINK = re.compile(r"http://testserver/checkin/(\d+)#token=([A-Za-z0-9_\-.~]+)")


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Ids restart after each test's truncation: forget the in-process device cache.
    devices.forget_cached_devices()
    yield
    devices.forget_cached_devices()


async def _csrf(client, event_id: int) -> str:
    page = await client.get(f"/admin/events/{event_id}/checkin")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def _pair(client, event_id: int, name: str = "Tablette porte A", hours: str = "24"):
    token = await _csrf(client, event_id)
    return await client.post(
        f"/admin/events/{event_id}/checkin/devices",
        data={"csrf_token": token, "name": name, "hours": hours},
    )


async def test_access_rules(client, app):
    event = await _event()
    url = f"/admin/events/{event.id}/checkin"
    anonymous = await client.get(url)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    assert (await client.get(url + "/export.csv")).status_code == 303

    await login(client, Role.CHECKIN)
    assert (await client.get(url)).status_code == 403
    assert (await client.get(url + "/export.csv")).status_code == 403
    # ... while the tablet app's API is open to a `checkin` user's session.
    roster = await client.get(f"/api/v1/events/{event.id}/checkin/roster")
    assert roster.status_code == 200

    import httpx

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await login(other, Role.ORGANIZER)
        page = await other.get(url)
        assert page.status_code == 200
        assert f'href="/checkin/{event.id}"' in page.text
        assert "Nouvel appareil" in page.text
        assert (await other.get("/admin/events/999999/checkin")).status_code == 404


async def test_pairing_shows_link_once_and_token_is_scoped(client, settings):
    event = await _event()
    other_event = await _event(title="Autre événement")
    await login(client, Role.ORGANIZER)
    response = await _pair(client, event.id, hours="")
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    match = LINK.search(response.text)
    assert match and int(match.group(1)) == event.id
    raw = match.group(2)
    assert 'src="data:image/png;base64,' in response.text
    device = await CheckinDevice.get(event_id=event.id)
    assert device.name == "Tablette porte A"
    assert device.last_seen_at is None
    hours = (device.expires_at - datetime.now(UTC)) / timedelta(hours=1)
    assert 23.9 < hours <= 24  # the default validity
    assert await AuditEntry.filter(action="checkin.device_paired").exists()

    page = await client.get(f"/admin/events/{event.id}/checkin")
    assert raw not in page.text and "#token=" not in page.text
    assert "Tablette porte A" in page.text

    registration = (await service.register(event.id, person(1), settings=settings)).registration
    payload = await notices.ticket_payload(settings, registration)
    bearer = {"Authorization": f"Bearer {raw}"}
    ok = await client.post(
        "/api/v1/checkin", json={"event_id": event.id, "payload": payload}, headers=bearer
    )
    assert ok.status_code == 200 and ok.json()["result"] == "ok"
    refused = await client.post(
        "/api/v1/checkin",
        json={"event_id": other_event.id, "payload": payload},
        headers=bearer,
    )
    assert refused.status_code == 403
    await device.refresh_from_db()
    assert device.last_seen_at is not None  # recorded when the device calls the API
    checkin_row = await CheckIn.get(registration_id=registration.id)
    assert checkin_row.device_id == device.id

    page = await client.get(f"/admin/events/{event.id}/checkin")
    assert 'id="count-present">1<' in page.text
    assert "Prénom1 Nom1" in page.text


async def test_pairing_validation(client):
    event = await _event()
    await login(client, Role.ORGANIZER)
    for hours in ("0", "abc", "10000"):
        response = await _pair(client, event.id, hours=hours)
        assert response.status_code == 422, hours
        assert "#token=" not in response.text
    assert not await CheckinDevice.exists()
    response = await _pair(client, event.id, name="", hours="2")
    assert response.status_code == 201
    device = await CheckinDevice.get()
    assert device.name.startswith("Tablette")
    assert (device.expires_at - datetime.now(UTC)) <= timedelta(hours=2)


async def test_revoke_device(client, settings):
    event = await _event()
    await login(client, Role.ORGANIZER)
    raw = LINK.search((await _pair(client, event.id)).text).group(2)
    bearer = {"Authorization": f"Bearer {raw}"}
    roster = f"/api/v1/events/{event.id}/checkin/roster"
    assert (await client.get(roster, headers=bearer)).status_code == 200
    device = await CheckinDevice.get()
    assert device.last_seen_at is not None  # polling the roster counts as being seen
    page = await client.get(f"/admin/events/{event.id}/checkin")
    assert "jamais" not in page.text
    token = await _csrf(client, event.id)
    response = await client.post(
        f"/admin/events/{event.id}/checkin/devices/{device.id}/revoke",
        data={"csrf_token": token},
    )
    assert response.status_code == 303
    assert (await client.get(roster, headers=bearer)).status_code == 401
    await device.refresh_from_db()
    assert device.revoked_at is not None
    page = await client.get(f"/admin/events/{event.id}/checkin")
    assert "Révoqué le" in page.text
    assert f"/devices/{device.id}/revoke" not in page.text
    assert await AuditEntry.filter(action="checkin.device_revoked").exists()
    # A device of another event cannot be revoked from this page.
    other = await _event(title="Autre")
    response = await client.post(
        f"/admin/events/{other.id}/checkin/devices/{device.id}/revoke",
        data={"csrf_token": token},
    )
    assert response.status_code == 404


async def test_undo_through_the_page(client, settings):
    event = await _event()
    other = await _event(title="Autre")
    registration = (await service.register(event.id, person(1), settings=settings)).registration
    outcome = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, registration_id=registration.public_id
    )
    assert outcome.result == CheckinResult.OK
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/events/{event.id}/checkin")
    undo_url = f"/admin/events/{event.id}/checkin/checkins/{outcome.checkin.id}/undo"
    assert undo_url in page.text
    token = csrf_from(page.text)
    wrong = await client.post(
        f"/admin/events/{other.id}/checkin/checkins/{outcome.checkin.id}/undo",
        data={"csrf_token": token},
    )
    assert wrong.status_code == 404
    response = await client.post(undo_url, data={"csrf_token": token, "page": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/events/{event.id}/checkin"
    row = await CheckIn.get(id=outcome.checkin.id)
    assert row.undone_at is not None and row.active_key is None
    entry = await AuditEntry.get(action="checkin.undone")
    assert entry.target_id == str(row.id)
    page = await client.get(f"/admin/events/{event.id}/checkin")
    assert "Accueil annulé" in page.text and "Annulé le" in page.text
    assert undo_url not in page.text
    assert 'id="count-present">0<' in page.text
    again = await client.post(undo_url, data={"csrf_token": token})
    assert again.status_code == 303  # already undone: a message, nothing changes
    # The person can be checked in again.
    outcome = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, registration_id=registration.public_id
    )
    assert outcome.result == CheckinResult.OK


async def test_recent_scans_are_paginated(client, settings):
    event = await _event()
    for n in range(55):
        await checkin.check_in(settings, SYSTEM, event_id=event.id, payload=f"RSB1:BAD{n}")
    await login(client, Role.ORGANIZER)
    first = await client.get(f"/admin/events/{event.id}/checkin")
    assert first.text.count('data-result="invalid"') == 50
    assert f'href="/admin/events/{event.id}/checkin?page=2"' in first.text
    second = await client.get(f"/admin/events/{event.id}/checkin?page=2")
    assert second.text.count('data-result="invalid"') == 5
    assert (await client.get(f"/admin/events/{event.id}/checkin?page=x")).status_code == 200
    assert await Scan.filter(event_id=event.id).count() == 55


async def test_csv_export(client, settings):
    event = await _event()
    first = (await service.register(event.id, person(1), settings=settings)).registration
    tricky = (
        await service.register(event.id, person(2, last_name="=HYPERLINK(1)"), settings=settings)
    ).registration
    for registration in (first, tricky):
        await checkin.check_in(
            settings, SYSTEM, event_id=event.id, registration_id=registration.public_id
        )
    await login(client, Role.ORGANIZER)
    response = await client.get(f"/admin/events/{event.id}/checkin/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Jour", "Heure d'accueil", "Nom"]
    assert len(rows) == 3
    names = {row[2] for row in rows[1:]}
    assert names == {"Nom1", "'=HYPERLINK(1)"}
    assert {row[8] for row in rows[1:]} == {first.ticket_code, tricky.ticket_code}
    assert await AuditEntry.filter(action="checkin.exported").exists()


async def test_csrf_is_required(client, settings):
    event = await _event()
    registration = (await service.register(event.id, person(1), settings=settings)).registration
    outcome = await checkin.check_in(
        settings, SYSTEM, event_id=event.id, registration_id=registration.public_id
    )
    user = await login(client, Role.ORGANIZER)
    device, _raw = await devices.pair_device(Principal.for_user(user), event.id, "Tablette")
    client.headers.pop("x-csrf-token", None)  # the login helper adds it for JSON calls
    base = f"/admin/events/{event.id}/checkin"
    for url, data in (
        (base + "/devices", {"name": "Pirate", "hours": "24"}),
        (base + f"/devices/{device.id}/revoke", {"page": "1"}),
        (base + f"/checkins/{outcome.checkin.id}/undo", {"page": "1"}),
    ):
        response = await client.post(url, data=data)
        assert response.status_code == 403, url
        response = await client.post(url, data={**data, "csrf_token": "faux"})
        assert response.status_code == 403, url
    assert await CheckinDevice.filter(event_id=event.id).count() == 1
    await device.refresh_from_db()
    assert device.revoked_at is None
    assert (await CheckIn.get(id=outcome.checkin.id)).undone_at is None
