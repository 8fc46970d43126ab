"""The door rule's case table (registrations/door_cases.json), read for the tests of both
copies of the rule: `checkin.door_verdict` (Python) and `decideOffline` (the tablet)."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from typing import Any

from registrations.checkin import CheckinWindow
from registrations.models import RegistrationStatus


def load_cases() -> list[dict[str, Any]]:
    text = resources.files("registrations").joinpath("door_cases.json").read_text("utf-8")
    cases: list[dict[str, Any]] = json.loads(text)
    return cases


def case_id(case: dict[str, Any]) -> str:
    return str(case["name"])


def window_of(case: dict[str, Any]) -> CheckinWindow:
    event = case["event"]
    return CheckinWindow.of(
        datetime.fromisoformat(event["starts_at"]),
        datetime.fromisoformat(event["ends_at"]),
        int(event["checkin_opens_minutes"]),
    )


def moment_of(case: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(case["moment"])


def status_of(case: dict[str, Any]) -> RegistrationStatus | None:
    return RegistrationStatus(case["status"]) if case["status"] is not None else None
