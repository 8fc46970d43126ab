"""The clienteles offered at the door (tablet walk-in form) and on the public form: the
event's own, the only one pre-selected; every active one when the event targets none."""

import re

from core.auth import Principal
from core.models import Role
from registrations import devices
from tests.conftest import make_user
from tests.registrations.helpers import published_event
from tests.registrations.test_checkin import _event


async def _token(event_id: int) -> dict[str, str]:
    email = f"orga-{event_id}@exemple.qc.ca"
    organizer = Principal.for_user(await make_user(Role.ORGANIZER, email))
    _device, raw = await devices.pair_device(organizer, event_id, "Tablette")
    return {"Authorization": f"Bearer {raw}"}


async def _walkin_codes(client, event_id: int, headers: dict[str, str]) -> list[str]:
    roster = (await client.get(f"/api/v1/events/{event_id}/checkin/roster", headers=headers)).json()
    return [c["code"] for c in roster["walkin_clienteles"]]


async def test_roster_offers_the_event_clienteles_for_walk_ins(client):
    targeted = await _event(clienteles=["schools", "youth"])
    single = await _event(clienteles=["family"])
    open_to_all = await _event()
    devices.forget_cached_devices()
    assert await _walkin_codes(client, targeted.id, await _token(targeted.id)) == [
        "youth",
        "schools",
    ]
    devices.forget_cached_devices()
    roster = (
        await client.get(
            f"/api/v1/events/{single.id}/checkin/roster", headers=await _token(single.id)
        )
    ).json()
    assert roster["walkin_clienteles"] == [
        {
            "code": "family",
            "name_fr": "Environnement immédiat (famille, intervenants proches)",
            "name_en": roster["walkin_clienteles"][0]["name_en"],
        }
    ]
    devices.forget_cached_devices()
    assert sorted(await _walkin_codes(client, open_to_all.id, await _token(open_to_all.id))) == [
        "family",
        "schools",
        "society",
        "youth",
    ]


async def test_public_form_preselects_the_only_clientele(client):
    single = await published_event(clienteles=["schools"])
    html = (await client.get(f"/events/{single.id}/register")).text
    tag = re.search(r'<input type="radio" id="f-clientele-schools"[^>]*>', html)
    assert tag and "checked" in tag.group(0)
    several = await published_event(clienteles=["schools", "youth"])
    html = (await client.get(f"/events/{several.id}/register")).text
    assert not re.search(r'<input type="radio" id="f-clientele-[a-z]+"[^>]*checked', html)
