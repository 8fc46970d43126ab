"""The registrant's JSON API end to end: register, read, change, cancel; every bad input
gets a 4xx with French field errors, never a 500."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from events.models import Event
from registrations import manage_links, notices, service, tickets
from registrations.models import Question, Registration, RegistrationStatus
from tests.registrations.helpers import person, published_event

BASE = "http://testserver"


def body(**overrides) -> dict:
    values = {
        "first_name": "Marc-André",
        "last_name": "Tremblay",
        "email": "marc-andre.tremblay@exemple.qc.ca",
        "clientele": "schools",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def path(url: str) -> str:
    assert url.startswith(BASE)
    return url.removeprefix(BASE)


async def register(client, event_id: int, **overrides) -> httpx.Response:
    return await client.post(f"/api/v1/events/{event_id}/registrations", json=body(**overrides))


async def test_register_returns_the_contract(client, settings):
    event = await published_event(capacity=10)
    response = await register(
        client, event.id, party_size=3, organization="CSS des Samares", territory="2462"
    )
    assert response.status_code == 201, response.text
    data = response.json()
    registration = await Registration.get(event_id=event.id)
    token = manage_links.manage_token(settings, registration)
    assert data["id"] == registration.public_id
    assert data["event_id"] == event.id
    assert data["status"] == "confirmed"
    assert data["waitlist_position"] is None
    assert data["party_size"] == 3
    assert data["clientele"] == "schools"
    assert data["manage_token"] == token
    assert data["manage_url"] == f"{BASE}/manage/{token}"
    assert data["ics_url"] == f"{BASE}/manage/{token}/event.ics"
    ticket = data["ticket"]
    assert ticket["code"] == registration.ticket_code
    assert ticket["qr_payload"] == await notices.ticket_payload(settings, registration)
    assert ticket["qr_png_url"] == f"{BASE}/manage/{token}/qr.png"
    assert ticket["qr_svg_url"] == f"{BASE}/manage/{token}/qr.svg"
    signer = await tickets.get_signer(settings.secret_key)
    claim = tickets.verify_payload(ticket["qr_payload"], signer.public_key)
    assert (claim.event_id, claim.public_id) == (event.id, registration.public_id)
    assert (await client.get(path(ticket["qr_png_url"]))).status_code == 200
    assert (await client.get(path(data["ics_url"]))).status_code == 200
    assert (await Event.get(id=event.id)).seats_taken == 3
    assert registration.source == "api"

    read = await client.get(f"/api/v1/manage/{token}")
    assert read.status_code == 200
    assert read.json() == data


async def test_waitlisted_has_position_and_no_ticket(client, settings):
    event = await published_event(capacity=1, waitlist=True)
    await service.register(event.id, person(1), settings=settings)
    first = (await register(client, event.id)).json()
    second = (await register(client, event.id, email="autre@exemple.qc.ca")).json()
    assert first["status"] == second["status"] == "waitlisted"
    assert (first["waitlist_position"], second["waitlist_position"]) == (1, 2)
    assert first["ticket"] is None
    approval = await published_event(requires_approval=True)
    pending = (await register(client, approval.id)).json()
    assert pending["status"] == "pending_approval" and pending["ticket"] is None


async def event_with_questions() -> tuple[Event, Question, Question]:
    event = await published_event(clienteles=["schools", "society"])
    required = await Question.create(
        event=event,
        kind="single_choice",
        label="Atelier",
        required=True,
        choices=["Matin", "Après-midi"],
    )
    number = await Question.create(event=event, kind="number", label="Nombre d'élèves")
    return event, required, number


BAD_INPUTS = [
    ("missing names", {"first_name": None, "last_name": None}, ["first_name", "last_name"]),
    ("blank names", {"first_name": "  ", "last_name": ""}, ["first_name", "last_name"]),
    ("invalid e-mail", {"email": "pas une adresse"}, ["email"]),
    ("missing e-mail", {"email": None}, ["email"]),
    ("unknown clientele", {"clientele": "martiens"}, ["clientele"]),
    ("clientele not targeted", {"clientele": "youth"}, ["clientele"]),
    ("party size 0", {"party_size": 0}, ["party_size"]),
    ("party size 10000", {"party_size": 10_000}, ["party_size"]),
    ("party size text", {"party_size": "beaucoup"}, ["party_size"]),
    ("unknown question", {"answers": {"999999": "oui"}}, ["answers.999999"]),
    ("required question missing", {"answers": {}}, ["answers.{required}"]),
    ("choice not offered", {"answers": {"{required}": "Soir"}}, ["answers.{required}"]),
    ("number question text", {"answers": {"{number}": "douze"}}, ["answers.{number}"]),
    ("answers not an object", {"answers": ["Matin"]}, ["answers"]),
    ("name not a string", {"first_name": 123}, ["first_name"]),
    ("consents not a list", {"consents": "newsletter"}, ["consents"]),
    ("unknown consent", {"consents": ["spam"]}, ["consents"]),
    ("under_14 not a boolean", {"under_14": "peut-être"}, ["under_14"]),
    ("unknown language", {"language": "de"}, ["language"]),
    ("unknown territory", {"territory": "9999"}, ["territory"]),
    ("unknown field", {"is_admin": True}, ["is_admin"]),
    ("name too long", {"last_name": "x" * 101}, ["last_name"]),
]


@pytest.mark.parametrize(
    ("case", "overrides", "expected"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
async def test_bad_input_gets_french_field_errors(client, case, overrides, expected):
    event, required, number = await event_with_questions()
    ids = {"required": required.id, "number": number.id}
    payload = body(answers={str(required.id): "Matin"})
    for key, value in overrides.items():
        if isinstance(value, dict):
            value = {k.format(**ids): v for k, v in value.items()}
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    response = await client.post(f"/api/v1/events/{event.id}/registrations", json=payload)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    fields = error["fields"]
    for name in expected:
        key = name.format(**ids)
        assert key in fields, fields
        message = fields[key]
        assert message and message[0].isupper() and message.endswith(".")
        assert "Input should" not in message and "Field required" not in message
    assert await Registration.all().count() == 0


async def test_some_french_messages(client):
    event, required, _number = await event_with_questions()
    url = f"/api/v1/events/{event.id}/registrations"
    response = await client.post(url, json={"email": "x@y", "party_size": 0, "clientele": "zz"})
    fields = response.json()["error"]["fields"]
    assert fields["first_name"] == "Ce champ est obligatoire."
    assert fields["party_size"] == "La valeur doit être d'au moins 1."
    response = await client.post(url, json=body(email="pas-une-adresse"))
    assert response.json()["error"]["fields"]["email"] == "Adresse courriel invalide."
    response = await client.post(url, json=body(clientele="youth"))
    assert response.json()["error"]["fields"] == {
        "clientele": "Choisissez une des clientèles visées par cet événement.",
        f"answers.{required.id}": "Cette question est obligatoire.",
    }


async def test_body_format_errors(client):
    event = await published_event()
    url = f"/api/v1/events/{event.id}/registrations"
    too_big = json.dumps(body(organization="x" * (2 * 1024 * 1024 + 10)))
    response = await client.post(url, content=too_big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"

    async def chunks():
        for _ in range(3):
            yield b" " * (1024 * 1024)

    response = await client.post(
        url, content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413

    response = await client.post(url, data={"first_name": "Marc"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    response = await client.post(
        url, content=json.dumps(body()), headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415

    response = await client.post(
        url, content=b'{"first_name": "Marc",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert "JSON" in response.json()["error"]["message"]
    response = await client.post(
        url, content=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400

    response = await client.post(url, json=[body()])
    assert response.status_code == 422
    assert await Registration.all().count() == 0


async def test_conflicts_and_not_found(client, settings):
    closed = await published_event()
    await Event.filter(id=closed.id).update(
        registration_closes_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    response = await register(client, closed.id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "registration_closed"

    later = await published_event()
    await Event.filter(id=later.id).update(
        registration_opens_at=datetime.now(UTC) + timedelta(days=1)
    )
    response = await register(client, later.id)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "registration_closed"

    full = await published_event(capacity=2)
    assert (await register(client, full.id, party_size=2)).status_code == 201
    response = await register(client, full.id, email="deuxieme@exemple.qc.ca")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "event_full"
    assert "complet" in response.json()["error"]["message"]

    event = await published_event()
    assert (await register(client, event.id)).status_code == 201
    response = await register(client, event.id, email="MARC-ANDRE.Tremblay@EXEMPLE.qc.ca")
    assert response.status_code == 202  # anonymous: no "already registered" (issue 13)
    assert response.json()["status"] == "check_email"
    assert await Registration.filter(event_id=event.id).count() == 1

    response = await register(client, 987654)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (await client.get("/api/v1/manage/nimportequoi")).status_code == 404
    assert (await client.delete("/api/v1/manage/nimportequoi")).status_code == 404


async def test_patch_party_size_and_answers(client, settings):
    event = await published_event(capacity=5, waitlist=True)
    question = await Question.create(event=event, kind="yes_no", label="Dîner?")
    mine = (await register(client, event.id, party_size=2)).json()
    other = (
        await service.register(event.id, person(1, party_size=3), settings=settings)
    ).registration
    waiting = (
        await service.register(event.id, person(2, party_size=1), settings=settings)
    ).registration
    assert waiting.status == RegistrationStatus.WAITLISTED
    url = f"/api/v1/manage/{mine['manage_token']}"

    response = await client.patch(url, json={"party_size": 3})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "event_full"
    assert (await Event.get(id=event.id)).seats_taken == 5

    response = await client.patch(url, json={"answers": {str(question.id): "peut-être"}})
    assert response.status_code == 422
    assert f"answers.{question.id}" in response.json()["error"]["fields"]
    response = await client.patch(url, json={"party_size": 0})
    assert response.status_code == 422
    response = await client.patch(url, json={"party_size": 1, "extra": 1})
    assert response.status_code == 422
    assert "extra" in response.json()["error"]["fields"]
    response = await client.patch(url, content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 400

    # A smaller party frees a place: the first on the waitlist is promoted.
    response = await client.patch(url, json={"party_size": 1, "answers": {str(question.id): "oui"}})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["party_size"] == 1 and data["status"] == "confirmed"
    registration = await Registration.get(public_id=mine["id"])
    assert registration.answers == {str(question.id): True}
    assert (await Registration.get(id=waiting.id)).status == RegistrationStatus.CONFIRMED
    assert (await Registration.get(id=other.id)).status == RegistrationStatus.CONFIRMED
    assert (await Event.get(id=event.id)).seats_taken == 5


async def test_delete_cancels_and_promotes(client, settings):
    event = await published_event(capacity=2, waitlist=True)
    mine = (await register(client, event.id, party_size=2)).json()
    waiting = (await register(client, event.id, email="attente@exemple.qc.ca")).json()
    assert waiting["status"] == "waitlisted"
    url = f"/api/v1/manage/{mine['manage_token']}"
    response = await client.delete(url)
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "cancelled" and data["ticket"] is None
    promoted = (await client.get(f"/api/v1/manage/{waiting['manage_token']}")).json()
    assert promoted["status"] == "confirmed" and promoted["ticket"] is not None
    assert promoted["waitlist_position"] is None

    again = await client.delete(url)
    assert again.status_code == 409
    response = await client.patch(url, json={"party_size": 1})
    assert response.status_code == 409
    # The same person may register again once cancelled.
    assert (await register(client, event.id, email="nouvelle@exemple.qc.ca")).status_code == 201


async def test_manage_token_only_opens_its_own_registration(client, settings):
    event = await published_event()
    mine = (await register(client, event.id)).json()
    other = (await register(client, event.id, email="autre@exemple.qc.ca")).json()
    token = mine["manage_token"]
    forged = other["id"] + "." + token.partition(".")[2]
    assert (await client.get(f"/api/v1/manage/{forged}")).status_code == 404
    assert (await client.delete(f"/api/v1/manage/{forged}")).status_code == 404
    response = await client.patch(f"/api/v1/manage/{forged}", json={"party_size": 2})
    assert response.status_code == 404
    assert (await Registration.get(public_id=other["id"])).status == RegistrationStatus.CONFIRMED


async def test_rate_limit_answers_429_with_retry_after(settings):
    from server import create_app

    event = await published_event()
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        url = f"/api/v1/events/{event.id}/registrations"
        statuses = []
        for _ in range(61):
            response = await c.post(url, content=b"{", headers={"content-type": "application/json"})
            statuses.append(response.status_code)
        assert statuses[:60] == [400] * 60
        assert statuses[60] == 429
        assert int(response.headers["retry-after"]) >= 1
        assert response.json()["error"]["code"] == "rate_limited"
        assert "réessayer" in response.json()["error"]["message"]
        # Another address is not affected.
    other = httpx.ASGITransport(app=app, client=("203.0.113.8", 40000))
    async with httpx.AsyncClient(transport=other, base_url=BASE) as c:
        assert (await c.post(url, json=body())).status_code == 201

    unlimited = create_app(
        dataclasses.replace(settings, rate_limit_enabled=False), manage_database=False
    )
    transport = httpx.ASGITransport(app=unlimited, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        for _ in range(70):
            response = await c.post(url, content=b"{", headers={"content-type": "application/json"})
            assert response.status_code == 400


async def test_openapi_documents_the_endpoints(client):
    document = (await client.get("/api/v1/openapi.json")).json()
    create = document["paths"]["/api/v1/events/{id}/registrations"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/RegistrationIn"
    )
    assert {"201", "409", "422", "429"} <= set(create["responses"])
    assert "security" not in create
    manage = document["paths"]["/api/v1/manage/{token}"]
    assert {"get", "patch", "delete"} <= set(manage)
    assert "RegistrationOut" in document["components"]["schemas"]


async def test_anonymous_duplicate_is_told_to_check_email(client, settings):
    """Issue 13: the anonymous API does not say who is registered: 202 check_email (no
    registration data), and the registrant is mailed their manage link."""
    from core.models import OutboundMessage

    event = await published_event()
    created = await register(client, event.id)
    assert created.status_code == 201
    registration = await Registration.get(event_id=event.id)
    await OutboundMessage.all().delete()
    response = await register(client, event.id, email="MARC-ANDRE.Tremblay@EXEMPLE.qc.ca")
    assert response.status_code == 202
    answer = response.json()
    assert answer["status"] == "check_email" and set(answer) == {"status", "message"}
    assert registration.ticket_code not in response.text
    assert registration.public_id not in response.text
    [sent] = await OutboundMessage.all()
    assert manage_links.manage_url(settings, registration) in sent.text_body
    assert await Registration.filter(event_id=event.id).count() == 1
    # Documented in the OpenAPI document: the description and a 202 response of its own.
    spec = (await client.get("/api/v1/openapi.json")).json()
    operation = spec["paths"]["/api/v1/events/{id}/registrations"]["post"]
    assert "check_email" in operation["description"] and "202" in operation["description"]
    schema = operation["responses"]["202"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/CheckEmailOut"}
    assert "status" in spec["components"]["schemas"]["CheckEmailOut"]["properties"]


async def test_token_duplicate_keeps_the_conflict(client, settings):
    """An API token is an authenticated channel: 409 already_registered, as before."""
    from tests.conftest import token_for

    event = await published_event()
    assert (await register(client, event.id)).status_code == 201
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {await token_for()}"}
    response = await client.post(
        f"/api/v1/events/{event.id}/registrations",
        json=body(email="MARC-ANDRE.Tremblay@EXEMPLE.qc.ca"),
        headers=headers,
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "already_registered"
    assert "lien de gestion" in error["message"]
    assert await Registration.filter(event_id=event.id).count() == 1
