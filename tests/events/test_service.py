"""Event services: validation, editions, duplication, audit, listing filters."""

from datetime import UTC, datetime

import pytest

from core.auth import Principal
from core.errors import Conflict, Forbidden, ValidationFailed
from core.models import AuditEntry, Role
from events import editions, listing, service
from events.models import Event, EventKind, EventStatus
from events.schemas import EventIn
from people.models import Territory
from tests.conftest import make_user

SYSTEM = Principal.system("tests")


def event_in(**overrides) -> EventIn:
    values = {
        "title": "Colloque régional",
        "kind": "regional_event",
        "starts_at": "2027-02-16T09:00",
        "ends_at": "2027-02-16T11:30",
        "venue_name": "Cégep régional de Lanaudière",
        "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
        "territory": "2462",
        "clienteles": ["youth", "schools"],
    }
    values.update(overrides)
    return EventIn.model_validate(values)


async def jps_edition() -> Event:
    edition = await service.create_event(
        SYSTEM,
        event_in(
            title="JPS 2027",
            kind="perseverance_days",
            starts_at="2027-02-15T00:00",
            ends_at="2027-02-19T23:59",
            territory="14",
            venue_name="Lanaudière",
        ),
    )
    await service.publish_event(SYSTEM, edition.id)
    return edition


async def test_create_stores_utc_from_local_time(db):
    event = await service.create_event(SYSTEM, event_in())
    await event.refresh_from_db()
    assert event.starts_at == datetime(2027, 2, 16, 14, 0, tzinfo=UTC)
    assert event.ends_at == datetime(2027, 2, 16, 16, 30, tzinfo=UTC)
    assert event.status == EventStatus.DRAFT
    assert await AuditEntry.filter(action="event.created").count() == 1


async def test_validation_reports_every_field_in_french(db):
    with pytest.raises(ValidationFailed) as err:
        await service.create_event(
            SYSTEM, event_in(ends_at="2027-02-16T08:00", territory="9999", clienteles=["aliens"])
        )
    fields = err.value.fields
    assert fields["ends_at"] == "La fin doit être après le début."
    assert "Territoire inconnu" in fields["territory"]
    assert "Clientèle inconnue" in fields["clienteles"]
    assert await Event.all().count() == 0


async def test_organizer_only(db):
    user = await make_user(Role.CHECKIN)
    with pytest.raises(Forbidden):
        await service.create_event(Principal.for_user(user), event_in())


async def test_date_change_bumps_sequence_and_is_audited(db):
    event = await service.create_event(SYSTEM, event_in())
    await service.update_event(
        SYSTEM, event.id, event_in(starts_at="2027-02-17T09:00", ends_at="2027-02-17T11:30")
    )
    await event.refresh_from_db()
    assert event.sequence == 1
    entry = await AuditEntry.get(action="event.dates_changed")
    assert entry.details["sequence"] == 1
    await service.update_event(
        SYSTEM,
        event.id,
        event_in(starts_at="2027-02-17T09:00", ends_at="2027-02-17T11:30", capacity=80),
    )
    await event.refresh_from_db()
    assert event.sequence == 1
    assert await AuditEntry.filter(action="event.capacity_changed").count() == 1


async def test_cancel_and_delete_rules(db):
    event = await service.create_event(SYSTEM, event_in())
    await service.publish_event(SYSTEM, event.id)
    with pytest.raises(Conflict):
        await service.delete_event(SYSTEM, event.id)
    cancelled, notified = await service.cancel_event(SYSTEM, event.id, "Tempête")
    assert cancelled.status == EventStatus.CANCELLED and cancelled.sequence == 1
    assert notified == 0
    draft = await service.create_event(SYSTEM, event_in())
    await service.delete_event(SYSTEM, draft.id)
    assert not await Event.exists(id=draft.id)


async def test_activity_must_fall_inside_the_jps_week(db):
    edition = await jps_edition()
    with pytest.raises(ValidationFailed) as err:
        await service.create_event(
            SYSTEM,
            event_in(
                kind="activity",
                parent_id=edition.id,
                starts_at="2027-02-22T09:00",
                ends_at="2027-02-22T10:00",
            ),
        )
    assert "pendant l'édition" in err.value.fields["starts_at"]
    ok = await service.create_event(SYSTEM, event_in(kind="activity", parent_id=edition.id))
    assert ok.parent_id == edition.id


async def test_territorial_launches_one_per_mrc(db):
    launch = await service.create_event(
        SYSTEM, event_in(title="Lancement du portrait 2027", kind="annual_launch", territory="14")
    )
    children = await editions.create_territorial_children(SYSTEM, launch.id)
    mrcs = await Territory.filter(parent__code="14").count()
    assert len(children) == mrcs == 6
    assert {c.kind for c in children} == {EventKind.ANNUAL_LAUNCH}
    again = await editions.create_territorial_children(SYSTEM, launch.id)
    assert again == []
    totals = await editions.edition_totals(launch)
    assert totals.children == 6 and totals.drafts == 6 and len(totals.territories) == 6


async def test_duplicate_next_year_keeps_weekday_and_children(db):
    edition = await jps_edition()
    await service.create_event(SYSTEM, event_in(kind="activity", parent_id=edition.id))
    copy = await editions.duplicate_event(SYSTEM, edition.id)
    assert copy.status == EventStatus.DRAFT
    assert copy.starts_at.weekday() == edition.starts_at.weekday()
    assert copy.starts_at.year == 2028
    assert await Event.filter(parent_id=copy.id).count() == 1
    assert copy.uid != edition.uid


async def test_public_filters(db):
    a = await service.create_event(
        SYSTEM, event_in(title="Atelier Joliette", territory="2462", clienteles=["youth"])
    )
    b = await service.create_event(
        SYSTEM, event_in(title="Atelier Matawinie", territory="2462", clienteles=["family"])
    )
    await service.create_event(SYSTEM, event_in(title="Brouillon"))
    for e in (a, b):
        await service.publish_event(SYSTEM, e.id)
    f = listing.EventFilters.from_params({"clientele": "youth"})
    events, total = await listing.list_events(None, f)
    assert [e.title for e in events] == ["Atelier Joliette"] and total == 1
    f = listing.EventFilters.from_params({"territory": "14"})  # region includes its MRCs
    assert (await listing.list_events(None, f))[1] == 2
    f = listing.EventFilters.from_params({"q": "matawinie"})
    assert [e.title for e in (await listing.list_events(None, f))[0]] == ["Atelier Matawinie"]
    f = listing.EventFilters.from_params({"from": "pas-une-date", "kind": "zzz"})
    assert set(f.errors) == {"from", "kind"}
