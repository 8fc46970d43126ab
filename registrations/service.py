"""The registration lifecycle: register, change (party size, answers), cancel, approve,
decline, move, and the manage-link resend. Every entry point (HTML form, JSON API,
invitations, walk-ins, back office) goes through `register`.

The places, the status a registration gets and the waitlist belong to
`registrations.capacity`; every operation here that frees places calls
`capacity.release`, which promotes the waitlist in the same transaction. The e-mails are
`registrations.notices`, the questions and answers `registrations.answers`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import db
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import AppError, Conflict, NotFound, ValidationFailed
from core.i18n import _
from core.settings import Settings
from events.models import Event, PhoneField
from people.models import Clientele, ConsentPurpose, Organization, Territory
from people.phones import normalize_phone
from registrations import capacity, holds, limits, notices
from registrations.answers import clean_answers, event_questions
from registrations.capacity import SYSTEM, EventFull
from registrations.models import (
    ACTIVE_STATUSES,
    STAFF_SOURCES,
    Question,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)
from registrations.notices import notify, ticket_payload
from registrations.opening import check_open
from registrations.schemas import RegistrationIn

CONSENT_WORDING = {
    ConsentPurpose.EVENT_COMMUNICATIONS: "J'accepte de recevoir des communications au sujet "
    "des événements de l'instance régionale.",
    ConsentPurpose.NEWSLETTER: "J'accepte de recevoir l'infolettre de l'instance régionale.",
    ConsentPurpose.PHOTOS: "J'accepte d'être photographié·e pendant l'événement et que ces "
    "photos soient diffusées.",
    ConsentPurpose.PARENTAL: "Je suis le parent ou le tuteur légal et je consens à cette "
    "inscription.",
}


class AlreadyRegistered(Conflict):
    code = "already_registered"

    def default_message(self) -> str:
        return _(
            "Vous êtes déjà inscrit·e à cet événement. Utilisez le lien de gestion reçu par "
            "courriel pour modifier ou annuler votre inscription; nous pouvons vous le "
            "renvoyer."
        )


def check_email_message() -> str:
    """What the public channels answer when the e-mail is already registered: no
    "already registered" (it would tell anyone who attends what); the registrant is
    mailed their manage link (`resend_manage_link`)."""
    return _(
        "Un courriel vient d'être envoyé à l'adresse indiquée. Suivez ses instructions pour "
        "continuer."
    )


# --------------------------------------------------------------------------- register


def registration_phone(event: Event, phone: str, source: RegistrationSource) -> str:
    """The phone number to keep (E.164, or ""). The event's phone field governs what the
    public channels send (hidden: ignored; required: needed); the organizers' own channels
    may always record one. ValueError with the French message otherwise."""
    if source not in STAFF_SOURCES:
        if event.phone_field == PhoneField.HIDDEN:
            return ""
        if event.phone_field == PhoneField.REQUIRED and not phone.strip():
            raise ValueError(_("Indiquez un numéro de téléphone."))
    return normalize_phone(phone)


@dataclass
class RegistrationResult:
    registration: Registration
    waitlist_position: int | None
    person_created: bool


# What registering needs besides the event row, kept per process and keyed by the
# event's `updated_at`: an event save (its clienteles are set in the same transaction)
# and every question change (`answers._question_changed`) move it, so no process ever uses a
# stale copy, while the row itself is read fresh for every registration.
_EXTRAS: dict[int, tuple[datetime, list[Clientele], list[Question]]] = {}


async def _registering_event(
    event_id: int, actor: Principal | None, source: RegistrationSource
) -> tuple[Event, list[Clientele], list[Question]]:
    event = check_open(await db.first_where(Event, "id", event_id), actor, source)
    cached = _EXTRAS.get(event.id)
    if cached is not None and cached[0] == event.updated_at:
        return event, cached[1], cached[2]
    clienteles = list(await event.clienteles.all())
    questions = await event_questions(event.id)
    if len(_EXTRAS) > 1000:
        _EXTRAS.clear()
    _EXTRAS[event.id] = (event.updated_at, clienteles, questions)
    return event, clienteles, questions


def forget_cached_events() -> None:
    _EXTRAS.clear()
    notices.forget_cached_ics()


async def register(
    event_id: int,
    data: RegistrationIn,
    *,
    settings: Settings,
    source: RegistrationSource = RegistrationSource.FORM,
    actor: Principal | None = None,
    force_confirm: bool = False,
    seat_limit: limits.SeatLimit | None = None,
) -> RegistrationResult:
    """Register someone: the single entry point for every channel.

    Raises RegistrationClosed, EventFull, AlreadyRegistered, ValidationFailed, NotFound,
    RateLimited. `force_confirm` (walk-ins the organizer allowed over capacity) confirms
    even when full; `seat_limit`: where a public request comes from (`registrations.limits`).
    """
    event, targeted, questions = await _registering_event(event_id, actor, source)
    fields: dict[str, str] = {}
    clientele = next((c for c in targeted if c.code == data.clientele and c.active), None)
    if clientele is None:
        clientele = await Clientele.get_or_none(code=data.clientele, active=True)
        if clientele is None:
            fields["clientele"] = _("Clientèle inconnue.")
        elif targeted:
            fields["clientele"] = _("Choisissez une des clientèles visées par cet événement.")
    territory = None
    if data.territory:
        territory = await db.first_where(Territory, "code", data.territory)
        if territory is None:
            fields["territory"] = _("Territoire inconnu.")
    try:
        phone = registration_phone(event, data.phone, source)
    except ValueError as exc:
        fields["phone"] = str(exc)
    answers, answer_errors = clean_answers(questions, data.answers)
    fields.update(answer_errors)
    consents = []
    for purpose in data.consents:
        try:
            consents.append(ConsentPurpose(purpose))
        except ValueError:
            fields["consents"] = _("Consentement inconnu : %(p)s.", p=purpose)
    if (
        data.under_14
        and clientele is not None
        and clientele.code == "youth"
        and not (data.guardian_consent)
    ):
        fields["guardian_consent"] = _(
            "Pour un jeune de moins de 14 ans, le consentement d'un parent ou tuteur est requis."
        )
    if fields:
        raise ValidationFailed(fields=fields)
    capacity.check_party(event, data.party_size, force_confirm)
    channel = await limits.admit_channel(
        event, data.party_size, data.group_request, actor, source, seat_limit
    )
    assert clientele is not None
    if phone != data.phone:
        data = data.model_copy(update={"phone": phone})
    wanted = set(consents)
    if data.guardian_consent:
        wanted.add(ConsentPurpose.PARENTAL)
    draft = await notices.draft_registration(settings, event, data, source, force_confirm)
    # A unique key refused (the same person registering twice at once, a new person or
    # organization created concurrently, an id drawn twice) rolls the whole transaction
    # back; the next attempt sees what the other one wrote.
    for attempt in range(4):
        try:
            async with in_transaction():
                registration, person_created = await _register_in_transaction(
                    event,
                    data,
                    settings=settings,
                    source=source,
                    actor=actor,
                    force_confirm=force_confirm,
                    clientele=clientele,
                    territory=territory,
                    answers=answers,
                    consents=wanted,
                    draft=draft,
                    channel=channel,
                )
            break
        except IntegrityError:
            if attempt == 3:
                raise AppError(_("L'inscription n'a pas pu être enregistrée; réessayez.")) from None
            # New ids for the next attempt.
            draft = await notices.draft_registration(settings, event, data, source, force_confirm)
    # After the commit: the position among the waitlisted others can now see.
    position = await capacity.waitlist_position(registration)
    return RegistrationResult(registration, position, person_created)


async def _register_in_transaction(
    event: Event,
    data: RegistrationIn,
    *,
    settings: Settings,
    source: RegistrationSource,
    actor: Principal | None,
    force_confirm: bool,
    clientele: Clientele,
    territory: Territory | None,
    answers: dict[str, Any],
    consents: set[ConsentPurpose],
    draft: notices.Draft,
    channel: limits.Channel,
) -> tuple[Registration, bool]:
    """`register`'s writes, in the caller's transaction (validated input only)."""
    from people.models import Consent, Person
    from people.service import name_key, upsert_person

    organization = None
    if data.organization:
        key = name_key(data.organization)
        organization = await db.first_where(Organization, "name_key", key)
        if organization is None:
            organization = await Organization.create(name_key=key, name=data.organization)
    if not data.email:  # walk-ins may come without an e-mail: a new person each time
        person = await Person.create(
            first_name=data.first_name,
            last_name=data.last_name,
            email=None,
            email_key=None,
            language=data.language,
            clientele=clientele,
            territory=territory,
            organization=organization,
        )
        person_created = True
    else:
        person, person_created = await upsert_person(
            SYSTEM,
            first_name=data.first_name,
            last_name=data.last_name,
            email=data.email,
            language=data.language,
            clientele=clientele,
            territory=territory,
            organization=organization,
            phone=data.phone,
            # Only the organizers' own channels may correct an existing person's record.
            overwrite=source in STAFF_SOURCES,
        )
    active_key = f"{event.id}:{person.id}"
    # A person created just now has no registration yet (and a concurrent twin request
    # is still caught by the unique active_key).
    if not person_created and await Registration.exists(active_key=active_key):
        raise AlreadyRegistered()
    status = await capacity.decide_status(
        event, data.party_size, source, settings, force_confirm, approval=channel.group_request
    )
    now = datetime.now(UTC)
    status, hold = holds.held_status(settings, channel, status, now)
    registration = await Registration.create(
        public_id=draft.public_id,
        ticket_code=draft.ticket_code,
        event=event,
        person=person,
        active_key=active_key,
        status=status,
        clientele=clientele,
        organization=organization,
        territory=territory,
        language=data.language,
        party_size=data.party_size,
        answers=answers,
        under_14=data.under_14,
        guardian_consent=data.guardian_consent,
        source=source,
        waitlist_rank=capacity.new_rank() if status == RegistrationStatus.WAITLISTED else None,
        confirmed_at=now if status == RegistrationStatus.CONFIRMED else None,
        hold_expires_at=hold,
    )
    if consents:
        await Consent.bulk_create(
            [
                Consent(
                    person=person,
                    purpose=purpose,
                    granted=True,
                    source=f"registration:{source.value}",
                    wording=CONSENT_WORDING[purpose],
                )
                for purpose in sorted(consents)
            ]
        )
    await audit(
        actor or SYSTEM,
        "registration.created",
        registration,
        {
            "event": event.id,
            "status": status.value,
            "party_size": data.party_size,
            "source": source.value,
        },
    )
    registration.event = event
    registration.person = person
    registration.clientele = clientele
    await notices.notify_registered(settings, registration, draft, person)
    return registration, person_created


# --------------------------------------------------------------------------- changes


async def _locked(registration_id: int) -> Registration:
    query = Registration.filter(id=registration_id)
    from core.db import dialect

    if dialect() == "postgres":
        query = query.select_for_update()
    registration = await query.first()
    if registration is None:
        raise NotFound()
    return registration


async def cancel(
    settings: Settings,
    registration_id: int,
    *,
    actor: Principal | None = None,
    notify_person: bool = True,
) -> Registration:
    """Cancel; frees the places and promotes the waitlist in the same transaction."""
    async with in_transaction():
        registration = await _locked(registration_id)
        event_id = registration.event_id
        if actor is not None and actor.via != "system":
            authorize(actor, "registrations.manage", event_id=event_id)
        if not registration.is_active:
            raise Conflict(_("Cette inscription est déjà annulée."), code="already_cancelled")
        previous = registration.status
        registration.status = RegistrationStatus.CANCELLED
        registration.active_key = None
        registration.waitlist_rank = None
        registration.cancelled_at = datetime.now(UTC)
        await registration.save()
        await capacity.release(settings, event_id, previous, registration.party_size)
        await audit(
            actor or SYSTEM,
            "registration.cancelled",
            registration,
            {"from": previous.value, "to": "cancelled"},
        )
        if notify_person:
            await notify(settings, registration, "registration_cancelled")
    return registration


async def change_party_size(
    settings: Settings,
    registration_id: int,
    party_size: int,
    *,
    actor: Principal | None = None,
    seat_limit: limits.SeatLimit | None = None,
) -> Registration:
    """Re-checked against capacity (never above the whole capacity; a confirmed party
    grows only into free places); a smaller party, confirmed or waiting, promotes the
    waitlist in the same transaction."""
    async with in_transaction():
        registration = await _locked(registration_id)
        if actor is not None and actor.via != "system":
            authorize(actor, "registrations.manage", event_id=registration.event_id)
        if not registration.is_active:
            raise Conflict(_("Cette inscription est annulée."), code="cancelled")
        before = registration.party_size
        event_id = registration.event_id
        if party_size == before:
            return registration
        if actor is None:  # the registrant's own change (manage link): a public channel
            await limits.check_growth(event_id, before, party_size, seat_limit)
        await capacity.check_resize(event_id, registration.status, before, party_size)
        registration.party_size = party_size
        await registration.save(update_fields=["party_size", "updated_at"])
        await capacity.release(settings, event_id, registration.status, before - party_size)
        await audit(
            actor or SYSTEM,
            "registration.party_size_changed",
            registration,
            {"from": before, "to": party_size},
        )
    return registration


async def change_answers(registration: Registration, answers: dict[str, Any]) -> Registration:
    event_id = registration.event_id
    cleaned, errors = clean_answers(await event_questions(event_id), answers)
    if errors:
        raise ValidationFailed(fields=errors)
    registration.answers = cleaned
    await registration.save(update_fields=["answers", "updated_at"])
    await audit(SYSTEM, "registration.answers_changed", registration)
    return registration


async def modify_registration(
    settings: Settings,
    registration_id: int,
    *,
    party_size: int | None = None,
    answers: dict[str, Any] | None = None,
    actor: Principal | None = None,
    seat_limit: limits.SeatLimit | None = None,
) -> Registration:
    """A registrant's change (party size and/or answers): all of it or nothing."""
    async with in_transaction():
        if party_size is not None:
            await change_party_size(
                settings, registration_id, party_size, actor=actor, seat_limit=seat_limit
            )
        if answers is not None:
            registration = await Registration.get(id=registration_id)
            if not registration.is_active:
                raise Conflict(_("Cette inscription est annulée."), code="cancelled")
            await change_answers(registration, answers)
    return await Registration.get(id=registration_id)


async def approve(
    settings: Settings, actor: Principal, registration_ids: Iterable[int]
) -> dict[str, int]:
    """Approve pending registrations: confirmed if places allow, else waitlisted (or full)."""
    counts = {"confirmed": 0, "waitlisted": 0, "full": 0, "skipped": 0}
    for registration_id in registration_ids:
        async with in_transaction():
            registration = await _locked(registration_id)
            authorize(actor, "registrations.manage", event_id=registration.event_id)
            if registration.status != RegistrationStatus.PENDING_APPROVAL:
                counts["skipped"] += 1
                continue
            event = await Event.get(id=registration.event_id)
            try:
                registration.status = await capacity.admit(event, registration.party_size, settings)
            except (EventFull, capacity.PartyTooLarge):
                counts["full"] += 1
                continue
            if registration.status == RegistrationStatus.CONFIRMED:
                registration.confirmed_at = datetime.now(UTC)
            else:
                registration.waitlist_rank = capacity.new_rank()
            await registration.save()
            counts[registration.status.value] += 1
            await audit(
                actor,
                "registration.approved",
                registration,
                {"from": "pending_approval", "to": registration.status.value},
            )
            await notify(settings, registration, notices.template_for(registration.status))
    return counts


async def decline(settings: Settings, actor: Principal, registration_ids: Iterable[int]) -> int:
    declined = 0
    for registration_id in registration_ids:
        async with in_transaction():
            registration = await _locked(registration_id)
            event_id = registration.event_id
            authorize(actor, "registrations.manage", event_id=event_id)
            if not registration.is_active:
                continue
            previous = registration.status
            registration.status = RegistrationStatus.DECLINED
            registration.active_key = None
            registration.waitlist_rank = None
            await registration.save()
            await capacity.release(settings, event_id, previous, registration.party_size)
            await audit(
                actor,
                "registration.declined",
                registration,
                {"from": previous.value, "to": "declined"},
            )
            await notify(settings, registration, "registration_declined")
            declined += 1
    return declined


async def move(
    settings: Settings, actor: Principal, registration_id: int, target_event_id: int
) -> Registration:
    """Move a registration to another event (e.g. another territorial launch).

    Answers are not carried over: the other event's questions may differ.
    """
    authorize(actor, "registrations.manage")
    async with in_transaction():
        source = await _locked(registration_id)
        await source.fetch_related("person", "clientele", "territory", "organization")
        if not source.is_active:
            raise Conflict(_("Seule une inscription active peut être déplacée."))
        data = RegistrationIn.model_construct(
            first_name=source.person.first_name,
            last_name=source.person.last_name,
            email=source.person.email or "",
            clientele=source.clientele.code,
            organization=source.organization.name if source.organization else "",
            territory=source.territory.code if source.territory else None,
            phone="",
            language=source.language,
            party_size=source.party_size,
            answers={},
            consents=[],
            under_14=source.under_14,
            guardian_consent=source.guardian_consent,
        )
        await cancel(settings, source.id, actor=actor, notify_person=False)
        result = await register(
            target_event_id,
            data,
            settings=settings,
            source=RegistrationSource.BACKOFFICE,
            actor=actor,
        )
        await audit(
            actor,
            "registration.moved",
            result.registration,
            {"from_event": source.event_id, "to_event": target_event_id},
        )
    return result.registration


async def resend_manage_link(settings: Settings, event_id: int, email: str) -> None:
    """Mail the manage link to a registrant (silent when there is none: no enumeration)."""
    from people.service import email_key

    registration = (
        await Registration.filter(
            event_id=event_id, person__email_key=email_key(email), status__in=ACTIVE_STATUSES
        )
        .select_related("event", "person")
        .first()
    )
    if registration is None:
        return
    # A registration held until its e-mail is confirmed gets its confirmation link again.
    held = registration.status == RegistrationStatus.PENDING_EMAIL
    template = notices.template_for(registration.status) if held else "registration_link"
    await notify(settings, registration, template, dedupe_suffix=str(int(time.time() // 300)))


# --------------------------------------------------------------------------- manage


async def event_of(registration: Registration) -> Event:
    """The registration's event, as its manage pages show it."""
    return await Event.get(id=registration.event_id).select_related("territory")


async def clientele_of(registration: Registration) -> Clientele:
    clientele = registration.clientele
    if not isinstance(clientele, Clientele):
        clientele = await Clientele.get(id=registration.clientele_id)
    return clientele


async def ticket(settings: Settings, registration: Registration) -> str:
    """The QR payload of a registration's ticket: only a confirmed one has a ticket."""
    if registration.status != RegistrationStatus.CONFIRMED:
        raise NotFound(_("Cette inscription n'a pas de billet (elle n'est pas confirmée)."))
    return await ticket_payload(settings, registration)
