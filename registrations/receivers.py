"""What the registrations package does when other packages change things.

Connected at start-up by `connect(settings)` (called by `core.db.load_packages`):

- an event's capacity changes → the waitlist is promoted into the places freed;
- the periodic upkeep (`core.maintenance`) releases expired "confirmer par courriel"
  holds (`registrations.holds.expire_holds`);
- a published event's dates or place change → the change is recorded for its registrants
  (audit `event.change_recorded` with how many are concerned; the campaigns package sends
  the notice itself, and the cancellation notice too);
- a person's data is exported → their registrations, answers and check-ins are added;
- a person is erased → their registrations are anonymized (`anonymize_registrations`:
  answers, tickets and manage links, what was typed at the door, their messages), while
  the registrations (status, party size, clientele, territory) and check-ins stay, so
  that every count is unchanged;
- the periodic upkeep applies the retention rule (`registrations.retention`);
- the back-office home page asks for its panels (`registrations.panels`, and the door's
  `registrations.attendance.door_panel`).
"""

from __future__ import annotations

from typing import Any

from core.audit import audit
from core.i18n import iso_or_none
from core.mail.outbox import attachment_maker
from core.panels import dashboard_panels
from core.settings import Settings, load_settings
from events.signals import (
    CapacityChanged,
    EventChanged,
    capacity_changed,
    event_admin_panels,
    event_changed,
)
from people.signals import PersonErasing, PersonExporting, person_erasing, person_exporting
from registrations import attestation_mailing, holds
from registrations.attendance import door_panel
from registrations.capacity import promote_waitlist
from registrations.models import ACTIVE_STATUSES, Attestation, CheckIn, Registration
from registrations.notices import TICKET_QR_MAKER, ticket_qr_attachment
from registrations.panels import approvals_panel, today_panel, upcoming_panel
from registrations.retention import anonymize_registrations, register_upkeep

_current_settings: Settings | None = None


def _settings() -> Settings:
    return _current_settings or load_settings()


# --------------------------------------------------------------------------- events


async def expire_email_holds() -> int:
    """Periodic upkeep: release the "confirmer par courriel" holds past their time."""
    return await holds.expire_holds(_settings())


async def mail_attestations() -> int:
    """Periodic upkeep (woken on request): the certificate mailings asked for."""
    return await attestation_mailing.run_mailings(_settings())


async def promote_into_new_capacity(signal: CapacityChanged) -> None:
    await promote_waitlist(signal.event.id, _settings())


async def record_change_for_registrants(signal: EventChanged) -> int:
    """Record that the registrants of a changed event are owed a notice; returns how many."""
    event = signal.event
    concerned = await Registration.filter(event_id=event.id, status__in=ACTIVE_STATUSES).count()
    await audit(
        signal.actor,
        "event.change_recorded",
        event,
        {"registrants": concerned, "sequence": event.sequence, **signal.details},
    )
    return concerned


# --------------------------------------------------------------------------- people


async def export_registrations(signal: PersonExporting) -> dict[str, Any]:
    """Every registration of the person, with its answers and check-ins."""
    registrations = (
        await Registration.filter(person_id=signal.person.id)
        .select_related("event", "clientele", "territory", "organization")
        .order_by("created_at", "id")
    )
    checkins = await CheckIn.filter(registration_id__in=[r.id for r in registrations]).order_by(
        "checked_in_at", "id"
    )
    certificates = {
        a.registration_id: {
            "code": a.code,
            "days": a.days,
            "minutes": a.minutes,
            "issued_at": iso_or_none(a.issued_at),
            "revoked_at": iso_or_none(a.revoked_at),
        }
        for a in await Attestation.filter(registration_id__in=[r.id for r in registrations])
    }
    by_registration: dict[int, list[dict[str, Any]]] = {}
    for checkin in checkins:
        by_registration.setdefault(checkin.registration_id, []).append(
            {
                "day": checkin.day.isoformat(),
                "checked_in_at": iso_or_none(checkin.checked_in_at),
                "method": checkin.method,
                "undone_at": iso_or_none(checkin.undone_at),
            }
        )
    return {
        "registrations": [
            {
                "id": r.public_id,
                "event": {"id": r.event.id, "title": r.event.title},
                "status": str(r.status),
                "party_size": r.party_size,
                "clientele": r.clientele.code,
                "territory": r.territory.code if r.territory else None,
                "organization": r.organization.name if r.organization else None,
                "language": r.language,
                "source": str(r.source),
                "ticket_code": r.ticket_code,
                "answers": r.answers,
                "under_14": r.under_14,
                "guardian_consent": r.guardian_consent,
                "created_at": iso_or_none(r.created_at),
                "confirmed_at": iso_or_none(r.confirmed_at),
                "cancelled_at": iso_or_none(r.cancelled_at),
                "checkins": by_registration.get(r.id, []),
                "attestation": certificates.get(r.id),
            }
            for r in registrations
        ]
    }


async def erase_registrations(signal: PersonErasing) -> dict[str, int]:
    """Anonymize what the registrations hold on the person; every count stays."""
    ids = [row["id"] for row in await Registration.filter(person_id=signal.person.id).values("id")]
    return {"registrations_anonymized": await anonymize_registrations(ids)}


# --------------------------------------------------------------------------- start-up


def connect(settings: Settings) -> None:
    """Connect the receivers (idempotent) and keep the settings for links and mail."""
    global _current_settings
    _current_settings = settings
    attachment_maker.connect(ticket_qr_attachment, key=TICKET_QR_MAKER)
    capacity_changed.connect(promote_into_new_capacity)
    event_changed.connect(record_change_for_registrants)
    person_exporting.connect(export_registrations)
    person_erasing.connect(erase_registrations)
    dashboard_panels.connect(door_panel)
    dashboard_panels.connect(approvals_panel)
    dashboard_panels.connect(today_panel)
    dashboard_panels.connect(upcoming_panel)
    event_admin_panels.connect(attestation_mailing.event_panel)
    from core import maintenance

    maintenance.register("registrations.expire_email_holds", expire_email_holds)
    maintenance.register("registrations.mail_attestations", mail_attestations)
    register_upkeep(settings)
