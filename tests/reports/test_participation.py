"""The participation report's measures against hand-computed expectations (tests/reports/
dataset.py describes the data; every number below is counted by hand from it)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.auth import Principal
from core.errors import Forbidden, ValidationFailed
from core.models import Role
from people.models import Person
from reports.participation import MEASURES, ParticipationFilters, participation
from tests.reports.dataset import SYSTEM, build

YEAR_2026 = ParticipationFilters(date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))

# registrations, headcount, attended_headcount, attendance_rate, walkins, no_shows,
# people, new_people, organizations
TOTALS_2026 = (10, 15, 14, 0.7333, 1, 3, 7, 6, 2)
E1_ROW = (6, 8, 6, 0.75, 1, 2, 6, 5, 2)
E2_ROW = (4, 7, 8, 0.7143, 0, 1, 4, 1, 2)


def measures(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[m] for m in MEASURES)


def table(result: Any) -> dict[Any, tuple[Any, ...]]:
    keys = result.group_by
    return {
        (row[keys[0]] if len(keys) == 1 else tuple(row[k] for k in keys)): measures(row)
        for row in result.rows
    }


async def report(group_by: tuple[str, ...] = (), **filters: Any) -> Any:
    base = YEAR_2026.__dict__ | filters
    return await participation(SYSTEM, ParticipationFilters(**base), group_by)


@pytest.fixture
async def data(db: Any) -> Any:
    return await build()


async def test_totals_of_the_year(data):
    result = await report()
    assert measures(result.totals) == TOTALS_2026
    assert [measures(r) for r in result.rows] == [TOTALS_2026]


async def test_totals_of_everything_count_the_past_year_and_the_future_event(data):
    result = await participation(SYSTEM, ParticipationFilters())
    # + r01 (2025, came) and r31, r32 (2030: not started, so outside the rate and no-shows)
    assert measures(result.totals) == (13, 21, 15, 0.75, 1, 3, 8, 8, 2)


async def test_by_clientele(data):
    result = await report(("clientele",))
    assert table(result) == {
        "youth": (2, 2, 1, 0.5, 0, 1, 2, 1, 0),
        "family": (4, 8, 11, 1.0, 0, 0, 2, 2, 1),
        "schools": (2, 2, 1, 0.5, 0, 1, 1, 1, 1),
        "society": (2, 3, 1, 0.3333, 1, 1, 2, 2, 1),
    }
    assert [r["clientele"] for r in result.rows] == ["youth", "family", "schools", "society"]
    assert result.rows[0]["clientele_label"] == "Jeunes et adultes concernés"
    assert measures(result.totals) == TOTALS_2026


async def test_by_participant_territory_and_region(data):
    by_mrc = await report(("territory",))
    assert table(by_mrc) == {
        "2419": (1, 1, 1, 1.0, 1, 0, 1, 1, 1),
        "2461": (4, 8, 10, 0.875, 0, 1, 3, 2, 1),
        "2463": (4, 4, 3, 0.75, 0, 1, 2, 2, 1),
        None: (1, 2, 0, 0.0, 0, 1, 1, 1, 1),
    }
    labels = {r["territory"]: r["territory_label"] for r in by_mrc.rows}
    assert labels == {
        "2419": "Bellechasse",
        "2461": "Joliette",
        "2463": "Montcalm",
        None: "Non précisé",
    }
    assert by_mrc.rows[-1]["territory"] is None  # not stated comes last
    by_region = await report(("region",))
    assert table(by_region) == {
        "12": (1, 1, 1, 1.0, 1, 0, 1, 1, 1),
        "14": (8, 12, 13, 0.8333, 0, 2, 5, 4, 1),
        None: (1, 2, 0, 0.0, 0, 1, 1, 1, 1),
    }


async def test_by_event_territory_kind_month_and_edition(data):
    assert table(await report(("event_territory",))) == {"2461": E1_ROW, "2463": E2_ROW}
    assert table(await report(("kind",))) == {"regional_event": E1_ROW, "training": E2_ROW}
    months = await report(("month",))
    assert table(months) == {"2026-02": E1_ROW, "2026-03": E2_ROW}
    assert months.rows[0]["month_label"] == "février 2026"
    editions = await report(("edition",))
    ed = data.events["ED"].id
    assert table(editions) == {ed: E1_ROW, None: E2_ROW}
    assert editions.rows[0]["edition_label"] == "JPS 2026"


async def test_by_sector(data):
    assert table(await report(("sector",))) == {
        "education": (4, 8, 10, 0.875, 0, 1, 2, 2, 1),
        "business": (2, 3, 1, 0.3333, 1, 1, 2, 2, 1),
        None: (4, 4, 3, 0.75, 0, 1, 3, 2, 0),
    }


async def test_by_plan_item_and_axis(data):
    # E1 is tagged 1.1.3; E2 is tagged 1.1.3, 1.1.1, 2.2.1 and the other plan's X: each
    # item counts its events.
    assert table(await report(("plan_item",))) == {
        "1.1.1": E2_ROW,
        "1.1.3": TOTALS_2026,
        "2.2.1": E2_ROW,
        "X": E2_ROW,
    }
    # E2's two items of axis A count it once under A.
    assert table(await report(("axis",))) == {"A": TOTALS_2026, "B": E2_ROW, "X": E2_ROW}
    both = await report(("axis", "plan_item"))
    assert table(both) == {
        ("A", "1.1.1"): E2_ROW,
        ("A", "1.1.3"): TOTALS_2026,
        ("B", "2.2.1"): E2_ROW,
        ("X", "X"): E2_ROW,
    }
    assert both.rows[0]["axis_label"] == "A Élément A"
    # One plan: its items only.
    plan_id = data.items["A"].plan_id
    assert table(await report(("axis",), plan_id=plan_id)) == {"A": TOTALS_2026, "B": E2_ROW}
    other_plan = await report(("plan_item",), plan_id=data.items["X"].plan_id)
    assert table(other_plan) == {"X": E2_ROW}
    assert measures(other_plan.totals) == E2_ROW
    # Events with no plan item are "not stated".
    everything = await participation(SYSTEM, ParticipationFilters(), ("axis",))
    assert table(everything)[None] == (3, 6, 1, 1.0, 0, 0, 2, 2, 1)


async def test_two_keys(data):
    result = await report(("clientele", "territory"))
    assert table(result) == {
        ("youth", "2461"): (2, 2, 1, 0.5, 0, 1, 2, 1, 0),
        ("family", "2461"): (2, 6, 9, 1.0, 0, 0, 1, 1, 1),
        ("family", "2463"): (2, 2, 2, 1.0, 0, 0, 1, 1, 0),
        ("schools", "2463"): (2, 2, 1, 0.5, 0, 1, 1, 1, 1),
        ("society", "2419"): (1, 1, 1, 1.0, 1, 0, 1, 1, 1),
        ("society", None): (1, 2, 0, 0.0, 0, 1, 1, 1, 1),
    }
    assert measures(result.totals) == TOTALS_2026


async def test_filters(data):
    async def totals(**filters: Any) -> tuple[Any, ...]:
        return measures((await report(**filters)).totals)

    assert await totals(clientele="family") == (4, 8, 11, 1.0, 0, 0, 2, 2, 1)
    assert await totals(territory="14") == (8, 12, 13, 0.8333, 0, 2, 5, 4, 1)
    assert await totals(territory="2419") == (1, 1, 1, 1.0, 1, 0, 1, 1, 1)
    assert await totals(sector="education") == (4, 8, 10, 0.875, 0, 1, 2, 2, 1)
    assert await totals(kind="training") == E2_ROW
    assert await totals(event_id=data.events["E1"].id) == E1_ROW
    assert await totals(edition_id=data.events["ED"].id) == E1_ROW
    assert await totals(plan_item="A") == TOTALS_2026
    assert await totals(plan_item="2.2") == E2_ROW
    # The start date, local time, both days included.
    assert await totals(date_to=date(2026, 2, 16)) == E1_ROW
    assert await totals(date_from=date(2026, 2, 17)) == E2_ROW
    # A plan-item filter keeps only its subtree's groups.
    only_b = await report(("plan_item",), plan_item="B")
    assert table(only_b) == {"2.2.1": E2_ROW}


async def test_new_people_are_new_over_all_time(data):
    # P1's first participation was in 2025: not new in 2026, new in 2025.
    youth_2025 = await participation(
        SYSTEM, ParticipationFilters(date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    )
    assert youth_2025.totals["new_people"] == 1
    # P2 and P3 first came in February: in March they are not new, P9 is.
    march = await report(date_from=date(2026, 3, 1))
    assert march.totals["people"] == 4
    assert march.totals["new_people"] == 1


async def test_erased_people_stay_counted_anonymously(data):
    p7 = await Person.get(id=data.people["P7"].id)
    assert p7.erased_at is not None and p7.email is None
    family = await report(clientele="family")
    assert family.totals["people"] == 2  # P2 and the erased P7
    assert family.totals["headcount"] == 8
    # Nothing in a row names anyone.
    for row in (await report(("clientele", "territory"))).rows:
        assert not any("Prénom" in str(v) or "@" in str(v) for v in row.values())


async def test_masking_small_cells(data):
    filters = ParticipationFilters(**YEAR_2026.__dict__)
    result = await participation(SYSTEM, filters, ("clientele",), mask_below=2)
    masked = {r["clientele"]: r["masked"] for r in result.rows}
    # schools (1 person) is hidden, and one more row so it cannot be subtracted back.
    assert masked == {"youth": True, "family": False, "schools": True, "society": False}
    hidden = next(r for r in result.rows if r["clientele"] == "schools")
    assert all(hidden[m] is None for m in MEASURES)
    assert hidden["clientele_label"].startswith("Institutions scolaires")
    assert measures(result.totals) == TOTALS_2026
    everything_hidden = await participation(SYSTEM, filters, ("clientele",), mask_below=8)
    assert all(r["masked"] for r in everything_hidden.rows)
    assert everything_hidden.totals["masked"] is True
    assert everything_hidden.totals["people"] is None


async def test_needs_reports_view(data):
    checkin = Principal(user_id=1, email="x@exemple.qc.ca", role=Role.CHECKIN, via="session")
    with pytest.raises(Forbidden):
        await participation(checkin, ParticipationFilters())
    reviewer = Principal(user_id=2, email="r@exemple.qc.ca", role=Role.REVIEWER, via="session")
    assert (await participation(reviewer, YEAR_2026)).totals["registrations"] == 10


@pytest.mark.parametrize(
    ("group_by", "filters"),
    [
        (("nope",), {}),
        (("clientele", "territory", "month"), {}),
        (("clientele", "clientele"), {}),
        ((), {"clientele": "inconnue"}),
        ((), {"territory": "9999"}),
        ((), {"sector": "spatial"}),
        ((), {"plan_item": "Z.9"}),
    ],
)
async def test_bad_input_is_refused_with_a_field_error(data, group_by, filters):
    with pytest.raises(ValidationFailed) as refused:
        await participation(SYSTEM, ParticipationFilters(**filters), group_by)
    assert refused.value.fields


async def test_month_and_dates_are_local_time(data):
    from tests.reports.dataset import local, make_event, register

    # 21 h on March 31 in Québec is April 1 in UTC: March, and inside "to=2026-03-31".
    late = await make_event(
        "Soirée", "activity", local(date(2026, 3, 31), 21), local(date(2026, 3, 31), 23), "2461"
    )
    await register(late, data.people["P11"], "society", "2419", party=2)
    march = await report(("month",), date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))
    assert table(march) == {"2026-03": (5, 9, 8, 0.5556, 0, 2, 5, 2, 2)}
    # A filter of centuries groups by the months that have events, quickly.
    wide = await participation(
        SYSTEM,
        ParticipationFilters(date_from=date(1900, 1, 1), date_to=date(2200, 12, 31)),
        ("month",),
    )
    assert [r["month"] for r in wide.rows] == ["2025-05", "2026-02", "2026-03", "2030-06"]
