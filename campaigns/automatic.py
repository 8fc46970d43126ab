"""Automatic messages per event: the reminder, the thank-you, the change notices.

Each is on by default and switched per event (`Event.send_reminder`, `send_thanks`,
`send_change_notices`); all are transactional (they concern a registration the person
made), so they go out whatever the person's marketing preferences; every message carries
the sender identification (the outbox's base layouts).

- Change notices (`notify_change`, `notify_cancellation`), connected to
  `events.signals.event_changed` / `event_cancelled` by `campaigns.receivers`: in the
  changing transaction, one message per active registrant (confirmed, waitlisted, pending
  approval) with the event's ICS at its new SEQUENCE (METHOD:REQUEST for a move,
  METHOD:CANCEL for a cancellation). Dedupe key per event, SEQUENCE and registration: a
  second change is a second notice, the same change never twice.
- The reminder and the thank-you (`send_due_reminders`, `send_due_thanks`) are upkeep
  tasks (`core.maintenance`, beside the mail worker). The messages are rendered first,
  then each event is claimed with a conditional UPDATE (`reminders_sent_at IS NULL`) in
  the transaction that queues them: on PostgreSQL a second upkeep process blocks on the
  row lock then updates nothing; on SQLite write transactions are serialized (BEGIN
  IMMEDIATE). A crash rolls back both the claim and the queue, so the next run does it
  all once. The outbox's unique dedupe keys (inserted ON CONFLICT DO NOTHING) make a
  duplicate impossible even so. Who still qualifies (confirmed, attended) is read again
  inside the claiming transaction. For an event with an evaluation form, the evaluations
  package answers `campaigns.signals.thanks_sent_elsewhere`: its invitation is the
  thank-you and carries the participant's personal link, so this one only marks the
  event thanked (one message, not two).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from campaigns.signals import ThanksAsked, thanks_sent_elsewhere
from core.mail.outbox import compose_mail, insert_composed, queue_mail
from core.models import OutboundMessage
from core.settings import Settings
from events.ics import cancellation_ics, event_ics
from events.models import Event, EventStatus
from people.models import Person
from registrations.manage_links import manage_url
from registrations.models import ACTIVE_STATUSES, CheckIn, Registration, RegistrationStatus
from registrations.notices import TICKET_QR_MAKER, ticket_payload

MAX_REMINDER_DAYS = 60
# A thank-you is not sent for an event that ended longer ago than this (e.g. when the
# feature is switched on for an old event, or the upkeep was down for weeks).
THANKS_WINDOW = timedelta(days=7)
# The thank-you waits this long after the end (late check-ins, the room emptying).
THANKS_DELAY = timedelta(hours=2)


def _name(person: Person) -> str:
    return f"{person.first_name} {person.last_name}".strip()


def _reachable(person: Person) -> bool:
    return bool(person.email) and person.erased_at is None


async def _registrations(event_id: int, **filters: Any) -> list[Registration]:
    return list(
        await Registration.filter(event_id=event_id, **filters)
        .select_related("person")
        .order_by("id")
    )


def _ics_attachment(data: bytes, method: str, filename: str) -> dict[str, Any]:
    return {
        "filename": filename,
        "content_type": f"text/calendar; method={method}",
        "data": data,
        "content_id": None,
    }


# --------------------------------------------------------------------------- change notices


async def notify_change(settings: Settings, event: Event, details: dict[str, Any]) -> int:
    """Tell every active registrant that the dates or the place changed; how many."""
    if not event.send_change_notices:
        return 0
    count = 0
    for registration in await _registrations(event.id, status__in=ACTIVE_STATUSES):
        person = registration.person
        if not _reachable(person):
            continue
        ics = event_ics(
            event,
            settings.base_url,
            method="REQUEST",
            include_online_url=registration.status == RegistrationStatus.CONFIRMED,
        )
        await queue_mail(
            to_address=person.email or "",
            to_name=_name(person),
            template="event_changed",
            context={
                "event": event,
                "registration": registration,
                "person": person,
                "dates_changed": "to" in details,
                "place_changed": "place" in details,
                "manage_url": manage_url(settings, registration),
            },
            language=registration.language,
            dedupe_key=f"event_changed:{event.id}:{event.sequence}:{registration.public_id}",
            attachments=[_ics_attachment(ics, "REQUEST", "evenement.ics")],
            person_id=person.id,
            cause=("events.Event", event.id),
            settings=settings,
        )
        count += 1
    return count


async def notify_cancellation(settings: Settings, event: Event, message: str) -> int:
    """Tell every active registrant that the event is cancelled (ICS METHOD:CANCEL)."""
    if not event.send_change_notices:
        return 0
    count = 0
    for registration in await _registrations(event.id, status__in=ACTIVE_STATUSES):
        person = registration.person
        if not _reachable(person):
            continue
        ics = cancellation_ics(event, settings.base_url, attendee=person.email)
        await queue_mail(
            to_address=person.email or "",
            to_name=_name(person),
            template="event_cancelled",
            context={"event": event, "message": message, "person": person},
            language=registration.language,
            dedupe_key=f"event_cancelled:{event.id}:{registration.public_id}",
            attachments=[_ics_attachment(ics, "CANCEL", "annulation.ics")],
            person_id=person.id,
            cause=("events.Event", event.id),
            settings=settings,
        )
        count += 1
    return count


# --------------------------------------------------------------------------- reminders


def reminder_due(event: Event, now: datetime) -> bool:
    days = max(0, min(int(event.reminder_days_before), MAX_REMINDER_DAYS))
    return event.starts_at - timedelta(days=days) <= now < event.starts_at


async def _claim(event: Event, marker: str, now: datetime) -> bool:
    """Take the event's marker (`reminders_sent_at` / `thanks_sent_at`) if still free,
    for the dates seen; False when another run took it or the dates moved meanwhile."""
    rows = await Event.filter(
        id=event.id, starts_at=event.starts_at, status=event.status, **{marker: None}
    ).update(**{marker: now})
    return rows == 1


def _reminder(
    settings: Settings, event: Event, registration: Registration, payload: str, ics: bytes
) -> OutboundMessage:
    person = registration.person
    return compose_mail(
        to_address=person.email or "",
        to_name=_name(person),
        template="event_reminder",
        context={
            "event": event,
            "registration": registration,
            "person": person,
            "ticket_code": registration.ticket_code,
            "has_qr": True,
            "manage_url": manage_url(settings, registration),
        },
        language=registration.language,
        dedupe_key=(
            f"event_reminder:{event.id}:{event.starts_at.strftime('%Y%m%dT%H%M')}:"
            f"{registration.public_id}"
        ),
        attachments=[
            {
                "filename": "billet.png",
                "content_type": "image/png",
                "maker": TICKET_QR_MAKER,
                "source": payload,
                "content_id": "billet-qr",
            },
            _ics_attachment(ics, "PUBLISH", "evenement.ics"),
        ],
        person_id=person.id,
        cause=("events.Event", event.id),
        settings=settings,
    )


async def _queue_claimed(
    event: Event,
    marker: str,
    now: datetime,
    messages: dict[int, OutboundMessage],
    still: dict[str, Any],
) -> int:
    """Claim the event's marker and queue the messages made beforehand, in one
    transaction, for the registrations that still qualify (`still`: their filter, read
    again inside). Rendering happens before, so the write lock is held only for the
    inserts. Returns how many were queued (0 when another run had claimed it)."""
    async with in_transaction():
        if not await _claim(event, marker, now):
            return 0
        ids: list[Any] = list(
            await Registration.filter(
                event_id=event.id, id__in=list(messages), **still
            ).values_list("id", flat=True)
        )
        for registration_id in sorted(int(i) for i in ids):
            # ON CONFLICT DO NOTHING on the dedupe key: never a second copy.
            await insert_composed(messages[registration_id])
        return len(ids)


async def send_due_reminders(settings: Settings, now: datetime | None = None) -> int:
    """Queue the reminder of every event whose time has come; how many messages."""
    now = now or datetime.now(UTC)
    candidates = await Event.filter(
        status=EventStatus.PUBLISHED,
        send_reminder=True,
        reminders_sent_at=None,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(days=MAX_REMINDER_DAYS),
    ).order_by("starts_at", "id")
    queued = 0
    for event in candidates:
        if not reminder_due(event, now):
            continue
        ics = event_ics(event, settings.base_url, include_online_url=True)
        messages = {
            registration.id: _reminder(
                settings, event, registration, await ticket_payload(settings, registration), ics
            )
            for registration in await _registrations(event.id, status=RegistrationStatus.CONFIRMED)
            if _reachable(registration.person)
        }
        queued += await _queue_claimed(
            event, "reminders_sent_at", now, messages, {"status": RegistrationStatus.CONFIRMED}
        )
    return queued


# --------------------------------------------------------------------------- thank-yous


async def attendee_registration_ids(event_id: int) -> set[int]:
    """Registrations with a standing check-in (an undone one does not count)."""
    rows: list[Any] = list(
        await CheckIn.filter(event_id=event_id, undone_at=None).values_list(
            "registration_id", flat=True
        )
    )
    return {int(r) for r in rows}


def _thanks(settings: Settings, event: Event, registration: Registration) -> OutboundMessage:
    person = registration.person
    return compose_mail(
        to_address=person.email or "",
        to_name=_name(person),
        template="event_thanks",
        context={
            "event": event,
            "registration": registration,
            "person": person,
            "evaluation_url": event.evaluation_url,
        },
        language=registration.language,
        dedupe_key=f"event_thanks:{event.id}:{registration.public_id}",
        person_id=person.id,
        cause=("events.Event", event.id),
        settings=settings,
    )


async def send_due_thanks(settings: Settings, now: datetime | None = None) -> int:
    """Queue the thank-you of every event that ended, to those who attended."""
    now = now or datetime.now(UTC)
    candidates = await Event.filter(
        status__in=(EventStatus.PUBLISHED, EventStatus.COMPLETED),
        send_thanks=True,
        thanks_sent_at=None,
        ends_at__lte=now - THANKS_DELAY,
        ends_at__gte=now - THANKS_WINDOW,
    ).order_by("ends_at", "id")
    queued = 0
    for event in candidates:
        if any(await thanks_sent_elsewhere.send(ThanksAsked(event))):
            # Another package thanks for this event (e.g. its evaluation invitation).
            await _queue_claimed(event, "thanks_sent_at", now, {}, {})
            continue
        attended = sorted(await attendee_registration_ids(event.id))
        messages = {
            registration.id: _thanks(settings, event, registration)
            for registration in await _registrations(event.id, id__in=attended)
            if _reachable(registration.person)
        }
        queued += await _queue_claimed(event, "thanks_sent_at", now, messages, {})
    return queued
