"""The personal-data API (Law 25): export everything held on one person, erase it."""

from __future__ import annotations

from core.auth import Principal
from core.mail.outbox import ERASED_SUBJECT
from core.models import AuditEntry, Role
from people.consents import record_consent
from people.models import Consent, ConsentPurpose, Person
from people.schemas import ConsentIn
from registrations.models import Registration
from tests.conftest import login, token_for
from tests.registrations.helpers import published_event

EMAIL = "emilie.tremblay@exemple.qc.ca"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def registered_person(client) -> tuple[int, int]:
    """(person id, event id): someone who registered to an event and said yes to the
    newsletter, so that every part of the export has something in it."""
    event = await published_event(capacity=10)
    response = await client.post(
        f"/api/v1/events/{event.id}/registrations",
        json={
            "first_name": "Émilie",
            "last_name": "Tremblay",
            "email": EMAIL,
            "clientele": "schools",
            "territory": "2461",
        },
    )
    assert response.status_code == 201, response.text
    person = await Person.get(email_key=EMAIL)
    await record_consent(
        Principal.system("tests"),
        person.id,
        ConsentIn(purpose=ConsentPurpose.NEWSLETTER, granted=True, wording="Infolettre"),
    )
    return person.id, event.id


async def test_admin_exports_everything_held_on_a_person(client):
    person_id, event_id = await registered_person(client)
    token = await token_for(Role.ADMIN)
    response = await client.get(f"/api/v1/people/{person_id}/export", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    assert {"person", "consents", "registrations", "messages"} <= set(data)
    assert data["person"]["id"] == person_id and data["person"]["email"] == EMAIL
    assert data["person"]["territory"] == {"code": "2461", "name": "Joliette"}
    assert [(c["purpose"], c["granted"]) for c in data["consents"]] == [("newsletter", True)]
    assert [r["event"]["id"] for r in data["registrations"]] == [event_id]
    assert data["messages"] and {m["to_address"] for m in data["messages"]} == {EMAIL}
    entry = await AuditEntry.get(action="person.exported")
    assert entry.target_id == str(person_id)


async def test_admin_erases_a_person_once(client):
    person_id, event_id = await registered_person(client)
    token = await token_for(Role.ADMIN)
    response = await client.post(f"/api/v1/people/{person_id}/erase", headers=bearer(token))
    assert response.status_code == 200, response.text
    erased = response.json()
    assert erased["id"] == person_id and erased["erased"] is True
    assert f"{erased['first_name']} {erased['last_name']}" == "Personne anonymisée"
    assert (erased["email"], erased["phone"], erased["organization"]) == (None, "", None)
    assert erased["clientele"]["code"] == "schools"  # kept, so the counts stay right
    assert erased["territory"]["code"] == "2461"

    person = await Person.get(id=person_id)
    assert person.display_name == "Personne anonymisée" and person.email is None
    assert await Consent.filter(person_id=person_id).count() == 0
    assert await Registration.filter(person_id=person_id, event_id=event_id).count() == 1
    export = await client.get(f"/api/v1/people/{person_id}/export", headers=bearer(token))
    assert EMAIL not in export.text and "Émilie" not in export.text
    assert {m["subject"] for m in export.json()["messages"]} == {ERASED_SUBJECT}
    listing = await client.get("/api/v1/people", params={"q": "tremblay"}, headers=bearer(token))
    assert listing.json()["total"] == 0

    again = await client.post(f"/api/v1/people/{person_id}/erase", headers=bearer(token))
    assert again.status_code == 200
    assert again.json() == erased
    assert await AuditEntry.filter(action="person.erased").count() == 1


async def test_export_and_erase_refused_without_the_right(client):
    person_id, _event_id = await registered_person(client)
    export_url = f"/api/v1/people/{person_id}/export"
    erase_url = f"/api/v1/people/{person_id}/erase"

    for response in (await client.get(export_url), await client.post(erase_url)):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"

    organizer = bearer(await token_for(Role.ORGANIZER))
    # A person's whole data is the admin's (privacy officer's) to give; organizers keep
    # the directory's CSV export.
    assert (await client.get(export_url, headers=organizer)).status_code == 403
    refused = await client.post(erase_url, headers=organizer)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"

    for role in (Role.REVIEWER, Role.CHECKIN):
        auth = bearer(await token_for(role))
        assert (await client.get(export_url, headers=auth)).status_code == 403
        assert (await client.post(erase_url, headers=auth)).status_code == 403

    person = await Person.get(id=person_id)
    assert person.erased_at is None and person.email == EMAIL
    assert await AuditEntry.filter(action="person.erased").count() == 0


async def test_unknown_person_is_404(client):
    auth = bearer(await token_for(Role.ADMIN))
    for response in (
        await client.get("/api/v1/people/999999/export", headers=auth),
        await client.post("/api/v1/people/999999/erase", headers=auth),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_erase_with_the_session_cookie_needs_the_csrf_header(client):
    person_id, _event_id = await registered_person(client)
    await login(client, Role.ADMIN)
    csrf = client.headers.pop("x-csrf-token")
    refused = await client.post(f"/api/v1/people/{person_id}/erase")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf_failed"
    assert (await Person.get(id=person_id)).erased_at is None
    export = await client.get(f"/api/v1/people/{person_id}/export")  # a GET needs none
    assert export.status_code == 200
    done = await client.post(f"/api/v1/people/{person_id}/erase", headers={"x-csrf-token": csrf})
    assert done.status_code == 200 and done.json()["erased"] is True


async def test_openapi_documents_export_and_erase(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    export = document["paths"]["/api/v1/people/{id}/export"]["get"]
    erase = document["paths"]["/api/v1/people/{id}/erase"]["post"]
    for operation in (export, erase):
        assert operation["security"] == [{"bearerAuth": []}]
        assert {"200", "401", "403", "404"} <= set(operation["responses"])
        assert operation["parameters"][0]["name"] == "id"
    schema = export["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/PersonExportOut"}
    exported = document["components"]["schemas"]["PersonExportOut"]
    assert {"person", "consents", "messages"} <= set(exported["required"])
    assert "registrations" in exported["properties"]
    schema = erase["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/PersonOut"}
