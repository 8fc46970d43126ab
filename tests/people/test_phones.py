"""Phone numbers: one rule (people.phones) for what is valid, how it is stored (E.164) and
shown ("(450) 555-0123"), used by the people form, the CSV import and the pages."""

from __future__ import annotations

import pytest

from core.auth import Principal
from core.models import Role
from people.imports import import_people_csv
from people.models import Person
from people.phones import format_phone, normalize_phone
from tests.conftest import login
from tests.people.test_import import HEADER
from tests.people.test_routes import create_person

INVALID = "Ce numéro de téléphone n'est pas valide."


@pytest.mark.parametrize(
    "typed",
    ["450 555-0123", "(450) 555-0123", "4505550123", "+1 450 555 0123", "1-450-555-0123"],
)
def test_valid_numbers_are_stored_in_e164(typed):
    assert normalize_phone(typed) == "+14505550123"


def test_foreign_number_keeps_its_country():
    assert normalize_phone("+33 1 23 45 67 89") == "+33123456789"


def test_empty_is_no_number():
    assert normalize_phone("") == ""
    assert normalize_phone("   ") == ""


@pytest.mark.parametrize(
    "typed",
    [
        "450 555-0123 poste 12",  # extension
        "(450) 555-0123 ext. 12",
        "450 555-0123 x12",
        "1-800-FLOWERS",  # letters
        "abc",
        "12",  # too short
        "555-0123",  # no area code
        "450-555-01234",  # too long
    ],
)
def test_invalid_numbers_are_refused_in_french(typed):
    with pytest.raises(ValueError, match=INVALID):
        normalize_phone(typed)


def test_display_in_national_format():
    assert format_phone("+14505550123") == "(450) 555-0123"
    assert format_phone("+33123456789") == "+33 1 23 45 67 89"
    assert format_phone("") == ""
    # Stored before numbers were checked: formatted when it parses, shown as is otherwise.
    assert format_phone("450 555-0199") == "(450) 555-0199"
    assert format_phone("le soir seulement") == "le soir seulement"


async def test_people_form_stores_e164_refuses_garbage_and_shows_national(client):
    await login(client, Role.ORGANIZER)
    person_id = await create_person(client, phone="450 555-0123")
    assert (await Person.get(id=person_id)).phone == "+14505550123"
    detail = await client.get(f"/admin/people/{person_id}")
    assert 'value="(450) 555-0123"' in detail.text
    assert "+14505550123" not in detail.text

    refused = await client.post(
        "/admin/people/new",
        data={
            "first_name": "Luc",
            "last_name": "Paradis",
            "email": "luc@exemple.qc.ca",
            "language": "fr",
            "phone": "12",
        },
    )
    assert refused.status_code == 422
    assert "Ce numéro de téléphone n&#39;est pas valide." in refused.text
    assert not await Person.exists(email_key="luc@exemple.qc.ca")


async def test_csv_import_normalizes_and_reports_an_invalid_phone_on_its_line(db):
    text = (
        f"{HEADER}\n"
        "Ana,Lee,ana@exemple.qc.ca,(450) 555-0123,fr,,,\n"
        "Luc,Paradis,luc@exemple.qc.ca,12,fr,,,\n"
    )
    report = await import_people_csv(Principal.system("tests"), text.encode())
    assert report.created == 1
    assert report.rejected == [{"line": 3, "error": "Numéro de téléphone invalide « 12 »."}]
    assert (await Person.get(email_key="ana@exemple.qc.ca")).phone == "+14505550123"
    assert not await Person.exists(email_key="luc@exemple.qc.ca")
