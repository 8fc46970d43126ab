"""The door's vocabulary, shared by the decisions (`registrations.checkin`), the roster
(`registrations.roster`) and the walk-ins: the check-in window, the door rule, the answer a
scan gets and the stored form of a nonce. No database access here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.i18n import _
from core.settings import local_tz
from events.models import Event
from registrations.models import CheckIn, CheckinResult, Registration, RegistrationStatus


def result_message(result: CheckinResult) -> str:
    return {
        CheckinResult.OK: _("Bienvenue!"),
        CheckinResult.ALREADY_CHECKED_IN: _("Déjà accueilli·e"),
        CheckinResult.INVALID: _("Billet invalide"),
        CheckinResult.WRONG_EVENT: _("Billet d'un autre événement"),
        CheckinResult.CANCELLED: _("Inscription annulée"),
        CheckinResult.WAITLISTED: _("Sur la liste d'attente"),
        CheckinResult.UNAPPROVED: _("Inscription pas encore approuvée"),
        CheckinResult.OUTSIDE_WINDOW: _("Hors de la période d'accueil"),
    }[result]


@dataclass
class ScanOutcome:
    result: CheckinResult
    registration: Registration | None = None
    checkin: CheckIn | None = None
    previous: CheckIn | None = None
    previous_device: str = ""
    right_event: Event | None = None
    scanned_at: datetime | None = None
    nonce: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The event's zone: the API gives datetimes with the event's local offset (the
    # configured zone when unknown, e.g. for a replayed answer).
    timezone: str = ""

    def _iso(self, value: datetime) -> str:
        return value.astimezone(
            ZoneInfo(self.timezone) if self.timezone else local_tz()
        ).isoformat()

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "result": self.result.value,
            "message": result_message(self.result),
            "nonce": self.nonce,
        }
        if self.registration is not None:
            body["registration"] = registration_summary(self.registration)
        if self.checkin is not None:
            body["checked_in_at"] = self._iso(self.checkin.checked_in_at)
            body["checkin_id"] = self.checkin.id
        if self.previous is not None:
            body["previous_checkin_at"] = self._iso(self.previous.checked_in_at)
            body["previous_device"] = self.previous_device
        if self.right_event is not None:
            body["right_event"] = {
                "id": self.right_event.id,
                "title": self.right_event.title,
                "starts_at": self.right_event.local_iso(self.right_event.starts_at),
            }
        body.update(self.extra)
        return body


def registration_summary(registration: Registration) -> dict[str, Any]:
    person = registration.person if hasattr(registration.person, "first_name") else None
    clientele = registration.clientele if hasattr(registration.clientele, "code") else None
    organization = registration.organization if hasattr(registration.organization, "name") else None
    return {
        "id": registration.public_id,
        "name": f"{person.first_name} {person.last_name}".strip() if person else "",
        "clientele": clientele.code if clientele else None,
        "clientele_name": clientele.name_fr if clientele else None,
        "organization": organization.name if organization else "",
        "party_size": registration.party_size,
        "status": registration.status.value
        if isinstance(registration.status, RegistrationStatus)
        else registration.status,
        "ticket_code": registration.ticket_code,
    }


def local_day(event: Event, moment: datetime) -> date:
    """The event day a moment falls on, in the event's own time zone."""
    return moment.astimezone(ZoneInfo(event.timezone)).date()


@dataclass(frozen=True)
class CheckinWindow:
    """When the door is open: from `checkin_opens_minutes` before the start to the end,
    both bounds included."""

    opens: datetime
    closes: datetime

    @classmethod
    def of(cls, starts_at: datetime, ends_at: datetime, opens_minutes: int) -> CheckinWindow:
        return cls(opens=starts_at - timedelta(minutes=opens_minutes), closes=ends_at)

    @classmethod
    def of_event(cls, event: Event) -> CheckinWindow:
        return cls.of(event.starts_at, event.ends_at, event.checkin_opens_minutes)

    def contains(self, moment: datetime) -> bool:
        return self.opens <= moment <= self.closes


def door_verdict(
    status: RegistrationStatus | None, window: CheckinWindow, moment: datetime
) -> CheckinResult:
    """The door rule for a registration of this event (None: no such registration).

    `ok` means "may come in": whether they already did today is the check-in's unique key
    (already_checked_in); a ticket of another event is wrong_event before this rule. The
    tablet's offline copy (static/checkin/app.js, decideOffline) follows the same cases
    (registrations/door_cases.json)."""
    if status is None:
        return CheckinResult.INVALID
    if status in (RegistrationStatus.CANCELLED, RegistrationStatus.DECLINED):
        return CheckinResult.CANCELLED
    if status == RegistrationStatus.WAITLISTED:
        return CheckinResult.WAITLISTED
    if status in (RegistrationStatus.PENDING_APPROVAL, RegistrationStatus.PENDING_EMAIL):
        return CheckinResult.UNAPPROVED  # not confirmed yet (by the team, or by e-mail)
    if not window.contains(moment):
        return CheckinResult.OUTSIDE_WINDOW
    return CheckinResult.OK


def scan_key(event_id: int, device_id: int | None, nonce: str | None) -> str | None:
    """The stored (unique) form of a client's nonce, scoped to the event and the device:
    the same nonce sent to another event's door (or by another device) is another scan,
    never a replay of the first one's answer. Fits the 64-character column (hashed when
    the readable form would not; the hashed form starts with "h:", never with a digit)."""
    if not nonce:
        return None
    key = f"{event_id}:{device_id or 0}:{nonce}"
    if len(key) <= 64:
        return key
    return "h:" + hashlib.sha256(key.encode()).hexdigest()[:62]
