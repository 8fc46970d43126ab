"""A person's data across packages: the export holds their registrations, answers,
check-ins and messages; erasure leaves no trace of them in any text column while every
count stays; a published event's date change reaches the registrations' receiver."""

from __future__ import annotations

import json
from typing import Any

from tortoise import Tortoise, fields

from core.models import AuditEntry, OutboundMessage, Role
from events.models import Event
from people.models import Person
from registrations.models import CheckIn, Question, QuestionKind, Registration
from tests.conftest import token_for
from tests.registrations.helpers import published_event

SECRETS = (
    "Zéphyrine",
    "Quennevillex",
    "zephyrine.q@exemple.qc.ca",
    "555-0199",
    "5550199",
    "arachides-secrètes",
)


async def _registered_checked_in_and_mailed(client: Any) -> tuple[Event, Person, int]:
    event = await published_event(capacity=50, starts_at="2030-02-16T09:00")
    question = await Question.create(
        event_id=event.id, kind=QuestionKind.SHORT_TEXT, label="Allergies", position=1
    )
    await Event.filter(id=event.id).update(title=event.title)  # bump updated_at (caches)
    r = await client.post(
        f"/api/v1/events/{event.id}/registrations",
        json={
            "first_name": "Zéphyrine",
            "last_name": "Quennevillex",
            "email": "zephyrine.q@exemple.qc.ca",
            "clientele": "family",
            "party_size": 2,
            "answers": {str(question.id): "arachides-secrètes"},
        },
    )
    assert r.status_code == 201, r.text
    payload = r.json()["ticket"]["qr_payload"]
    person = await Person.get(email_key="zephyrine.q@exemple.qc.ca")
    await Person.filter(id=person.id).update(phone="450 555-0199")
    # Someone else on the same event, who must keep everything.
    other = await client.post(
        f"/api/v1/events/{event.id}/registrations",
        json={
            "first_name": "Albert",
            "last_name": "Gagnon",
            "email": "albert.gagnon@exemple.qc.ca",
            "clientele": "youth",
        },
    )
    assert other.status_code == 201
    staff = {"Authorization": f"Bearer {await token_for(Role.ORGANIZER)}"}
    # Check-in window: scan at the event's start.
    await Event.filter(id=event.id).update(checkin_opens_minutes=60 * 24 * 365 * 10)
    await Event.filter(id=event.id).update(title="Colloque régional 2030")
    scan = await client.post(
        "/api/v1/checkin", json={"event_id": event.id, "payload": payload}, headers=staff
    )
    assert scan.status_code == 200 and scan.json()["result"] == "ok", scan.text
    assert await OutboundMessage.filter(person_id=person.id).count() >= 1
    return event, person, question.id


async def _counts(event_id: int) -> dict[str, Any]:
    event = await Event.get(id=event_id)
    regs = await Registration.filter(event_id=event_id).values_list(
        "status", "party_size", "clientele_id"
    )
    return {
        "seats_taken": event.seats_taken,
        "registrations": sorted(regs),
        "checkins": await CheckIn.filter(event_id=event_id, active_key__isnull=False).count(),
        "messages": await OutboundMessage.all().count(),
        "people": await Person.all().count(),
    }


async def _text_values() -> list[tuple[str, str, str]]:
    """Every value of every text or JSON column of every table: (table, column, text)."""
    found: list[tuple[str, str, str]] = []
    for app in Tortoise.apps.values():
        for model in app.values():
            columns = [
                name
                for name, field in model._meta.fields_map.items()
                if isinstance(field, fields.CharField | fields.TextField | fields.JSONField)
            ]
            if not columns:
                continue
            for row in await model.all().values(*columns):
                for column, value in row.items():
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value)
                    found.append((model._meta.db_table, column, text))
    return found


async def test_export_holds_registrations_answers_checkins_and_messages(client):
    event, person, question_id = await _registered_checked_in_and_mailed(client)
    admin = {"Authorization": f"Bearer {await token_for(Role.ADMIN)}"}
    r = await client.get(f"/api/v1/people/{person.id}/export", headers=admin)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["person"]["email"] == "zephyrine.q@exemple.qc.ca"
    (registration,) = data["registrations"]
    assert registration["event"] == {"id": event.id, "title": "Colloque régional 2030"}
    assert registration["party_size"] == 2 and registration["status"] == "confirmed"
    assert registration["answers"] == {str(question_id): "arachides-secrètes"}
    assert len(registration["checkins"]) == 1
    assert registration["checkins"][0]["undone_at"] is None
    assert data["messages"] and all(
        m["to_address"] == "zephyrine.q@exemple.qc.ca" for m in data["messages"]
    )
    assert any("Colloque" in m["subject"] for m in data["messages"])


async def test_erasure_leaves_no_trace_and_keeps_every_count(client):
    event, person, _question_id = await _registered_checked_in_and_mailed(client)
    before_text = await _text_values()
    assert any(s in text for s in SECRETS for _t, _c, text in before_text)  # the probe works
    before = await _counts(event.id)

    admin = {"Authorization": f"Bearer {await token_for(Role.ADMIN)}"}
    r = await client.post(f"/api/v1/people/{person.id}/erase", headers=admin)
    assert r.status_code == 200, r.text

    leaks = [
        (table, column, secret)
        for table, column, text in await _text_values()
        for secret in SECRETS
        if secret.lower() in text.lower()
    ]
    assert leaks == []
    assert await _counts(event.id) == before
    # The other registrant keeps everything.
    assert await Person.filter(email_key="albert.gagnon@exemple.qc.ca").exists()
    assert await OutboundMessage.filter(to_address="albert.gagnon@exemple.qc.ca").exists()
    # Nothing still queued for the erased person will be sent.
    assert not await OutboundMessage.filter(person_id=person.id, status="queued").exists()
    entry = await AuditEntry.get(action="person.erased")
    assert entry.details["registrations_anonymized"] == 1
    assert entry.details["messages_anonymized"] >= 1


async def test_a_date_change_reaches_the_registrations_receiver(client):
    event = await published_event(capacity=50)
    for n in range(3):
        r = await client.post(
            f"/api/v1/events/{event.id}/registrations",
            json={
                "first_name": f"P{n}",
                "last_name": "Test",
                "email": f"p{n}@exemple.qc.ca",
                "clientele": "youth",
            },
        )
        assert r.status_code == 201
    staff = {"Authorization": f"Bearer {await token_for(Role.ORGANIZER)}"}
    r = await client.patch(
        f"/api/v1/events/{event.id}",
        json={"starts_at": "2030-02-17T09:00", "ends_at": "2030-02-17T11:30"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    entry = await AuditEntry.get(action="event.change_recorded")
    assert entry.target_id == str(event.id)
    assert entry.details["registrants"] == 3
    assert entry.details["sequence"] == 1
    assert entry.details["to"][0].startswith("2030-02-17T")
