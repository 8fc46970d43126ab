"""What the tablets poll (live counts, latest scans, roster deltas) reads through indexes,
never by walking the event's registrations, check-ins or scans, nor every person: the
soak (bench/soak.py) saw these polls slow down as the event grew when SQLite's planner
picked an index that walked the event (the latest scans sorted every scan; a delta's
rows filtered by event then by id; people ordered by name).

The plans are SQLite's (`EXPLAIN QUERY PLAN` on the statements these reads actually ran);
PostgreSQL chooses by its statistics, so these tests are skipped there."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import connections

from registrations import attendance, checkin, roster, service
from tests.conftest import dialect
from tests.registrations.helpers import SYSTEM, person
from tests.registrations.test_checkin import _event

# Tables that grow with an event: a full SCAN of one of them, or sorting their rows, is
# what made the polls slow down.
GROWING = (
    "registrations_registration",
    "registrations_checkin",
    "registrations_scan",
    "people_person",
)


@pytest.fixture
def statements(db, monkeypatch) -> list[tuple[str, list[Any]]]:
    """Every SELECT the database client runs from now on, with its values."""
    if dialect() != "sqlite":
        pytest.skip("plans of SQLite's planner")
    seen: list[tuple[str, list[Any]]] = []
    client = type(connections.get("default"))
    for name in ("execute_query", "execute_query_dict"):
        original = getattr(client, name)

        async def spy(self, query, values=None, _original=original):
            if query.lstrip().upper().startswith("SELECT"):
                seen.append((query, list(values or [])))
            return await _original(self, query, values)

        monkeypatch.setattr(client, name, spy)
    return seen


async def _plans(statements: list[tuple[str, list[Any]]]) -> list[tuple[str, list[str]]]:
    db = connections.get("default")
    found = []
    for query, values in statements:
        rows = await db.execute_query_dict("EXPLAIN QUERY PLAN " + query, values)
        found.append((query, [row["detail"] for row in rows]))
    return found


def _walks(detail: str) -> bool:
    """A plan step that reads a growing table whole (`SCAN table`, or its alias in the
    hand-written counts)."""
    words = detail.split()
    return len(words) > 1 and words[0] == "SCAN" and words[1] in (*GROWING, "r", "c", "s")


async def _door(settings, n: int = 6):
    event = await _event()
    regs = [
        (await service.register(event.id, person(i), settings=settings)).registration
        for i in range(n)
    ]
    for registration in regs[:3]:
        await checkin.check_in(
            settings, SYSTEM, event_id=event.id, registration_id=registration.public_id
        )
    return event, regs


async def test_live_poll_reads_latest_scans_and_counts_from_indexes(settings, statements):
    event, _regs = await _door(settings)
    statements.clear()
    recent = await attendance.recent_scans(event.id, 15)
    counts = await attendance.counts(event)
    assert len(recent) == 3 and counts["present"] == 3 and counts["registered"] == 6

    plans = await _plans(statements)
    scans = [p for q, p in plans if "registrations_scan" in q.split("FROM", 1)[1][:40]]
    assert scans and all("TEMP B-TREE" not in d for d in scans[0]), scans
    heads = [p for q, p in plans if "SUM(party_size)" in q]
    assert heads and any("COVERING INDEX" in d for d in heads[0]), heads
    present = [p for q, p in plans if "FROM registrations_checkin c" in q]
    assert present and any("COVERING INDEX" in d for d in present[0]), present
    for query, details in plans:
        assert not any(_walks(d) for d in details), (query, details)


async def test_roster_delta_reads_only_what_changed(settings, statements):
    event, regs = await _door(settings)
    first = await roster.roster(settings, SYSTEM, event.id)
    await checkin.check_in(settings, SYSTEM, event_id=event.id, registration_id=regs[4].public_id)
    statements.clear()
    delta = await roster.roster(settings, SYSTEM, event.id, since=first["cursor"])
    assert delta["full"] is False
    assert regs[4].public_id in {row[0] for row in delta["rows"]}

    for query, details in await _plans(statements):
        assert not any(_walks(d) for d in details), (query, details)
        if 'FROM "registrations_registration"' in query and '"id" IN' in query:
            # the changed rows by primary key, not the event's rows filtered by id
            assert any("INTEGER PRIMARY KEY" in d for d in details), (query, details)
