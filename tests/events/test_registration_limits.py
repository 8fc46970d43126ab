"""The organizer sets an event's public registration limits: the largest party of the
public channels (default 10) and "confirmer par courriel", in the API and the back-office
form, kept by duplication."""

from __future__ import annotations

from core.auth import Principal
from events.editions import duplicate_event
from events.models import Event
from tests.conftest import login, token_for
from tests.events.test_api import BODY
from tests.events.test_backoffice import form


async def test_the_api_sets_and_changes_the_public_limits(client):
    headers = {"Authorization": f"Bearer {await token_for('organizer')}"}
    created = await client.post("/api/v1/events", json=BODY, headers=headers)
    assert created.status_code == 201, created.text
    event = created.json()
    assert (event["max_public_party_size"], event["confirm_by_email"]) == (10, False)
    url = f"/api/v1/events/{event['id']}"
    changed = await client.patch(
        url, json={"max_public_party_size": 4, "confirm_by_email": True}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["max_public_party_size"], changed.json()["confirm_by_email"]) == (
        4,
        True,
    )
    for wrong in (0, 501, "beaucoup"):
        refused = await client.patch(url, json={"max_public_party_size": wrong}, headers=headers)
        assert refused.status_code == 422
        assert "max_public_party_size" in refused.json()["error"]["fields"]
    stored = await Event.get(id=event["id"])
    assert (stored.max_public_party_size, stored.confirm_by_email) == (4, True)
    copy = await duplicate_event(Principal.system("tests"), stored.id, shift_days=7)
    assert (copy.max_public_party_size, copy.confirm_by_email) == (4, True)


async def test_the_backoffice_form_sets_the_public_limits(client):
    await login(client, "organizer")
    page = await client.get("/admin/events/new")
    assert 'name="max_public_party_size"' in page.text and 'value="10"' in page.text
    assert 'name="confirm_by_email"' in page.text
    refused = await client.post(
        "/admin/events/new", data=form(max_public_party_size="0", confirm_by_email="on")
    )
    assert refused.status_code == 422
    assert 'id="e-max_public_party_size"' in refused.text
    assert await Event.all().count() == 0
    saved = await client.post(
        "/admin/events/new", data=form(max_public_party_size="25", confirm_by_email="on")
    )
    assert saved.status_code == 303, saved.text
    event = await Event.get()
    assert (event.max_public_party_size, event.confirm_by_email) == (25, True)
    edit = await client.get(f"/admin/events/{event.id}/edit")
    assert 'value="25"' in edit.text
    assert 'name="confirm_by_email" checked' in edit.text
    detail = await client.get(f"/admin/events/{event.id}")
    assert "confirmation par courriel" in detail.text
