"""An event's own retention period: set in the API and the back-office form (blank = the
RETENTION_MONTHS default), shown to staff, kept by a duplicate, bounded."""

from __future__ import annotations

from events.models import Event
from tests.conftest import login
from tests.events.test_api import BODY, _auth
from tests.events.test_backoffice import form


async def test_the_api_sets_reads_and_clears_the_period(client):
    headers = await _auth()
    r = await client.post("/api/v1/events", json={**BODY, "retention_months": 36}, headers=headers)
    assert r.status_code == 201, r.text
    event = r.json()
    assert event["retention_months"] == 36
    assert (await Event.get(id=event["id"])).retention_months == 36

    r = await client.patch(
        f"/api/v1/events/{event['id']}", json={"retention_months": 12}, headers=headers
    )
    assert r.status_code == 200 and r.json()["retention_months"] == 12
    r = await client.patch(
        f"/api/v1/events/{event['id']}", json={"title": "Autre titre"}, headers=headers
    )
    assert r.json()["retention_months"] == 12  # a PATCH without it keeps it
    r = await client.patch(
        f"/api/v1/events/{event['id']}", json={"retention_months": None}, headers=headers
    )
    assert r.status_code == 200 and r.json()["retention_months"] is None

    for bad in (0, -1, 241, "longtemps"):
        r = await client.patch(
            f"/api/v1/events/{event['id']}", json={"retention_months": bad}, headers=headers
        )
        assert r.status_code == 422, (bad, r.text)
        assert "retention_months" in r.json()["error"]["fields"]
    assert (await Event.get(id=event["id"])).retention_months is None

    copy = await client.post(f"/api/v1/events/{event['id']}/duplicate", headers=headers)
    assert copy.status_code == 201 and copy.json()["retention_months"] is None
    await Event.filter(id=event["id"]).update(retention_months=48)
    copy = await client.post(f"/api/v1/events/{event['id']}/duplicate", headers=headers)
    assert copy.json()["retention_months"] == 48


async def test_the_back_office_form_sets_and_clears_the_period(client, settings):
    await login(client, "organizer")
    page = await client.get("/admin/events/new")
    assert 'name="retention_months"' in page.text
    assert "Vide : la durée par défaut (24 mois)" in page.text

    r = await client.post("/admin/events/new", data=form(retention_months="0"))
    assert r.status_code == 422
    assert await Event.all().count() == 0

    r = await client.post("/admin/events/new", data=form(retention_months="60"))
    assert r.status_code == 303, r.text
    event = await Event.get()
    assert event.retention_months == 60
    detail = await client.get(f"/admin/events/{event.id}")
    assert "60 mois après l" in detail.text

    edit = await client.get(f"/admin/events/{event.id}/edit")
    assert 'name="retention_months"' in edit.text and 'value="60"' in edit.text
    r = await client.post(f"/admin/events/{event.id}/edit", data=form(retention_months=""))
    assert r.status_code == 303, r.text
    await event.refresh_from_db()
    assert event.retention_months is None
    detail = await client.get(f"/admin/events/{event.id}")
    assert "24 mois après l" in detail.text and "(par défaut)" in detail.text
