"""The e-mails of a registration: the notice of each new state (the ticket QR inline and
the event's ICS when confirmed), and the message drafted before the registering
transaction for the status the seat counter then allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.settings import Settings
from events.models import Event
from registrations import tickets
from registrations.capacity import EventFull, fits, status_for, waitlist_position
from registrations.manage_links import confirm_url, manage_url
from registrations.models import Registration, RegistrationSource, RegistrationStatus
from registrations.schemas import RegistrationIn


async def ticket_payload(settings: Settings, registration: Registration) -> str:
    signer = await tickets.get_signer(settings.secret_key)
    return signer.sign(registration.event_id, registration.public_id)


TICKET_QR_MAKER = "ticket_qr"


def ticket_qr_attachment(payload: str) -> bytes:
    """The QR image mailed with a ticket (made by the mail worker from the payload)."""
    return tickets.qr_png(payload, box_size=6)


# A confirmed registrant's calendar file only changes when the event does (its DTSTAMP
# is the event's `updated_at`): made once per event version, base URL and language.
_ICS: dict[tuple[int, datetime, str, str], bytes] = {}


def _ticket_ics(event: Event, settings: Settings) -> bytes:
    from core.i18n import current_language
    from events.ics import event_ics

    key = (event.id, event.updated_at, settings.base_url, current_language.get())
    data = _ICS.get(key)
    if data is None:
        if len(_ICS) > 200:
            _ICS.clear()
        data = _ICS[key] = event_ics(event, settings.base_url, include_online_url=True)
    return data


async def notify(
    settings: Settings,
    registration: Registration,
    template: str,
    *,
    dedupe_suffix: str = "",
    new: bool = False,
) -> None:
    """Queue the e-mail for a registration's new state (ticket QR inline + ICS when confirmed).

    `new`: the registration was created in this transaction, so its message cannot be
    queued yet (one INSERT, nothing read back).
    """
    from core.mail.outbox import compose_mail, insert_composed, queue_mail

    event = (
        registration.event
        if isinstance(registration.event, Event)
        else await Event.get(id=registration.event_id)
    )
    person = (
        await registration.person
        if not hasattr(registration.person, "email")
        else (registration.person)
    )
    if not person.email:
        return
    payload = ""
    if _carries_ticket(registration.status, template):
        payload = await ticket_payload(settings, registration)
    message = _notice(
        settings,
        registration,
        event,
        person,
        template,
        payload=payload,
        position=await waitlist_position(registration),
        dedupe_suffix=dedupe_suffix,
    )
    if new:
        await insert_composed(compose_mail(**message))
    else:
        await queue_mail(**message)


def _carries_ticket(status: RegistrationStatus, template: str) -> bool:
    return status == RegistrationStatus.CONFIRMED and template in (
        "registration_confirmed",
        "registration_promoted",
        "registration_link",
    )


def _notice(
    settings: Settings,
    registration: Registration,
    event: Event,
    person: Any,
    template: str,
    *,
    payload: str,
    position: int | None,
    dedupe_suffix: str = "",
) -> dict[str, Any]:
    """The outbox arguments of a registration's e-mail (no I/O)."""
    attachments: list[dict[str, Any]] = []
    if payload:
        attachments.append(
            {
                "filename": "billet.png",
                "content_type": "image/png",
                "maker": TICKET_QR_MAKER,
                "source": payload,
                "content_id": "billet-qr",
            }
        )
        attachments.append(
            {
                "filename": "evenement.ics",
                "content_type": "text/calendar; method=PUBLISH",
                "data": _ticket_ics(event, settings),
                "content_id": None,
            }
        )
    return {
        "to_address": person.email,
        "to_name": f"{person.first_name} {person.last_name}".strip(),
        "template": template,
        "context": {
            "event": event,
            "registration": registration,
            "person": person,
            "manage_url": manage_url(settings, registration),
            # "Confirmer par courriel": the link that confirms a held registration.
            "confirm_url": confirm_url(settings, registration)
            if registration.status == RegistrationStatus.PENDING_EMAIL
            else "",
            "hold_expires_at": registration.hold_expires_at,
            "ticket_code": registration.ticket_code,
            "has_qr": bool(payload),
            "waitlist_position": position,
            "event_url": f"{settings.base_url}/events/{event.id}",
        },
        "language": registration.language,
        "dedupe_key": f"{template}:{registration.public_id}:{registration.status}:{dedupe_suffix}",
        "attachments": attachments,
        "person_id": person.id,
        "cause": ("registrations.Registration", registration.id),
        "settings": settings,
    }


def template_for(status: RegistrationStatus) -> str:
    return {
        RegistrationStatus.CONFIRMED: "registration_confirmed",
        RegistrationStatus.WAITLISTED: "registration_waitlisted",
        RegistrationStatus.PENDING_APPROVAL: "registration_pending",
        RegistrationStatus.DECLINED: "registration_declined",
        RegistrationStatus.CANCELLED: "registration_cancelled",
        RegistrationStatus.PENDING_EMAIL: "registration_confirm_email",
    }[status]


@dataclass
class Draft:
    """What a registration will be, made before its transaction: its ids and, for the
    status the seat counter then allows, its rendered e-mail. The transaction (the seat
    counter's conditional UPDATE) decides; a different status renders anew inside."""

    public_id: str
    ticket_code: str
    status: RegistrationStatus | None
    message: Any = None  # core.models.OutboundMessage


async def draft_registration(
    settings: Settings,
    event: Event,
    data: RegistrationIn,
    source: RegistrationSource,
    force_confirm: bool,
) -> Draft:
    draft = Draft(tickets.new_public_id(), tickets.new_ticket_code(), None)
    try:
        draft.status = status_for(event, source, fits(event, data.party_size), force_confirm)
    except EventFull:
        return draft
    if not data.email or draft.status == RegistrationStatus.WAITLISTED:
        return draft  # no mail, or one that shows the waitlist position (read inside)
    from core.mail.outbox import compose_mail
    from people.models import Person

    registration = Registration(
        public_id=draft.public_id,
        ticket_code=draft.ticket_code,
        event=event,
        status=draft.status,
        language=data.language,
        party_size=data.party_size,
    )
    person = Person(
        first_name=data.first_name.strip(), last_name=data.last_name.strip(), email=data.email
    )
    template = template_for(draft.status)
    payload = ""
    if _carries_ticket(draft.status, template):
        payload = await ticket_payload(settings, registration)
    draft.message = compose_mail(
        **_notice(settings, registration, event, person, template, payload=payload, position=None)
    )
    return draft


def forget_cached_ics() -> None:
    _ICS.clear()


async def notify_registered(
    settings: Settings, registration: Registration, draft: Draft, person: Any
) -> None:
    """Queue a new registration's notice (in its transaction): the message drafted before
    the transaction when the status it was drafted for held, else one rendered now."""
    if draft.message is not None and draft.status == registration.status and person.email:
        from core.mail.outbox import insert_composed

        draft.message.person_id = person.id
        draft.message.cause_id = str(registration.id)
        await insert_composed(draft.message)
    else:
        await notify(settings, registration, template_for(registration.status), new=True)
