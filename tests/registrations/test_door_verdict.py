"""The door rule alone (no database): every case of registrations/door_cases.json.

The tablet's offline copy of the rule is driven with the same cases in
tests/e2e/test_door_cases.py: changing a case breaks both."""

from __future__ import annotations

from typing import Any

import pytest

from registrations.checkin import door_verdict
from registrations.models import CheckinResult, RegistrationStatus
from tests.registrations.door_cases import case_id, load_cases, moment_of, status_of, window_of

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_door_verdict(case: dict[str, Any]) -> None:
    verdict = door_verdict(status_of(case), window_of(case), moment_of(case))
    assert verdict == CheckinResult(case["expected"])


def test_the_cases_cover_every_verdict_of_the_rule() -> None:
    decided_elsewhere = {
        CheckinResult.ALREADY_CHECKED_IN,  # the check-in's unique key (one per day)
        CheckinResult.WRONG_EVENT,  # the ticket's or the registration's event
    }
    expected = {CheckinResult(case["expected"]) for case in CASES}
    assert expected == set(CheckinResult) - decided_elsewhere
    assert {status_of(case) for case in CASES} == {*RegistrationStatus, None}
    assert len({case["name"] for case in CASES}) == len(CASES)
