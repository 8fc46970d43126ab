"""Retention (Loi 25): registrations to events past their period are anonymized by the
upkeep, people without activity nor consent are erased, counts stay, runs are idempotent,
safe side by side, and audited."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise import Tortoise, fields

from core import maintenance
from core.models import AuditEntry, OutboundMessage, Role, User
from core.settings import Settings
from events.models import Event
from people.models import Consent, ConsentPurpose, Person
from people.privacy import ANONYMIZED_LAST_NAME
from registrations.models import CheckIn, Question, QuestionKind, Registration, Scan
from registrations.retention import (
    apply_retention,
    months_before,
    preview_retention,
    register_upkeep,
)
from tests.conftest import make_user, token_for
from tests.registrations.helpers import published_event

NOW = datetime.now(UTC)


@pytest.fixture
def settings(db: Settings) -> Settings:
    # Many registrations come from one test address: the public channels' seats-per-address
    # limit (tests/registrations/test_abuse.py) is lifted here.
    return db.with_(public_seats_per_address_hour=0)


async def _register(client: Any, event: Event, n: int, **extra: Any) -> dict[str, Any]:
    body = {
        "first_name": f"Prénom{n}",
        "last_name": f"Secretnom{n}",
        "email": f"secret{n}@exemple.qc.ca",
        "clientele": ("youth", "family", "schools", "society")[n % 4],
        "territory": ("2462", "2464")[n % 2],
        "organization": f"Organisme {n % 3}",
        "party_size": 1 + n % 3,
    }
    body.update(extra)
    r = await client.post(f"/api/v1/events/{event.id}/registrations", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def _staff_token() -> str:
    from core.accounts import create_token
    from core.auth import Principal

    user = await User.get_or_none(email="porte@exemple.qc.ca") or await make_user(
        Role.CHECKIN, email="porte@exemple.qc.ca"
    )
    _token, raw = await create_token(Principal.system("tests"), user, "tests")
    return raw


async def _event_with_people(
    client: Any, ended_months_ago: int, *, people: range, retention_months: int | None = None
) -> tuple[Event, list[dict[str, Any]]]:
    """A published event with a custom question, registrants (answers, some checked in,
    mailed), then moved into the past so that it ended `ended_months_ago` months ago."""
    event = await published_event(capacity=500)
    question = await Question.create(
        event_id=event.id, kind=QuestionKind.SHORT_TEXT, label="Allergies", position=1
    )
    await Event.filter(id=event.id).update(checkin_opens_minutes=60 * 24 * 365 * 10)
    staff = {"Authorization": f"Bearer {await _staff_token()}"}
    answers = []
    for n in people:
        data = await _register(client, event, n, answers={str(question.id): f"réponse-{n}"})
        if n % 2 == 0:
            scan = await client.post(
                "/api/v1/checkin",
                json={"event_id": event.id, "payload": data["ticket"]["qr_payload"]},
                headers=staff,
            )
            assert scan.json()["result"] == "ok", scan.text
        data["pk"] = (await Registration.get(public_id=data["id"])).id
        answers.append(data)
    # A search typed at the door about someone.
    await Scan.filter(event_id=event.id).update(detail=f"recherche secret{people[0]}")
    ends = months_before(NOW, ended_months_ago) - timedelta(hours=1)
    await Event.filter(id=event.id).update(
        starts_at=ends - timedelta(hours=2), ends_at=ends, retention_months=retention_months
    )
    return await Event.get(id=event.id), answers


async def _backdate_people(months: int = 30) -> None:
    """Every person's record last changed `months` months ago (no recent activity)."""
    old = months_before(NOW, months)
    await Person.all().update(created_at=old, updated_at=old)


async def _report_counts(event_id: int) -> dict[str, Any]:
    """What the participation reports count for one event."""
    regs = await Registration.filter(event_id=event_id).values(
        "id",
        "status",
        "party_size",
        "source",
        "language",
        "clientele__code",
        "territory__code",
        "organization__sector",
        "person__clientele_id",
        "person__territory_id",
    )
    checkins = await CheckIn.filter(event_id=event_id).values(
        "registration_id", "day", "checked_in_at", "active_key", "method"
    )
    heads: Counter[str] = Counter()
    for r in regs:
        heads[f"clientele:{r['clientele__code']}"] += r["party_size"]
        heads[f"territory:{r['territory__code']}"] += r["party_size"]
        heads[f"sector:{r['organization__sector']}"] += r["party_size"]
        heads[f"status:{r['status']}"] += r["party_size"]
        heads[f"source:{r['source']}"] += 1
    return {
        "heads": dict(heads),
        "registrations": sorted((tuple(sorted(r.items())) for r in regs), key=str),
        "checkins": sorted((tuple(sorted(c.items())) for c in checkins), key=str),
        "seats_taken": (await Event.get(id=event_id)).seats_taken,
    }


async def _texts() -> list[str]:
    """Every text and JSON value of every table (to look for leftovers)."""
    found: list[str] = []
    for app in Tortoise.apps.values():
        for model in app.values():
            columns = [
                name
                for name, field in model._meta.fields_map.items()
                if isinstance(field, fields.CharField | fields.TextField | fields.JSONField)
            ]
            for row in await model.all().values(*columns) if columns else []:
                found += [v if isinstance(v, str) else json.dumps(v) for v in row.values() if v]
    return found


async def _event_texts(event_id: int) -> list[str]:
    """Every text still tied to one event: its registrations, their people, what was
    typed at its door, the messages its registrations caused."""
    regs = await Registration.filter(event_id=event_id).values()
    rows: list[dict[str, Any]] = list(regs)
    rows += await Person.filter(id__in=[r["person_id"] for r in regs]).values()
    rows += await Scan.filter(event_id=event_id).values()
    rows += await CheckIn.filter(event_id=event_id).values()
    rows += await OutboundMessage.filter(cause_id__in=[str(r["id"]) for r in regs]).values()
    rows += await OutboundMessage.filter(cause_type="events.Event", cause_id=str(event_id)).values()
    return [
        v if isinstance(v, str) else json.dumps(v, default=str)
        for r in rows
        for v in r.values()
        if v
    ]


def _leaks(texts: list[str], people: range) -> list[str]:
    secrets = [s for n in people for s in (f"secret{n}@", f"Secretnom{n}", f"réponse-{n}")]
    return [s for s in secrets for text in texts if s.lower() in text.lower()]


# --------------------------------------------------------------------------- events


async def test_an_event_ended_25_months_ago_is_anonymized_one_ended_23_months_ago_not(
    client, settings
):
    old, old_regs = await _event_with_people(client, 25, people=range(0, 6))
    recent, recent_regs = await _event_with_people(client, 23, people=range(10, 14))
    assert _leaks(await _texts(), range(0, 6))  # the probe finds them before

    report = await apply_retention(settings)

    assert report.registrations_anonymized == 6
    assert report.people_erased == 0  # every record changed today: they stay
    assert _leaks(await _event_texts(old.id), range(0, 6)) == []
    assert not [t for t in await _texts() if "réponse-" in t and "réponse-1" not in t]
    for data in old_regs:
        registration = await Registration.get(id=data["pk"]).select_related("person")
        assert registration.anonymized_at is not None
        assert registration.answers == {}
        assert registration.ticket_code != data["ticket"]["code"]
        assert registration.person.last_name == ANONYMIZED_LAST_NAME
        assert registration.person.email is None
        # The manage link and the ticket open nothing any more.
        assert (await client.get(f"/api/v1/manage/{data['manage_token']}")).status_code == 404
    # The people themselves stay (their records changed recently), without the old event.
    zero = await Person.get(email_key="secret0@exemple.qc.ca")
    assert not await Registration.filter(person_id=zero.id).exists()
    admin = {"Authorization": f"Bearer {await token_for(Role.ADMIN)}"}
    export = (await client.get(f"/api/v1/people/{zero.id}/export", headers=admin)).json()
    assert export["registrations"] == [] and export["messages"] == []
    # The event ended 23 months ago keeps everything.
    for data in recent_regs:
        registration = await Registration.get(id=data["pk"])
        assert registration.anonymized_at is None and registration.answers
        assert (await client.get(f"/api/v1/manage/{data['manage_token']}")).status_code == 200
    assert len(_leaks(await _event_texts(recent.id), range(10, 14))) >= 3 * 4
    assert old.id != recent.id


async def test_every_count_of_the_reports_is_the_same_after(client, settings):
    old, _regs = await _event_with_people(client, 30, people=range(0, 9))
    before = await _report_counts(old.id)
    assert before["checkins"] and len(before["heads"]) > 6

    await apply_retention(settings)

    after = await _report_counts(old.id)
    assert after == before
    assert await Registration.filter(event_id=old.id, anonymized_at__isnull=True).count() == 0


async def test_a_per_event_period_overrides_the_default_both_ways(client, settings):
    shorter, _ = await _event_with_people(client, 13, people=range(0, 2), retention_months=12)
    longer, _ = await _event_with_people(client, 25, people=range(10, 12), retention_months=36)
    default, _ = await _event_with_people(client, 13, people=range(20, 22))

    report = await apply_retention(settings)

    assert report.registrations_anonymized == 2
    assert await Registration.filter(event_id=shorter.id, anonymized_at__isnull=True).count() == 0
    assert await Registration.filter(event_id=longer.id, anonymized_at__isnull=False).count() == 0
    assert await Registration.filter(event_id=default.id, anonymized_at__isnull=False).count() == 0


async def test_a_shorter_default_period_comes_from_the_setting(client, settings):
    event, _ = await _event_with_people(client, 7, people=range(0, 2))
    assert (await apply_retention(settings)).changed == 0
    report = await apply_retention(settings.with_(retention_months=6))
    assert report.registrations_anonymized == 2
    assert await Registration.filter(event_id=event.id, anonymized_at__isnull=True).count() == 0


# --------------------------------------------------------------------------- people


async def test_inactive_people_without_consent_are_erased_the_others_kept(client, settings):
    old, _ = await _event_with_people(client, 25, people=range(0, 5))
    live, _ = await _event_with_people(client, 3, people=range(10, 11))
    await _backdate_people()
    by_email = {p.email_key: p for p in await Person.all()}
    inactive = by_email["secret0@exemple.qc.ca"]
    recent_consent = by_email["secret1@exemple.qc.ca"]
    old_consent = by_email["secret2@exemple.qc.ca"]
    withdrawn = by_email["secret3@exemple.qc.ca"]
    parental_only = by_email["secret4@exemple.qc.ca"]
    registered_recently = by_email["secret10@exemple.qc.ca"]
    long_ago = months_before(NOW, 40)
    for person, purpose, granted, at in (
        (recent_consent, ConsentPurpose.NEWSLETTER, True, NOW - timedelta(days=30)),
        (old_consent, ConsentPurpose.EVENT_COMMUNICATIONS, True, long_ago),
        (withdrawn, ConsentPurpose.NEWSLETTER, True, long_ago),
        (withdrawn, ConsentPurpose.NEWSLETTER, False, long_ago + timedelta(days=1)),
        (parental_only, ConsentPurpose.PARENTAL, True, long_ago),
    ):
        consent = await Consent.create(person=person, purpose=purpose, granted=granted, source="t")
        await Consent.filter(id=consent.id).update(at=at)
    # No consent, nothing for 30 months, but the contact of an event still in its period.
    contact = await Person.create(first_name="Contact", last_name="Secretnom99", email="c@x.ca")
    await _backdate_people()
    await Event.filter(id=live.id).update(contact_person_id=contact.id)

    preview = await preview_retention(settings)
    report = await apply_retention(settings)

    assert preview.people == report.people_erased == 3
    assert {p.id for p in await Person.filter(erased_at__isnull=False, email_key=None)} >= {
        inactive.id,
        withdrawn.id,
        parental_only.id,
    }
    for kept in (recent_consent, old_consent, registered_recently, contact):
        assert (await Person.get(id=kept.id)).erased_at is None
    for erased in (inactive, withdrawn, parental_only):
        person = await Person.get(id=erased.id)
        assert person.email is None and person.last_name == ANONYMIZED_LAST_NAME
        assert not await Consent.filter(person_id=person.id).exists()
        # Erased with their registrations attached: no anonymous copy was needed.
        assert await Registration.filter(person_id=person.id, event_id=old.id).count() == 1
    # The ones who stay lost the old event all the same.
    assert not await Registration.filter(person_id=recent_consent.id, event_id=old.id).exists()
    assert preview.registrations == report.registrations_anonymized == 5
    entries = await AuditEntry.filter(action="person.erased").values_list("details", flat=True)
    assert len(entries) == 3 and all(d["retention_months"] == 24 for d in entries)  # type: ignore[index]


async def test_a_recent_import_or_edit_is_activity(settings):
    old = months_before(NOW, 30)
    quiet = await Person.create(first_name="A", last_name="Calme", email="a@x.ca")
    edited = await Person.create(first_name="B", last_name="Modifiée", email="b@x.ca")
    await Person.filter(id=quiet.id).update(created_at=old, updated_at=old)
    await Person.filter(id=edited.id).update(created_at=old)  # updated today (an import)

    report = await apply_retention(settings)

    assert report.people_erased == 1
    assert (await Person.get(id=quiet.id)).erased_at is not None
    assert (await Person.get(id=edited.id)).erased_at is None


# --------------------------------------------------------------------------- runs


async def test_a_second_run_changes_nothing_and_each_run_is_audited(client, settings):
    await _event_with_people(client, 25, people=range(0, 4))
    await _backdate_people()
    first = await apply_retention(settings)
    assert first.people_erased == 4 and first.registrations_anonymized == 4
    entry = await AuditEntry.get(action="retention.applied")
    assert entry.actor_label == "système"
    assert entry.details == {
        "retention_months": 24,
        "people_erased": 4,
        "registrations_anonymized": 4,
    }
    texts = sorted(await _texts())
    people = await Person.all().count()

    second = await apply_retention(settings)

    assert second.changed == 0
    assert sorted(await _texts()) == texts
    assert await Person.all().count() == people
    # A periodic run that changed nothing leaves no entry; asked for, it does.
    assert await AuditEntry.filter(action="retention.applied").count() == 1
    from core.auth import Principal

    await apply_retention(settings, actor=Principal.system("cli"))
    assert await AuditEntry.filter(action="retention.applied").count() == 2


async def test_small_batches_do_the_same_work(client, settings):
    await _event_with_people(client, 25, people=range(0, 7))
    await _event_with_people(client, 26, people=range(10, 15))
    report = await apply_retention(settings, batch_size=3)
    assert report.registrations_anonymized == 12
    assert report.batches >= 4
    assert await Registration.filter(anonymized_at__isnull=True).count() == 0


async def test_concurrent_runs_share_the_work_and_do_it_once(client, settings):
    """Several upkeep runs at once (on PostgreSQL, each on its own connection): every
    registration and person is anonymized exactly once, and the counts add up."""
    await _event_with_people(client, 25, people=range(0, 12))
    await _event_with_people(client, 27, people=range(20, 32))
    await _backdate_people()
    assert await Person.all().count() == 24
    await Person.filter(email_key__in=[f"secret{n}@exemple.qc.ca" for n in range(0, 6)]).update(
        updated_at=NOW
    )  # six of them stay: their registrations are moved onto anonymous people

    reports = await asyncio.gather(*(apply_retention(settings, batch_size=4) for _ in range(4)))

    assert sum(r.registrations_anonymized for r in reports) == 24
    assert sum(r.people_erased for r in reports) == 18
    assert await Registration.filter(anonymized_at__isnull=True).count() == 0
    entries = await AuditEntry.filter(action="person.erased").count()
    assert entries == 18
    anonymous_copies = await Person.filter(
        erased_at__isnull=False, email_key=None, registrations__isnull=False
    ).distinct()
    assert len(anonymous_copies) == 24  # 18 erased + one copy for each of the 6 who stay
    assert await Person.all().count() == 24 + 6  # no copy made twice
    details = await AuditEntry.filter(action="retention.applied").values_list("details", flat=True)
    assert sum(d["registrations_anonymized"] for d in details) == 24  # type: ignore[index]


async def test_the_upkeep_runs_the_rule_at_most_hourly(client, settings):
    await _event_with_people(client, 25, people=range(0, 2))
    results = await maintenance.run_tasks_once()
    assert results["registrations.retention"] == 2
    await _event_with_people(client, 26, people=range(10, 11))
    assert (await maintenance.run_tasks_once())["registrations.retention"] == 0  # within the hour
    assert await Registration.filter(anonymized_at__isnull=True).count() == 1
    register_upkeep(settings, every=0)
    assert (await maintenance.run_tasks_once())["registrations.retention"] == 1
    assert (await maintenance.run_tasks_once())["registrations.retention"] == 0


async def test_messages_of_anonymized_registrations_are_emptied(client, settings):
    _, regs = await _event_with_people(client, 25, people=range(0, 2))
    ids = [str(r["pk"]) for r in regs]
    assert await OutboundMessage.filter(cause_id__in=ids).exclude(to_address="").exists()
    await apply_retention(settings)
    messages = await OutboundMessage.filter(
        cause_type="registrations.Registration", cause_id__in=ids
    )
    assert messages and all(m.to_address == "" and m.text_body == "" for m in messages)
    assert all(m.person_id is not None for m in messages)
    kept = {p.id for p in await Person.filter(email_key__isnull=False)}
    assert not {m.person_id for m in messages} & kept


def test_months_before_clamps_the_day():
    assert months_before(datetime(2027, 3, 31, 12, tzinfo=UTC), 1) == datetime(
        2027, 2, 28, 12, tzinfo=UTC
    )
    assert months_before(datetime(2027, 1, 15, tzinfo=UTC), 25) == datetime(
        2024, 12, 15, tzinfo=UTC
    )
