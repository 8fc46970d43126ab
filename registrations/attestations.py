"""Attendance certificates ("attestations de participation").

For an event marked `gives_attestation`, each registration with an active check-in (one
not undone) gets a certificate once the event is over: a one-page PDF (core.pdf) with the
body's name (settings.mail_sender_address), the event, its dates, the days attended (for
an event of several days), the training time when the event states it, the attendee's
name and a QR code of its public verification link, `/attestations/verifier/<code>`.

The certificate (`Attestation`) is made the first time it is downloaded from the manage
page or mailed (`registrations.attestation_mailing`); what it states is refreshed from the
check-ins whenever it is made again. Staff may revoke one (audited): the verification
page then answers 410, and the attendee can no longer download it.

Hours: `Event.attestation_minutes` per day attended (`attestation_minutes_per_day`), or
for the whole event — whoever attended only some days of a multi-day event gets the share
of the days attended (rounded to the minute).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import i18n
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import AppError, Forbidden, NotFound, ValidationFailed
from core.i18n import _
from core.pdf import Certificate, Line, certificate_pdf
from core.settings import Settings
from events.models import Event, EventStatus
from people.models import Person
from registrations import tickets
from registrations.models import Attestation, CheckIn, Registration

CODE_LENGTH = 12
VERIFY_PATH = "/attestations/verifier/"
MAX_REASON = 300


class AttestationRevoked(AppError):
    status_code = 410
    code = "attestation_revoked"


# --------------------------------------------------------------------------- rules


def new_code() -> str:
    """12 characters of the ticket alphabet (no 0/O, 1/I/L): about 59 bits."""
    return "".join(secrets.choice(tickets.CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    return tickets.normalize_code(code[:40])


def display_code(code: str) -> str:
    """XXXX-XXXX-XXXX, easier to read aloud."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def verify_url(settings: Settings, code: str) -> str:
    return f"{settings.base_url}{VERIFY_PATH}{code}"


def is_over(event: Event, now: datetime | None = None) -> bool:
    """Certificates are given once the event has ended (and only if it took place)."""
    now = now or datetime.now(UTC)
    return event.status != EventStatus.CANCELLED and event.ends_at <= now


def event_day_count(event: Event) -> int:
    """The days of attendance the event has: its local days, but one for an event shorter
    than a day (an evening session past midnight is still one session)."""
    if event.ends_at - event.starts_at < timedelta(days=1):
        return 1
    first, last = event.days
    return (last - first).days + 1


def stated_minutes(event: Event, days_attended: int) -> int | None:
    """The training time a certificate states (None: the event states none)."""
    if event.attestation_minutes is None or days_attended <= 0:
        return None
    if event.attestation_minutes_per_day:
        return event.attestation_minutes * days_attended
    total_days = event_day_count(event)
    if days_attended >= total_days:
        return event.attestation_minutes
    return round(event.attestation_minutes * days_attended / total_days)


async def attended_days(registration_ids: list[int]) -> dict[int, list[date]]:
    """The days each registration was checked in (active check-ins only), sorted."""
    rows = await CheckIn.filter(
        registration_id__in=registration_ids, active_key__isnull=False
    ).values_list("registration_id", "day")
    days: dict[int, set[date]] = {}
    for registration_id, day in rows:
        days.setdefault(int(registration_id), set()).add(day)
    return {rid: sorted(found) for rid, found in days.items()}


@dataclass(frozen=True)
class Offer:
    """What the manage page says about a registration's certificate."""

    shown: bool  # the event gives certificates and this person was checked in
    ready: bool = False  # downloadable now
    revoked: bool = False
    message: str = ""


async def offer(registration: Registration, event: Event) -> Offer:
    if not event.gives_attestation or registration.anonymized_at is not None:
        return Offer(shown=False)
    if not (await attended_days([registration.id])).get(registration.id):
        return Offer(shown=False)
    existing = await Attestation.get_or_none(registration_id=registration.id)
    if existing is not None and existing.revoked_at is not None:
        return Offer(shown=True, revoked=True, message=_("Cette attestation a été révoquée."))
    if not is_over(event):
        return Offer(
            shown=True,
            message=_("Votre attestation de participation sera disponible ici après l'événement."),
        )
    return Offer(shown=True, ready=True)


# --------------------------------------------------------------------------- issuing


async def _create_with_code(**values: Any) -> Attestation:
    for _attempt in range(5):
        try:
            async with in_transaction():
                return await Attestation.create(using_db=None, code=new_code(), **values)
        except IntegrityError:
            existing = await Attestation.get_or_none(registration_id=values["registration_id"])
            if existing is not None:  # made meanwhile by another request
                return existing
    raise RuntimeError("no free attestation code")  # pragma: no cover - 59 bits


async def issue(registration: Registration, event: Event) -> Attestation:
    """The registration's certificate, made or refreshed from its check-ins.

    NotFound when the event gives none or the person was not checked in; Forbidden before
    the end of the event; AttestationRevoked (410) once revoked."""
    if not event.gives_attestation or registration.anonymized_at is not None:
        raise NotFound(_("Cet événement ne remet pas d'attestation de participation."))
    days = (await attended_days([registration.id])).get(registration.id, [])
    if not days:
        raise NotFound(_("Aucune présence n'est enregistrée pour cette inscription."))
    if not is_over(event):
        raise Forbidden(_("L'attestation sera disponible après l'événement."))
    day_texts = [day.isoformat() for day in days]
    minutes = stated_minutes(event, len(days))
    existing = await Attestation.get_or_none(registration_id=registration.id)
    if existing is None:
        return await _create_with_code(
            event_id=event.id,
            registration_id=registration.id,
            days=day_texts,
            minutes=minutes,
            issued_at=datetime.now(UTC),
        )
    if existing.revoked_at is not None:
        raise AttestationRevoked(_("Cette attestation a été révoquée."))
    if existing.days != day_texts or existing.minutes != minutes:
        existing.days, existing.minutes = day_texts, minutes
        await existing.save(update_fields=["days", "minutes"])
    return existing


# --------------------------------------------------------------------------- the PDF


@contextmanager
def speaking(language: str, zone: str) -> Iterator[None]:
    """Format texts and dates in `language` and the event's time zone."""
    lang = i18n.current_language.set(language if language in i18n.LANGUAGES else "fr")
    tz = i18n.current_timezone.set(zone)
    try:
        yield
    finally:
        i18n.current_language.reset(lang)
        i18n.current_timezone.reset(tz)


def format_minutes(minutes: int) -> str:
    """« 6 h 30 », « 3 h » (French); "6.5 hours" (English)."""
    hours, rest = divmod(minutes, 60)
    if i18n.current_language.get() == "fr":
        return f"{hours} h {rest:02d}" if rest else f"{hours} h"
    value = f"{minutes / 60:g}"  # English: "6.5 hours"
    return i18n.ngettext(
        "%(hours)s heure", "%(hours)s heures", 1 if minutes == 60 else 2, hours=value
    )


def _days_text(days: list[date]) -> str:
    texts = [i18n.format_day(day) for day in days]
    if len(texts) == 1:
        return texts[0]
    return _("%(first)s et %(last)s", first=", ".join(texts[:-1]), last=texts[-1])


def attestation_pdf(
    settings: Settings,
    attestation: Attestation,
    event: Event,
    person: Person,
    language: str = "fr",
) -> bytes:
    """The certificate as a PDF (same bytes for the same certificate and language)."""
    return certificate_pdf(attestation_certificate(settings, attestation, event, person, language))


def attestation_certificate(
    settings: Settings,
    attestation: Attestation,
    event: Event,
    person: Person,
    language: str = "fr",
) -> Certificate:
    """What the certificate's page says, in `language` (drawn by core.pdf)."""
    url = verify_url(settings, attestation.code)
    days = [date.fromisoformat(text) for text in attestation.days]
    with speaking(language, event.timezone):
        lines: list[Line | str] = [
            Line(_("Nous attestons que"), space_before=2),
            Line(f"{person.first_name} {person.last_name}".strip(), size=24, bold=True),
            Line(_("a participé à"), space_before=5),
            Line(event.title, size=17, bold=True),
            Line(i18n.format_event_dates(event), size=12),
        ]
        if event.venue_name:
            lines.append(Line(event.venue_name, size=11, space_before=1))
        if event_day_count(event) > 1 and days:
            lines.append(
                Line(
                    i18n.ngettext(
                        "Jour de présence : %(days)s",
                        "Jours de présence (%(num)s) : %(days)s",
                        len(days),
                        days=_days_text(days),
                    ),
                    size=12,
                    space_before=5,
                )
            )
        if attestation.minutes:
            lines.append(
                Line(
                    _(
                        "Durée de la formation : %(hours)s",
                        hours=format_minutes(attestation.minutes),
                    ),
                    size=12,
                    bold=True,
                    space_before=5 if event_day_count(event) == 1 else 2,
                )
            )
        lines.append(
            Line(
                _(
                    "Délivrée le %(date)s · code de vérification %(code)s",
                    date=i18n.format_day(attestation.issued_at),
                    code=display_code(attestation.code),
                ),
                size=10,
                space_before=7,
            )
        )
        certificate = Certificate(
            title=_("Attestation de participation"),
            heading=settings.mail_sender_address,
            lines=lines,
            footer=settings.mail_sender_address,
            qr_png=tickets.qr_png(url, box_size=6),
            qr_caption=_("Vérifier : %(url)s", url=url),
            created_at=attestation.issued_at,
            author=settings.mail_sender_address,
            language="fr-CA" if language == "fr" else "en-CA",
        )
    return certificate


def filename(attestation: Attestation) -> str:
    return f"attestation-{attestation.code}.pdf"


async def download(
    settings: Settings, registration: Registration, language: str
) -> tuple[Attestation, bytes]:
    """The attendee's own certificate, from their manage page."""
    event = await Event.get(id=registration.event_id)
    attestation = await issue(registration, event)
    person = await Person.get(id=registration.person_id)
    return attestation, attestation_pdf(settings, attestation, event, person, language)


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verification:
    """What the public verification page shows: nothing else personal."""

    code: str
    valid: bool
    event_title: str
    event: Event
    name: str  # "" when the person's data was erased or anonymized
    days: list[date]
    minutes: int | None
    issued_at: datetime
    revoked_at: datetime | None


async def verify(code: str) -> Verification:
    """NotFound for an unknown code; a revoked certificate is returned with valid=False."""
    normalized = normalize_code(code)
    if len(normalized) != CODE_LENGTH:
        raise NotFound(_("Aucune attestation ne correspond à ce code."))
    attestation = await Attestation.get_or_none(code=normalized).select_related(
        "event", "registration", "registration__person"
    )
    if attestation is None:
        raise NotFound(_("Aucune attestation ne correspond à ce code."))
    registration = attestation.registration
    person = registration.person
    erased = registration.anonymized_at is not None or person.erased_at is not None
    return Verification(
        code=attestation.code,
        valid=attestation.revoked_at is None,
        event_title=attestation.event.title,
        event=attestation.event,
        name="" if erased else f"{person.first_name} {person.last_name}".strip(),
        days=[date.fromisoformat(text) for text in attestation.days],
        minutes=attestation.minutes,
        issued_at=attestation.issued_at,
        revoked_at=attestation.revoked_at,
    )


# --------------------------------------------------------------------------- staff


async def event_for_staff(actor: Principal, event_id: int) -> Event:
    authorize(actor, "events.view")
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    return event


@dataclass(frozen=True)
class Row:
    attestation: Attestation
    name: str
    days: list[date]


@dataclass(frozen=True)
class Listing:
    event: Event
    rows: list[Row]
    page: int
    has_next: bool


async def event_attestations(actor: Principal, event_id: int, page: int, per_page: int) -> Listing:
    """The event's certificates, for its organizers (by issue order)."""
    event = await event_for_staff(actor, event_id)
    found = (
        await Attestation.filter(event_id=event_id)
        .select_related("registration__person")
        .order_by("id")
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    rows = [
        Row(
            attestation=attestation,
            name=attestation.registration.person.display_name,
            days=[date.fromisoformat(text) for text in attestation.days],
        )
        for attestation in found[:per_page]
    ]
    return Listing(event=event, rows=rows, page=page, has_next=len(found) > per_page)


async def revoke(actor: Principal, event_id: int, attestation_id: int, reason: str) -> Attestation:
    """Revoke a certificate (its verification link then answers 410), audited."""
    authorize(actor, "registrations.manage", event_id=event_id)
    reason = " ".join(reason.split())[:MAX_REASON]
    if not reason:
        raise ValidationFailed(fields={"reason": _("Indiquez la raison de la révocation.")})
    async with in_transaction():
        attestation = (
            await Attestation.filter(id=attestation_id, event_id=event_id)
            .select_for_update()
            .first()
        )
        if attestation is None:
            raise NotFound()
        if attestation.revoked_at is None:
            attestation.revoked_at = datetime.now(UTC)
            attestation.revoked_reason = reason
            attestation.revoked_by_id = actor.user_id
            await attestation.save(update_fields=["revoked_at", "revoked_reason", "revoked_by_id"])
            await audit(
                actor,
                "attestation.revoked",
                attestation,
                {"code": attestation.code, "registration": attestation.registration_id},
            )
    return attestation
