"""`participation_many`: several groupings of one set in one statement (the dashboard's)
give exactly what one `participation` call per grouping gives, on the hand-counted data
of tests/reports/dataset.py."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.auth import Principal
from core.errors import Forbidden, ValidationFailed
from core.models import Role
from reports.participation import ParticipationFilters, participation, participation_many
from tests.reports.dataset import SYSTEM, build
from tests.reports.test_participation import TOTALS_2026, YEAR_2026, measures


@pytest.fixture
async def data(db: Any) -> Any:
    return await build()


GROUPINGS = [
    ("clientele",),
    ("territory",),
    ("month",),
    ("plan_item",),
    ("clientele", "territory"),
    ("region", "sector"),
    ("axis", "kind"),
    ("event_territory", "edition"),
    (),
]


# Without a plan-item key: on PostgreSQL, one pass with GROUPING SETS
# (reports.participation_sql._grouping_sets); with one, the materialized set read once per
# grouping. Each compared with one report per grouping (itself one form or the other).
WITHOUT_PLAN_KEYS = [keys for keys in GROUPINGS if not {"plan_item", "axis"} & set(keys)]
# The totals' additive measures are summed from the first grouping whose rows partition the
# set (reports.participation_sql.build_many): here the last one, after two that do not.
PLAN_KEYS_FIRST = [("plan_item",), ("axis", "kind"), ("territory",)]


@pytest.mark.parametrize("groupings", [GROUPINGS, WITHOUT_PLAN_KEYS, PLAN_KEYS_FIRST])
@pytest.mark.parametrize(
    "filters",
    [
        YEAR_2026,
        ParticipationFilters(),
        ParticipationFilters(date_from=date(2026, 3, 1)),
        ParticipationFilters(plan_item="B"),
        ParticipationFilters(clientele="family", sector="education"),
        ParticipationFilters(date_from=date(2040, 1, 1)),  # nothing: every total is 0
    ],
)
async def test_same_results_as_one_report_per_grouping(data, filters, groupings):
    many = await participation_many(SYSTEM, filters, groupings, mask_below=2)
    assert [r.group_by for r in many] == groupings
    for result, keys in zip(many, groupings, strict=True):
        alone = await participation(SYSTEM, filters, keys, mask_below=2)
        assert result.rows == alone.rows
        assert result.totals == alone.totals
    if filters.date_from == date(2040, 1, 1):  # unmasked: zeros, not NULL sums
        for result in await participation_many(SYSTEM, filters, groupings):
            assert result.rows == []
            assert result.totals["registrations"] == result.totals["headcount"] == 0
            assert result.totals["people"] == result.totals["walkins"] == 0


async def test_the_dashboard_groupings_against_the_hand_counts(data):
    by_clientele, by_month, nothing = await participation_many(
        SYSTEM, YEAR_2026, [("clientele",), ("month",), ()]
    )
    assert measures(by_clientele.totals) == TOTALS_2026
    assert measures(by_month.totals) == TOTALS_2026
    assert [measures(r) for r in nothing.rows] == [TOTALS_2026]
    # Each registration is in one month: the months' registrations add up to the total.
    assert sum(r["registrations"] for r in by_month.rows) == TOTALS_2026[0]


async def test_checks_permission_and_every_grouping(data):
    with pytest.raises(Forbidden):
        checkin = Principal(user_id=1, email="x@exemple.qc.ca", role=Role.CHECKIN, via="session")
        await participation_many(checkin, YEAR_2026, [()])
    with pytest.raises(ValidationFailed):
        await participation_many(SYSTEM, YEAR_2026, [("clientele",), ("nope",)])


def rows_of(result: list[dict[str, Any]], j: int, size: int) -> list[tuple[Any, ...]]:
    from reports.participation_sql import AGGREGATE_NAMES

    return sorted(
        (
            tuple(str(row[f"g{j}k{i}"]) for i in range(size)),
            tuple(int(row[name]) for name in AGGREGATE_NAMES),
        )
        for row in result
        if row["g"] == j
    )


async def test_both_postgresql_forms_give_the_same_rows(data):
    """The one-pass GROUPING SETS statement and the materialized one, on the same
    groupings (PostgreSQL; SQLite has only the second)."""
    from datetime import UTC, datetime

    from tortoise import connections

    from reports import participation_sql as q
    from reports.participation import _month_range, _run, _where

    if connections.get("default").capabilities.dialect != "postgres":
        pytest.skip("GROUPING SETS: the PostgreSQL form only")
    groupings = [keys for keys in WITHOUT_PLAN_KEYS if keys]
    for filters in (YEAR_2026, ParticipationFilters()):
        where, months, now = await _where(filters), await _month_range(filters), datetime.now(UTC)
        one_pass = q._grouping_sets(groupings, where, now, months)
        assert one_pass is not None
        assert "GROUPING SETS" in one_pass[0]
        # The same groupings and the first one again: the materialized form.
        again = q.build_many([*groupings, groupings[0]], where, now, months, "postgres")
        assert "MATERIALIZED" in again[0]
        first = await _run(q.numbered(one_pass[0], "postgres"), one_pass[1], "postgres")
        second = await _run(q.numbered(again[0], "postgres"), again[1], "postgres")
        for j, keys in enumerate(groupings):
            assert rows_of(first, j, len(keys)) == rows_of(second, j, len(keys)) != []
        assert rows_of(first, -1, 0) == rows_of(second, -1, 0)
        assert len(rows_of(first, -1, 0)) == 1
