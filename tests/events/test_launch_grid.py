"""An edition's territorial launches: one per MRC of any region, planned on one page."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.auth import Principal
from core.errors import ValidationFailed
from core.models import AuditEntry
from events import editions, launches, service
from events.models import Event, EventStatus
from events.schemas import EventIn
from people.models import Territory
from tests.conftest import login

SYSTEM = Principal.system("tests")
POST = {"confirm": "1"}
ESTRIE_MRCS = ["2430", "2440", "2441", "2442", "2443", "2444", "2445", "2446", "2447"]
ZONE = ZoneInfo("America/Toronto")


async def launch_edition(territory: str = "05") -> Event:
    return await service.create_event(
        SYSTEM,
        EventIn.model_validate(
            {
                "title": "Lancement du portrait 2027",
                "kind": "annual_launch",
                "starts_at": "2027-10-05T09:00",
                "ends_at": "2027-10-05T12:00",
                "venue_name": "Salle régionale",
                "territory": territory,
            }
        ),
    )


async def estrie_launches() -> tuple[Event, dict[str, Event]]:
    edition = await launch_edition()
    await editions.create_territorial_children(SYSTEM, edition.id)
    children = await Event.filter(parent_id=edition.id).select_related("territory")
    return edition, {c.territory.code: c for c in children}


def grid_form(children: dict[str, Event], **rows: dict[str, str]) -> dict[str, object]:
    """The grid as the browser sends it: every row with its current values, then changes."""
    data: dict[str, object] = {"row": [str(c.id) for c in children.values()]}
    for code, child in children.items():
        start = child.starts_at.astimezone(ZONE)
        end = child.ends_at.astimezone(ZONE)
        values = {
            "date": start.date().isoformat(),
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
            "venue_name": child.venue_name,
            "address": child.address,
            "capacity": "" if child.capacity is None else str(child.capacity),
            "contact_name": child.contact_name,
            "contact_email": child.contact_email,
            "contact_phone": child.contact_phone,
        } | rows.get(f"m{code}", {})
        data.update({f"{child.id}-{name}": value for name, value in values.items()})
    return data


# --------------------------------------------------------------------------- creation


async def test_estrie_edition_gets_one_launch_per_mrc_from_the_button(client):
    edition = await launch_edition("05")
    await login(client, "organizer")
    response = await client.post(f"/admin/events/{edition.id}/territorial-launches", data=POST)
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "9 lancements territoriaux ont été créés (brouillons)." in page.text
    children = await Event.filter(parent_id=edition.id).select_related("territory")
    assert sorted(c.territory.code for c in children) == ESTRIE_MRCS
    assert "Lancement du portrait 2027 — Memphrémagog" in {c.title for c in children}


async def test_cote_nord_and_an_mrc_territory_find_their_region(db):
    cote_nord = await launch_edition("09")
    assert len(await editions.create_territorial_children(SYSTEM, cote_nord.id)) == 4
    # An edition placed in an MRC (Sherbrooke) gets the launches of its region, Estrie.
    sherbrooke = await launch_edition("2443")
    created = await editions.create_territorial_children(SYSTEM, sherbrooke.id)
    assert len(created) == len(ESTRIE_MRCS)


async def test_a_region_without_known_mrcs_says_so(db):
    cote_nord = await Territory.get(code="09")
    await Territory.filter(parent_id=cote_nord.id).update(active=False)
    edition = await launch_edition("09")
    with pytest.raises(ValidationFailed) as error:
        await editions.create_territorial_children(SYSTEM, edition.id)
    assert (
        "Aucune MRC active n'est connue pour la région Côte-Nord" in error.value.fields["territory"]
    )


# --------------------------------------------------------------------------- the grid


async def test_grid_lists_each_launch_with_labelled_inputs(client):
    edition, children = await estrie_launches()
    await login(client, "organizer")
    detail = await client.get(f"/admin/events/{edition.id}")
    assert f'href="/admin/events/{edition.id}/launches"' in detail.text
    page = await client.get(f"/admin/events/{edition.id}/launches")
    assert page.status_code == 200
    memphre = children["2445"]
    assert f'name="{memphre.id}-venue_name"' in page.text
    assert f'id="f-{memphre.id}-venue_name"' in page.text
    assert "Lieu — Memphrémagog" in page.text  # each input's label names its MRC
    assert 'maxlength="200"' in page.text and 'min="1"' in page.text
    assert 'value="2027-10-05"' in page.text and 'value="09:00"' in page.text
    assert page.text.count('name="row"') == len(ESTRIE_MRCS)


async def test_grid_saves_several_rows_in_one_post(client):
    edition, children = await estrie_launches()
    await login(client, "organizer")
    data = grid_form(
        children,
        m2445={
            "date": "2027-10-06",
            "start": "18:30",
            "end": "20:00",
            "venue_name": "Centre culturel de Magog",
            "address": "95, rue Merry Nord, Magog",
            "capacity": "80",
            "contact_name": "Julie Roy",
            "contact_email": "Julie.Roy@Exemple.qc.ca",
            "contact_phone": "819 555-0101",
        },
        m2443={"venue_name": "Hôtel de ville de Sherbrooke", "capacity": "120"},
    )
    response = await client.post(f"/admin/events/{edition.id}/launches", data=data)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/admin/events/{edition.id}/launches"
    page = await client.get(response.headers["location"])
    assert "2 lancements ont été enregistrés." in page.text
    magog = await Event.get(id=children["2445"].id)
    assert magog.starts_at == datetime(2027, 10, 6, 18, 30, tzinfo=ZONE)
    assert magog.ends_at == datetime(2027, 10, 6, 20, 0, tzinfo=ZONE)
    assert (magog.venue_name, magog.address, magog.capacity) == (
        "Centre culturel de Magog",
        "95, rue Merry Nord, Magog",
        80,
    )
    assert (magog.contact_name, magog.contact_email) == ("Julie Roy", "Julie.Roy@exemple.qc.ca")
    sherbrooke = await Event.get(id=children["2443"].id)
    assert (sherbrooke.venue_name, sherbrooke.capacity) == ("Hôtel de ville de Sherbrooke", 120)
    untouched = await Event.get(id=children["2430"].id)
    assert untouched.venue_name == "" and untouched.sequence == 0
    assert await AuditEntry.filter(action="event.updated").count() == 2


async def test_a_bad_row_shows_its_error_and_nothing_is_saved(client):
    edition, children = await estrie_launches()
    await login(client, "organizer")
    data = grid_form(
        children,
        m2445={"start": "19:00", "end": "18:00", "venue_name": "Centre culturel"},
        m2443={"contact_email": "pas-un-courriel", "venue_name": "Hôtel de ville"},
        m2444={"venue_name": "Pavillon", "capacity": "zéro"},
        m2430={"venue_name": "Polyvalente Montignac", "capacity": "60"},
    )
    response = await client.post(f"/admin/events/{edition.id}/launches", data=data)
    assert response.status_code == 422
    text = response.text
    assert "La fin doit être après le début." in text
    assert "Adresse courriel invalide." in text
    assert "Un nombre entier est attendu." in text
    # The error sits on its row's input, and what was typed stays in the form.
    magog = children["2445"].id
    assert f'aria-describedby="e-{magog}-end"' in text and 'aria-invalid="true"' in text
    assert 'value="Polyvalente Montignac"' in text
    for child in children.values():
        again = await Event.get(id=child.id)
        assert again.venue_name == "" and again.capacity is None
    assert await AuditEntry.filter(action="event.updated").count() == 0


async def test_publish_ready_launches_publishes_complete_ones_and_lists_the_rest(client):
    edition, children = await estrie_launches()
    await login(client, "organizer")
    data = grid_form(
        children,
        m2445={"address": "95, rue Merry Nord, Magog"},
        m2443={"venue_name": "Hôtel de ville de Sherbrooke"},
    )
    assert (await client.post(f"/admin/events/{edition.id}/launches", data=data)).status_code == 303
    response = await client.post(f"/admin/events/{edition.id}/launches/publish", data=POST)
    assert response.status_code == 200
    assert "2 lancements ont été publiés." in response.text
    text = re.sub(r"<[^>]+>", "", response.text)
    assert "Lancement du portrait 2027 — Coaticook : Indiquez le lieu avant de publier." in text
    assert "Memphrémagog : Indiquez" not in text
    statuses = {code: (await Event.get(id=c.id)).status for code, c in sorted(children.items())}
    assert [c for c, s in statuses.items() if s == EventStatus.PUBLISHED] == ["2443", "2445"]
    # Again: nothing more to publish, the same list of what is missing.
    report = await launches.publish_ready_launches(SYSTEM, edition.id)
    assert report.published == [] and len(report.missing) == len(ESTRIE_MRCS) - 2


async def test_the_grid_is_for_editors(client):
    edition, _children = await estrie_launches()
    await login(client, "reviewer")
    assert (await client.get(f"/admin/events/{edition.id}/launches")).status_code == 403
    response = await client.post(f"/admin/events/{edition.id}/launches/publish", data=POST)
    assert response.status_code == 403
    assert not await Event.filter(parent_id=edition.id, status=EventStatus.PUBLISHED).exists()
