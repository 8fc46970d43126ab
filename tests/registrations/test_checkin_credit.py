"""Who gets the credit for a scan: the device that made it (an offline scan keeps its
device through a revocation and a new pairing), the volunteer's name typed on the
tablet, and the device of a walk-in."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from core.auth import Principal
from core.models import Role
from registrations import devices, notices, service
from registrations.checkin import scan_key
from registrations.models import CheckIn, Scan
from tests.conftest import login, make_user
from tests.registrations.helpers import person
from tests.registrations.test_checkin import _event


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Ids restart after each test's truncation: forget the in-process device cache.
    devices.forget_cached_devices()
    yield
    devices.forget_cached_devices()


async def _organizer() -> Principal:
    return Principal.for_user(await make_user(Role.ORGANIZER, "orga-credit@exemple.qc.ca"))


async def test_queued_scan_keeps_its_device_through_revocation_and_new_pairing(client, settings):
    event = await _event()
    other = await _event(title="Autre événement")
    organizer = await _organizer()
    tablet_b, raw_b = await devices.pair_device(organizer, event.id, "Tablette B")
    elsewhere, _raw = await devices.pair_device(organizer, other.id, "Tablette d'ailleurs")
    regs = [
        (await service.register(event.id, person(n), settings=settings)).registration
        for n in (1, 2, 3)
    ]
    payloads = [await notices.ticket_payload(settings, r) for r in regs]

    # The tablet learns which device it is from its roster (recorded in its queue).
    roster = (
        await client.get(
            f"/api/v1/events/{event.id}/checkin/roster",
            headers={"Authorization": f"Bearer {raw_b}"},
        )
    ).json()
    assert roster["device"] == {"id": tablet_b.id, "name": "Tablette B"}

    # Offline, tablet B scans; then it is revoked and paired again (a new link).
    scanned_at = (datetime.now(UTC) - timedelta(minutes=3)).isoformat()
    await devices.revoke_device(organizer, tablet_b.id)
    tablet_b2, raw_b2 = await devices.pair_device(organizer, event.id, "Tablette B2")
    new_token = {"Authorization": f"Bearer {raw_b2}"}
    scans = [
        {
            "payload": payloads[0],
            "scanned_at": scanned_at,
            "nonce": "queued-1",
            "device_id": tablet_b.id,
            "volunteer": "Julie",
        },
        # A device of another event, or none that exists: never trusted.
        {
            "payload": payloads[1],
            "scanned_at": scanned_at,
            "nonce": "queued-2",
            "device_id": elsewhere.id,
        },
        {
            "payload": payloads[2],
            "scanned_at": scanned_at,
            "nonce": "queued-3",
            "device_id": 999_999,
        },
    ]
    response = await client.post(
        "/api/v1/checkin/sync", json={"event_id": event.id, "scans": scans}, headers=new_token
    )
    assert response.status_code == 200, response.text
    assert [r["result"] for r in response.json()["results"]] == ["ok", "ok", "ok"]

    first = await CheckIn.get(registration_id=regs[0].id)
    assert first.device_id == tablet_b.id and first.volunteer == "Julie"
    scan = await Scan.get(nonce=scan_key(event.id, tablet_b.id, "queued-1"))
    assert scan.device_id == tablet_b.id and scan.volunteer == "Julie"
    for registration in regs[1:]:
        row = await CheckIn.get(registration_id=registration.id)
        assert row.device_id == tablet_b2.id  # the syncing device, not the claimed one
    assert not await Scan.filter(device_id=elsewhere.id).exists()

    live = (await client.get(f"/api/v1/events/{event.id}/checkin/live", headers=new_token)).json()
    by_name = {item["name"]: item for item in live["recent"]}
    assert by_name["Prénom1 Nom1"]["device"] == "Tablette B"
    assert by_name["Prénom1 Nom1"]["volunteer"] == "Julie"
    assert by_name["Prénom2 Nom2"]["device"] == "Tablette B2"


async def test_volunteer_name_is_kept_and_shown_in_last_scans_and_export(client, settings):
    event = await _event(capacity=20)
    organizer = await _organizer()
    _device, raw = await devices.pair_device(organizer, event.id, "Tablette porte A")
    token = {"Authorization": f"Bearer {raw}"}
    reg = (await service.register(event.id, person(1), settings=settings)).registration
    r = await client.post(
        "/api/v1/checkin",
        json={
            "event_id": event.id,
            "registration_id": reg.public_id,
            "volunteer": "  Julie\u0007 ",
        },
        headers=token,
    )
    assert r.status_code == 200 and r.json()["result"] == "ok", r.text
    walkin = await client.post(
        f"/api/v1/events/{event.id}/walkins",
        headers=token,
        json={
            "first_name": "Marie",
            "last_name": "Sur-Place",
            "clientele": "family",
            "volunteer": "Karim",
        },
    )
    assert walkin.status_code == 201, walkin.text
    assert (await CheckIn.get(registration_id=reg.id)).volunteer == "Julie"
    assert {s.volunteer for s in await Scan.filter(event_id=event.id)} == {"Julie", "Karim"}
    too_long = await client.post(
        "/api/v1/checkin",
        json={"event_id": event.id, "registration_id": reg.public_id, "volunteer": "x" * 101},
        headers=token,
    )
    assert too_long.status_code == 422

    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/events/{event.id}/checkin")
    assert page.status_code == 200
    scans_table = page.text[page.text.index('id="scans"') :]
    assert "Bénévole" in scans_table
    assert "Julie" in scans_table and "Karim" in scans_table
    export = await client.get(f"/admin/events/{event.id}/checkin/export.csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8").lstrip("\ufeff"))))
    column = rows[0].index("Bénévole")
    assert {row[2]: row[column] for row in rows[1:]} == {"Nom1": "Julie", "Sur-Place": "Karim"}


async def test_walk_in_records_its_device(client, settings):
    event = await _event(capacity=20)
    organizer = await _organizer()
    device, raw = await devices.pair_device(organizer, event.id, "Tablette porte A")
    token = {"Authorization": f"Bearer {raw}"}
    r = await client.post(
        f"/api/v1/events/{event.id}/walkins",
        headers=token,
        json={"first_name": "Nadia", "last_name": "Lapointe", "clientele": "family"},
    )
    assert r.status_code == 201, r.text
    row = await CheckIn.get(event_id=event.id)
    assert row.device_id == device.id and row.method == "walkin"
    assert (await Scan.get(event_id=event.id)).device_id == device.id
    live = (await client.get(f"/api/v1/events/{event.id}/checkin/live", headers=token)).json()
    assert live["recent"][0]["device"] == "Tablette porte A"
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/events/{event.id}/checkin")
    row_html = page.text[page.text.index("data-scan=") :]
    assert "Tablette porte A" in row_html[: row_html.index("</tr>")]
