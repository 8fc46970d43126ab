"""The public privacy page states the retention periods from the settings; the
RETENTION_MONTHS setting is read and checked."""

from __future__ import annotations

import httpx
import pytest

from core.settings import ConfigurationError, load_settings


async def test_the_privacy_page_states_the_periods(client):
    r = await client.get("/confidentialite")
    assert r.status_code == 200
    assert "24 mois après la fin de l" in r.text
    assert "depuis 24 mois et sans consentement" in r.text
    home = await client.get("/")
    assert 'href="/confidentialite"' in home.text
    english = await client.get("/confidentialite?lang=en")
    assert "24 months after the end of the event" in english.text


async def test_the_privacy_page_follows_the_setting(settings):
    from server import create_app

    app = create_app(settings.with_(retention_months=36), manage_database=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.get("/confidentialite")
    assert "36 mois après la fin de l" in r.text and "24 mois" not in r.text


def test_retention_months_setting(tmp_path):
    assert load_settings({"VAR_DIR": str(tmp_path)}).retention_months == 24
    assert (
        load_settings({"VAR_DIR": str(tmp_path), "RETENTION_MONTHS": "36"}).retention_months == 36
    )
    for bad in ("0", "241", "deux ans"):
        with pytest.raises(ConfigurationError, match="RETENTION_MONTHS"):
            load_settings({"VAR_DIR": str(tmp_path), "RETENTION_MONTHS": bad})


async def test_the_registration_form_states_the_event_period(client):
    from events.models import Event
    from tests.registrations.helpers import published_event

    event = await published_event()
    page = await client.get(f"/events/{event.id}/register")
    assert "anonymisés 24 mois après l" in page.text
    assert 'href="/confidentialite#conservation"' in page.text
    await Event.filter(id=event.id).update(retention_months=12)
    page = await client.get(f"/events/{event.id}/register")
    assert "anonymisés 12 mois après l" in page.text
