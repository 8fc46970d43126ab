"""The phone number on the public form and the registration API, governed per event by
`Event.phone_field` (hidden, optional, required); stored E.164, shown "(450) 555-0123"."""

from __future__ import annotations

import csv
import io

from core.models import Role
from events.models import Event, PhoneField
from people.models import Person
from registrations import manage_links, service
from registrations.models import Registration
from tests.conftest import login
from tests.registrations.helpers import person, published_event
from tests.registrations.test_pages import form_data, register_through_form

REQUIRED = "Indiquez un numéro de téléphone."
INVALID = "Ce numéro de téléphone n&#39;est pas valide."


async def event_asking(phone_field: PhoneField) -> Event:
    event = await published_event(capacity=20)
    await Event.filter(id=event.id).update(phone_field=phone_field)
    return await Event.get(id=event.id)


async def stored_phone() -> str:
    return (await Person.get(email_key="chantal.beaulieu@exemple.qc.ca")).phone


async def test_optional_phone_field_shown_with_phone_keyboard(client):
    event = await event_asking(PhoneField.OPTIONAL)
    html = (await client.get(f"/events/{event.id}/register")).text
    field = html[html.index('id="f-phone"') - 20 : html.index('id="f-phone"') + 400]
    assert 'type="tel"' in field
    assert 'inputmode="tel"' in field
    assert 'autocomplete="tel"' in field
    assert " required" not in field
    accepted = await register_through_form(client, event, phone="")
    assert accepted.status_code == 303
    assert await stored_phone() == ""


async def test_optional_phone_is_normalized(client):
    event = await event_asking(PhoneField.OPTIONAL)
    response = await register_through_form(client, event, phone="450 555-0123")
    assert response.status_code == 303
    assert await stored_phone() == "+14505550123"
    manage = await client.get(response.headers["location"])
    assert "(450) 555-0123" in manage.text


async def test_invalid_phone_is_a_field_error(client):
    event = await event_asking(PhoneField.OPTIONAL)
    response = await register_through_form(client, event, phone="12")
    assert response.status_code == 422
    assert INVALID in response.text
    assert 'href="#f-phone"' in response.text
    assert 'value="12"' in response.text  # kept for correction
    assert await Registration.all().count() == 0


async def test_required_phone_missing_is_a_field_error(client):
    event = await event_asking(PhoneField.REQUIRED)
    page = await client.get(f"/events/{event.id}/register")
    field = page.text[page.text.index('id="f-phone"') :][:300]
    assert " required" in field
    refused = await client.post(
        f"/events/{event.id}/register", data=form_data(page.text, phone="", last_name="")
    )
    assert refused.status_code == 422
    # Reported at once, with the other fields' errors.
    assert REQUIRED in refused.text
    assert "Ce champ est obligatoire" in refused.text
    assert await Registration.all().count() == 0
    accepted = await register_through_form(client, event, phone="+1 819 555 0000")
    assert accepted.status_code == 303
    assert await stored_phone() == "+18195550000"


async def test_hidden_phone_field_is_not_shown_and_ignored(client):
    event = await event_asking(PhoneField.HIDDEN)
    html = (await client.get(f"/events/{event.id}/register")).text
    assert 'name="phone"' not in html
    response = await register_through_form(client, event, phone="pas un numéro")
    assert response.status_code == 303
    assert await stored_phone() == ""


async def test_api_phone_rules(client):
    url = "/api/v1/events/{}/registrations"
    base = {
        "first_name": "Marc",
        "last_name": "Tremblay",
        "email": "marc@exemple.qc.ca",
        "clientele": "schools",
    }
    required = await event_asking(PhoneField.REQUIRED)
    missing = await client.post(url.format(required.id), json=base)
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"] == {"phone": "Indiquez un numéro de téléphone."}
    invalid = await client.post(url.format(required.id), json=base | {"phone": "450 555"})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["fields"] == {
        "phone": "Ce numéro de téléphone n'est pas valide."
    }
    ok = await client.post(url.format(required.id), json=base | {"phone": "(450) 555-0123"})
    assert ok.status_code == 201, ok.text
    assert (await Person.get(email_key="marc@exemple.qc.ca")).phone == "+14505550123"

    hidden = await event_asking(PhoneField.HIDDEN)
    other = base | {"email": "lise@exemple.qc.ca", "phone": "819 555-0000"}
    assert (await client.post(url.format(hidden.id), json=other)).status_code == 201
    assert (await Person.get(email_key="lise@exemple.qc.ca")).phone == ""


async def test_public_channel_only_fills_an_empty_phone(settings):
    event = await event_asking(PhoneField.OPTIONAL)
    await service.register(event.id, person(1, phone="450 555-0123"), settings=settings)
    second = await event_asking(PhoneField.OPTIONAL)
    await service.register(second.id, person(1, phone="819 555-0000"), settings=settings)
    assert (await Person.get(email_key="personne1@exemple.qc.ca")).phone == "+14505550123"


async def test_back_office_and_export_show_the_national_format(client, settings):
    event = await event_asking(PhoneField.OPTIONAL)
    result = await service.register(event.id, person(1, phone="450 555-0123"), settings=settings)
    await login(client, Role.ORGANIZER)
    detail = await client.get(f"/admin/registrations/{result.registration.id}")
    assert "(450) 555-0123" in detail.text
    export = await client.get(f"/admin/events/{event.id}/registrations/export.csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0]["Téléphone"] == "(450) 555-0123"
    token = manage_links.manage_token(settings, result.registration)
    assert "(450) 555-0123" in (await client.get(f"/manage/{token}")).text
