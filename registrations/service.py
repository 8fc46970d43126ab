"""Registration services. `take_places`/`release_places` and `decide_status` own the
capacity, waitlist and approval rules; every entry point (HTML form, JSON API,
invitations, walk-ins, back office) goes through `register`.

Capacity counts heads (party sizes) of confirmed registrations, kept in
`Event.seats_taken` and changed only by a conditional atomic UPDATE inside the
registering transaction (`seats_taken <= capacity - n`), which is correct on SQLite
(one writer) and PostgreSQL (row lock, condition re-checked) alike.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.signals import post_delete, post_save
from tortoise.transactions import in_transaction

from core import db
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import AppError, Conflict, NotFound, ValidationFailed
from core.i18n import _
from core.settings import Settings
from events.models import Event, EventStatus, Visibility
from people.models import Clientele, ConsentPurpose, Organization, Territory
from registrations import tickets
from registrations.models import (
    ACTIVE_STATUSES,
    Question,
    QuestionKind,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)
from registrations.schemas import RegistrationIn

SYSTEM = Principal.system("inscriptions")
STAFF_SOURCES = {
    RegistrationSource.BACKOFFICE,
    RegistrationSource.WALKIN,
    RegistrationSource.IMPORT,
}
CONSENT_WORDING = {
    ConsentPurpose.EVENT_COMMUNICATIONS: "J'accepte de recevoir des communications au sujet "
    "des événements de l'instance régionale.",
    ConsentPurpose.NEWSLETTER: "J'accepte de recevoir l'infolettre de l'instance régionale.",
    ConsentPurpose.PHOTOS: "J'accepte d'être photographié·e pendant l'événement et que ces "
    "photos soient diffusées.",
    ConsentPurpose.PARENTAL: "Je suis le parent ou le tuteur légal et je consens à cette "
    "inscription.",
}


class EventFull(Conflict):
    code = "event_full"

    def default_message(self) -> str:
        return _("Cet événement est complet.")


class RegistrationClosed(Conflict):
    code = "registration_closed"

    def default_message(self) -> str:
        return _("Les inscriptions à cet événement sont fermées.")


class AlreadyRegistered(Conflict):
    code = "already_registered"

    def default_message(self) -> str:
        return _(
            "Vous êtes déjà inscrit·e à cet événement. Utilisez le lien de gestion reçu par "
            "courriel pour modifier ou annuler votre inscription; nous pouvons vous le "
            "renvoyer."
        )


# --------------------------------------------------------------------------- tokens


def manage_token(settings: Settings, registration: Registration) -> str:
    """`<public_id>.<HMAC>`: 144 secret bits derived from SECRET_KEY (nothing stored)."""
    mac = hmac.new(
        settings.secret_key.encode(), f"manage:{registration.public_id}".encode(), hashlib.sha256
    ).digest()[:18]
    return f"{registration.public_id}.{base64.urlsafe_b64encode(mac).decode()}"


async def by_manage_token(settings: Settings, token: str) -> Registration:
    public_id, _sep, _mac = token.partition(".")
    registration = await Registration.get_or_none(public_id=public_id[:32]).select_related(
        "event", "person", "clientele", "territory", "organization"
    )
    if registration is None or not hmac.compare_digest(manage_token(settings, registration), token):
        raise NotFound(_("Ce lien de gestion n'est pas valide."))
    return registration


def manage_url(settings: Settings, registration: Registration) -> str:
    return f"{settings.base_url}/manage/{manage_token(settings, registration)}"


# --------------------------------------------------------------------------- places


async def take_places(event_id: int, heads: int) -> bool:
    """Take `heads` places if they fit (atomic; call inside the transaction).

    One conditional UPDATE: no capacity, or enough room left — re-checked by the
    database under the row's write lock, so concurrent takers never oversell.
    """
    if heads <= 0:
        return True
    table = Event._meta.db_table
    updated = await db.execute(
        Event,
        f"UPDATE {table} SET seats_taken = seats_taken + ? "  # noqa: S608 - names from the model
        "WHERE id = ? AND (capacity IS NULL OR seats_taken <= capacity - ?)",
        [heads, event_id, heads],
    )
    return bool(updated)


async def release_places(event_id: int, heads: int) -> None:
    if heads > 0:
        await Event.filter(id=event_id).update(seats_taken=F("seats_taken") - heads)


def _rank() -> int:
    return time.time_ns()


async def waitlist_position(registration: Registration) -> int | None:
    if registration.status != RegistrationStatus.WAITLISTED or registration.waitlist_rank is None:
        return None
    rank = registration.waitlist_rank
    rows = await db.fetch_values(
        Registration,
        f"SELECT COUNT(*) AS ahead FROM {Registration._meta.db_table} "  # noqa: S608
        "WHERE event_id = ? AND status = ? AND (waitlist_rank < ? OR "
        "(waitlist_rank = ? AND id < ?))",
        [
            registration.event_id,  # type: ignore[attr-defined]
            RegistrationStatus.WAITLISTED.value,
            rank,
            rank,
            registration.id,
        ],
    )
    return int(rows[0]["ahead"]) + 1


async def promote_waitlist(event_id: int, settings: Settings) -> list[Registration]:
    """Confirm waitlisted registrations in order while places allow (caller's transaction)."""
    promoted: list[Registration] = []
    while True:
        candidate = (
            await Registration.filter(event_id=event_id, status=RegistrationStatus.WAITLISTED)
            .order_by("waitlist_rank", "id")
            .first()
        )
        if candidate is None:
            break
        if not await take_places(event_id, candidate.party_size):
            break
        now = datetime.now(UTC)
        updated = await Registration.filter(
            id=candidate.id, status=RegistrationStatus.WAITLISTED
        ).update(status=RegistrationStatus.CONFIRMED, confirmed_at=now, waitlist_rank=None)
        if not updated:  # promoted by someone else meanwhile
            await release_places(event_id, candidate.party_size)
            continue
        candidate.status = RegistrationStatus.CONFIRMED
        await audit(
            SYSTEM, "registration.promoted", candidate, {"from": "waitlisted", "to": "confirmed"}
        )
        await notify(settings, candidate, "registration_promoted")
        promoted.append(candidate)
    return promoted


# --------------------------------------------------------------------------- answers


async def event_questions(event_id: int) -> list[Question]:
    return list(await Question.filter(event_id=event_id, active=True).order_by("position", "id"))


def clean_answers(
    questions: list[Question], answers: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check answers against the event's questions; returns (answers, field errors)."""
    errors: dict[str, str] = {}
    by_id = {str(q.id): q for q in questions}
    for key in answers:
        if key not in by_id:
            errors[f"answers.{key}"] = _("Question inconnue pour cet événement.")
    cleaned: dict[str, Any] = {}
    for key, question in by_id.items():
        value = answers.get(key)
        field = f"answers.{key}"
        empty = value is None or value == "" or value == []
        if empty:
            if question.required:
                errors[field] = _("Cette question est obligatoire.")
            continue
        kind = QuestionKind(question.kind)
        if kind in (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT):
            limit = 200 if kind == QuestionKind.SHORT_TEXT else 5000
            if not isinstance(value, str):
                errors[field] = _("Une réponse en texte est attendue.")
            elif len(value) > limit:
                errors[field] = _("Réponse trop longue (%(n)s caractères au maximum).", n=limit)
            else:
                cleaned[key] = value.strip()
        elif kind == QuestionKind.SINGLE_CHOICE:
            if value not in question.choices:
                errors[field] = _("Choisissez une des options proposées.")
            else:
                cleaned[key] = value
        elif kind == QuestionKind.MULTIPLE_CHOICE:
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) and v in question.choices for v in values):
                errors[field] = _("Choisissez parmi les options proposées.")
            else:
                cleaned[key] = [c for c in question.choices if c in values]
        elif kind == QuestionKind.YES_NO:
            if isinstance(value, bool):
                cleaned[key] = value
            elif str(value).lower() in {"oui", "yes", "true", "1", "on"}:
                cleaned[key] = True
            elif str(value).lower() in {"non", "no", "false", "0", "off"}:
                cleaned[key] = False
            else:
                errors[field] = _("Répondez par oui ou par non.")
        elif kind == QuestionKind.NUMBER:
            try:
                number = float(str(value).replace(",", "."))
            except ValueError:
                errors[field] = _("Un nombre est attendu.")
            else:
                if abs(number) > 1_000_000_000:
                    errors[field] = _("Nombre hors limites.")
                else:
                    cleaned[key] = int(number) if number.is_integer() else number
    return cleaned, errors


# --------------------------------------------------------------------------- register


@dataclass
class RegistrationResult:
    registration: Registration
    waitlist_position: int | None
    person_created: bool


def check_open(event: Event | None, actor: Principal | None, source: RegistrationSource) -> Event:
    """The event if this caller may register to it now, else the matching error."""
    if event is None:
        raise NotFound()
    staff = actor is not None and actor.can("registrations.manage", event_id=event.id)
    if event.status not in (EventStatus.PUBLISHED,) and not (
        staff and event.status == EventStatus.DRAFT
    ):
        if event.status in (EventStatus.CANCELLED, EventStatus.COMPLETED):
            raise RegistrationClosed()
        raise NotFound()
    if (
        event.visibility == Visibility.PRIVATE
        and source not in STAFF_SOURCES | {RegistrationSource.INVITATION}
        and not staff
    ):
        raise NotFound()
    if source in STAFF_SOURCES and staff:
        return event
    now = datetime.now(UTC)
    if event.registration_is_open(now):
        return event
    if not event.registration_enabled:
        raise RegistrationClosed(_("Cet événement ne prend pas d'inscriptions en ligne."))
    if event.registration_opens_at and now < event.registration_opens_at:
        raise RegistrationClosed(_("Les inscriptions ne sont pas encore ouvertes."))
    raise RegistrationClosed()


async def open_event_for(
    event_id: int, actor: Principal | None, source: RegistrationSource
) -> Event:
    """The event (with its clienteles) if this caller may register to it now."""
    event = check_open(await Event.get_or_none(id=event_id), actor, source)
    await event.fetch_related("clienteles")
    return event


# What registering needs besides the event row, kept per process and keyed by the
# event's `updated_at`: an event save (its clienteles are set in the same transaction)
# and every question change (`_question_changed`) move it, so no process ever uses a
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


@post_save(Question)
async def _question_saved(sender: Any, instance: Question, *args: Any) -> None:
    await _question_changed(instance)


@post_delete(Question)
async def _question_deleted(sender: Any, instance: Question, *args: Any) -> None:
    await _question_changed(instance)


async def _question_changed(question: Question) -> None:
    """A question belongs to its event's registration form: the event changes with it."""
    await Event.filter(id=question.event_id).update(updated_at=datetime.now(UTC))  # type: ignore[attr-defined]


def forget_cached_events() -> None:
    _EXTRAS.clear()
    _ICS.clear()


async def register(
    event_id: int,
    data: RegistrationIn,
    *,
    settings: Settings,
    source: RegistrationSource = RegistrationSource.FORM,
    actor: Principal | None = None,
    force_confirm: bool = False,
) -> RegistrationResult:
    """Register someone: the single entry point for every channel.

    Raises RegistrationClosed, EventFull, AlreadyRegistered, ValidationFailed, NotFound.
    `force_confirm` (walk-ins the organizer allowed over capacity) confirms even when full.
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
    assert clientele is not None
    wanted = set(consents)
    if data.guardian_consent:
        wanted.add(ConsentPurpose.PARENTAL)
    draft = await _draft(settings, event, data, source, force_confirm)
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
                )
            break
        except IntegrityError:
            if attempt == 3:
                raise AppError(_("L'inscription n'a pas pu être enregistrée; réessayez.")) from None
            draft = await _draft(settings, event, data, source, force_confirm)  # new ids
    # After the commit: the position among the waitlisted others can now see.
    position = await waitlist_position(registration)
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
    draft: _Draft,
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
    status = await decide_status(event, data.party_size, source, force_confirm)
    now = datetime.now(UTC)
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
        waitlist_rank=_rank() if status == RegistrationStatus.WAITLISTED else None,
        confirmed_at=now if status == RegistrationStatus.CONFIRMED else None,
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
    if draft.message is not None and draft.status == status and person.email:
        # Made before the transaction for the status it was then bound to get.
        from core.mail.outbox import insert_composed

        draft.message.person_id = person.id
        draft.message.cause_id = str(registration.id)
        await insert_composed(draft.message)
    else:
        await notify(settings, registration, _template_for(status), new=True)
    return registration, person_created


@dataclass
class _Draft:
    """What a registration will be, made before its transaction: its ids and, for the
    status the seat counter then allows, its rendered e-mail. The transaction (the seat
    counter's conditional UPDATE) decides; a different status renders anew inside."""

    public_id: str
    ticket_code: str
    status: RegistrationStatus | None
    message: Any = None  # core.models.OutboundMessage


async def _draft(
    settings: Settings,
    event: Event,
    data: RegistrationIn,
    source: RegistrationSource,
    force_confirm: bool,
) -> _Draft:
    draft = _Draft(tickets.new_public_id(), tickets.new_ticket_code(), None)
    fits = event.capacity is None or event.seats_taken + data.party_size <= event.capacity
    try:
        draft.status = status_for(event, source, fits, force_confirm)
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
    template = _template_for(draft.status)
    payload = ""
    if _carries_ticket(draft.status, template):
        payload = await ticket_payload(settings, registration)
    draft.message = compose_mail(
        **_notice(settings, registration, event, person, template, payload=payload, position=None)
    )
    return draft


def _needs_approval(event: Event, source: RegistrationSource) -> bool:
    return event.requires_approval and source not in STAFF_SOURCES


def status_for(
    event: Event, source: RegistrationSource, fits: bool, force_confirm: bool = False
) -> RegistrationStatus:
    """Approval, then capacity (`fits`: the party has places), then waitlist."""
    if _needs_approval(event, source):
        return RegistrationStatus.PENDING_APPROVAL
    if fits or force_confirm:
        return RegistrationStatus.CONFIRMED
    if event.waitlist:
        return RegistrationStatus.WAITLISTED
    raise EventFull()


async def decide_status(
    event: Event, heads: int, source: RegistrationSource, force_confirm: bool = False
) -> RegistrationStatus:
    """`status_for` with the places taken (inside the registering transaction)."""
    if _needs_approval(event, source):  # no places taken before an organizer approves
        return RegistrationStatus.PENDING_APPROVAL
    fits = await take_places(event.id, heads)
    if not fits and force_confirm:
        await Event.filter(id=event.id).update(seats_taken=F("seats_taken") + heads)
    return status_for(event, source, fits, force_confirm)


def _template_for(status: RegistrationStatus) -> str:
    return {
        RegistrationStatus.CONFIRMED: "registration_confirmed",
        RegistrationStatus.WAITLISTED: "registration_waitlisted",
        RegistrationStatus.PENDING_APPROVAL: "registration_pending",
        RegistrationStatus.DECLINED: "registration_declined",
        RegistrationStatus.CANCELLED: "registration_cancelled",
    }[status]


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
        if actor is not None and actor.via != "system":
            authorize(actor, "registrations.manage", event_id=registration.event_id)  # type: ignore[attr-defined]
        if registration.status not in ACTIVE_STATUSES:
            raise Conflict(_("Cette inscription est déjà annulée."), code="already_cancelled")
        previous = registration.status
        registration.status = RegistrationStatus.CANCELLED
        registration.active_key = None
        registration.waitlist_rank = None
        registration.cancelled_at = datetime.now(UTC)
        await registration.save()
        if previous == RegistrationStatus.CONFIRMED:
            await release_places(registration.event_id, registration.party_size)  # type: ignore[attr-defined]
            await promote_waitlist(registration.event_id, settings)  # type: ignore[attr-defined]
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
    settings: Settings, registration_id: int, party_size: int, *, actor: Principal | None = None
) -> Registration:
    """Re-checked against capacity; a smaller party frees places for the waitlist."""
    async with in_transaction():
        registration = await _locked(registration_id)
        if actor is not None and actor.via != "system":
            authorize(actor, "registrations.manage", event_id=registration.event_id)  # type: ignore[attr-defined]
        if registration.status not in ACTIVE_STATUSES:
            raise Conflict(_("Cette inscription est annulée."), code="cancelled")
        delta = party_size - registration.party_size
        event_id = registration.event_id  # type: ignore[attr-defined]
        if delta == 0:
            return registration
        if registration.status == RegistrationStatus.CONFIRMED:
            if delta > 0 and not await take_places(event_id, delta):
                raise EventFull(_("Il ne reste pas assez de places pour agrandir votre groupe."))
            if delta < 0:
                await release_places(event_id, -delta)
        before = registration.party_size
        registration.party_size = party_size
        await registration.save(update_fields=["party_size", "updated_at"])
        if registration.status == RegistrationStatus.CONFIRMED and delta < 0:
            await promote_waitlist(event_id, settings)
        await audit(
            actor or SYSTEM,
            "registration.party_size_changed",
            registration,
            {"from": before, "to": party_size},
        )
    return registration


async def change_answers(registration: Registration, answers: dict[str, Any]) -> Registration:
    cleaned, errors = clean_answers(
        await event_questions(registration.event_id),
        answers,  # type: ignore[attr-defined]
    )
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
) -> Registration:
    """A registrant's change (party size and/or answers): all of it or nothing."""
    async with in_transaction():
        if party_size is not None:
            await change_party_size(settings, registration_id, party_size, actor=actor)
        if answers is not None:
            registration = await Registration.get(id=registration_id)
            if registration.status not in ACTIVE_STATUSES:
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
            authorize(actor, "registrations.manage", event_id=registration.event_id)  # type: ignore[attr-defined]
            if registration.status != RegistrationStatus.PENDING_APPROVAL:
                counts["skipped"] += 1
                continue
            event = await Event.get(id=registration.event_id)  # type: ignore[attr-defined]
            if await take_places(event.id, registration.party_size):
                registration.status = RegistrationStatus.CONFIRMED
                registration.confirmed_at = datetime.now(UTC)
            elif event.waitlist:
                registration.status = RegistrationStatus.WAITLISTED
                registration.waitlist_rank = _rank()
            else:
                counts["full"] += 1
                continue
            await registration.save()
            counts[registration.status.value] += 1
            await audit(
                actor,
                "registration.approved",
                registration,
                {"from": "pending_approval", "to": registration.status.value},
            )
            await notify(settings, registration, _template_for(registration.status))
    return counts


async def decline(settings: Settings, actor: Principal, registration_ids: Iterable[int]) -> int:
    declined = 0
    for registration_id in registration_ids:
        async with in_transaction():
            registration = await _locked(registration_id)
            authorize(actor, "registrations.manage", event_id=registration.event_id)  # type: ignore[attr-defined]
            if registration.status not in ACTIVE_STATUSES:
                continue
            previous = registration.status
            registration.status = RegistrationStatus.DECLINED
            registration.active_key = None
            registration.waitlist_rank = None
            await registration.save()
            if previous == RegistrationStatus.CONFIRMED:
                await release_places(registration.event_id, registration.party_size)  # type: ignore[attr-defined]
                await promote_waitlist(registration.event_id, settings)  # type: ignore[attr-defined]
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
        if source.status not in ACTIVE_STATUSES:
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
        )  # type: ignore[attr-defined]
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
    await notify(
        settings, registration, "registration_link", dedupe_suffix=str(int(time.time() // 300))
    )


# --------------------------------------------------------------------------- mail


async def ticket_payload(settings: Settings, registration: Registration) -> str:
    signer = await tickets.get_signer(settings.secret_key)
    return signer.sign(registration.event_id, registration.public_id)  # type: ignore[attr-defined]


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
        else await Event.get(
            id=registration.event_id  # type: ignore[attr-defined]
        )
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
