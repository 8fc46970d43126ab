"""A `checkin` account's home page: the events of today and tomorrow it may work at, each
with the link to the tablet app."""

from datetime import datetime, timedelta

from core.models import Role
from core.settings import local_tz
from events import service as events_service
from events.models import Event
from events.schemas import EventIn
from tests.conftest import login
from tests.registrations.helpers import SYSTEM, published_event


def _times(days: int) -> dict[str, str]:
    noon = datetime.now(local_tz()).replace(hour=12, minute=0, second=0, microsecond=0)
    start = noon + timedelta(days=days)
    return {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }


async def _event_on(days: int, title: str) -> Event:
    return await published_event(title=title, **_times(days))


async def test_checkin_home_lists_today_and_tomorrow(client):
    tomorrow = await _event_on(1, "Colloque de demain")
    today = await _event_on(0, "Forum du jour")
    later = await _event_on(2, "Rencontre du surlendemain")
    yesterday = await _event_on(-1, "Atelier de la veille")
    draft = await events_service.create_event(
        SYSTEM,
        EventIn.model_validate({"title": "Brouillon", "kind": "regional_event", **_times(0)}),
    )
    await login(client, Role.CHECKIN)
    page = await client.get("/admin")
    assert page.status_code == 200
    html = page.text
    for event in (today, tomorrow):
        assert event.title in html
        assert f'href="/checkin/{event.id}"' in html
    assert "Ouvrir l&#39;application d&#39;accueil" in html
    for event in (later, yesterday, draft):
        assert f'href="/checkin/{event.id}"' not in html
        assert event.title not in html
    assert html.index("Forum du jour") < html.index("Colloque de demain")
    assert "Aucun événement aujourd&#39;hui ni demain." not in html


async def test_checkin_home_empty_state(client):
    await _event_on(3, "Plus tard")
    await login(client, Role.CHECKIN)
    page = await client.get("/admin")
    assert "Aucun événement aujourd&#39;hui ni demain." in page.text
    assert "/checkin/" not in page.text


async def test_organizer_home_has_no_door_panel(client):
    event = await _event_on(0, "Forum du jour")
    await login(client, Role.ORGANIZER)
    page = await client.get("/admin")
    assert page.status_code == 200
    # Today's event is in the organizer's « Aujourd'hui » panel (tests/core/test_home_panels),
    # not in the door panel with the tablet app's link.
    assert "Accueil à la porte" not in page.text
    assert f'href="/checkin/{event.id}"' not in page.text
