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


@pytest.mark.parametrize(
    "filters",
    [
        YEAR_2026,
        ParticipationFilters(),
        ParticipationFilters(date_from=date(2026, 3, 1)),
        ParticipationFilters(plan_item="B"),
        ParticipationFilters(clientele="family", sector="education"),
    ],
)
async def test_same_results_as_one_report_per_grouping(data, filters):
    many = await participation_many(SYSTEM, filters, GROUPINGS, mask_below=2)
    assert [r.group_by for r in many] == GROUPINGS
    for result, keys in zip(many, GROUPINGS, strict=True):
        alone = await participation(SYSTEM, filters, keys, mask_below=2)
        assert result.rows == alone.rows
        assert result.totals == alone.totals


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
