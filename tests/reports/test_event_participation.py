"""One event's participation summary (the function e2's event report reuses) and its panel
on the event's back-office page."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import NotFound
from reports.participation import MEASURES, event_participation
from tests.conftest import login
from tests.reports.dataset import SYSTEM, build


def measures(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[m] for m in MEASURES)


@pytest.fixture
async def data(db: Any) -> Any:
    return await build()


async def test_registered_against_attended_by_clientele_and_mrc(data):
    summary = await event_participation(SYSTEM, data.events["E1"].id)
    assert summary.started and summary.over
    # registrations, headcount, attended, rate, walk-ins, no-shows, people, new, orgs
    assert measures(summary.totals) == (6, 8, 6, 0.75, 1, 2, 6, 5, 2)
    assert {r["clientele"]: measures(r) for r in summary.by_clientele} == {
        "youth": (2, 2, 1, 0.5, 0, 1, 2, 1, 0),
        "family": (2, 4, 4, 1.0, 0, 0, 2, 2, 1),
        "schools": (1, 1, 0, 0.0, 0, 1, 1, 1, 1),
        "society": (1, 1, 1, 1.0, 1, 0, 1, 1, 1),
    }
    assert {r["territory"]: measures(r) for r in summary.by_territory} == {
        "2419": (1, 1, 1, 1.0, 1, 0, 1, 1, 1),
        "2461": (3, 5, 4, 0.8, 0, 1, 3, 2, 1),
        "2463": (2, 2, 1, 0.5, 0, 1, 2, 2, 1),
    }


async def test_multi_day_event_counts_presences_per_day(data):
    summary = await event_participation(SYSTEM, data.events["E2"].id)
    # P2's party of 3 came both days (6), P3 day 1 (1), P7 day 2 (1); P9's 2 never came.
    assert summary.totals["attended_headcount"] == 8
    assert summary.totals["headcount"] == 7
    assert summary.totals["attendance_rate"] == 0.7143  # 5 of the 7 heads came
    assert summary.totals["no_shows"] == 1


async def test_future_event_has_no_no_shows_and_no_rate(data):
    summary = await event_participation(SYSTEM, data.events["E3"].id)
    assert not summary.started
    assert measures(summary.totals) == (2, 5, 0, None, 0, 0, 2, 1, 1)


async def test_unknown_event(data):
    with pytest.raises(NotFound):
        await event_participation(SYSTEM, 999_999)


async def test_panel_on_the_event_page_once_started(data, client):
    await login(client, "organizer")
    page = await client.get(f"/admin/events/{data.events['E1'].id}")
    assert page.status_code == 200
    text = page.text
    assert "Participation" in text
    assert "8 inscrits · 6 présences" in text  # in all
    assert "taux de présence 75 %" in text
    assert "1 sur place" in text and "2 absences" in text
    assert "MRC : Joliette" in text and "5 inscrits · 4 présences" in text
    assert "Environnement immédiat" in text  # the family clientele's row
    future = await client.get(f"/admin/events/{data.events['E3'].id}")
    assert future.status_code == 200
    assert "présences" not in future.text
