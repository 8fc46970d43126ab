"""Mailing every attendance certificate of an event at once.

The organizer's request (`request_mailing`) is recorded (`AttestationMailing`) and the
upkeep (`run_mailings`, registered with core.maintenance, woken at once) does the work in
batches: for each attendee not mailed yet, the certificate is made (or refreshed), drawn
as a PDF and queued in the outbox with the PDF attached (stored with the message, so the
mail worker can send it after a restart). Idempotent: a certificate is mailed once
(`Attestation.mailed_at`, and the outbox's dedupe key `attestation:<event>:<registration>`),
so asking again only mails the attendees checked in since; a revoked certificate and an
attendee without an e-mail address are skipped. Progress: `mailing_status`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core import maintenance
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound
from core.i18n import _, ngettext
from core.mail.outbox import compose_mail, insert_composed
from core.models import MessageStatus, OutboundMessage
from core.panels import Panel, PanelForm, PanelItem, PanelLink
from core.pdf import certificate_pdfs
from core.settings import Settings
from events.models import Event
from events.signals import EventPanelsAsked
from registrations.attestations import (
    attended_days,
    attestation_certificate,
    filename,
    is_over,
    new_code,
    stated_minutes,
    verify_url,
)
from registrations.manage_links import manage_url
from registrations.models import Attestation, AttestationMailing, CheckIn, Registration
from registrations.retention import EVENT_CAUSE

BATCH = 100
TEMPLATE = "attestation"


def dedupe_prefix(event_id: int) -> str:
    return f"attestation:{event_id}:"


def _attended(event_id: int) -> Subquery:
    return Subquery(
        CheckIn.filter(event_id=event_id, active_key__isnull=False).values("registration_id")
    )


def _done(event_id: int) -> Subquery:
    return Subquery(
        Attestation.filter(event_id=event_id)
        .filter(Q(mailed_at__isnull=False) | Q(revoked_at__isnull=False))
        .values("registration_id")
    )


def _to_mail(event_id: int) -> QuerySet[Registration]:
    """Attendees whose certificate is still to mail (not mailed, not revoked, reachable)."""
    return (
        Registration.filter(event_id=event_id, id__in=_attended(event_id), anonymized_at=None)
        .exclude(id__in=_done(event_id))
        .filter(person__email__isnull=False)
        .exclude(person__email="")
    )


@dataclass(frozen=True)
class MailingStatus:
    attendees: int  # registrations with an active check-in
    issued: int  # certificates made (revoked included)
    revoked: int
    mailed: int  # certificates queued by mail
    sent: int  # of which the outbox has sent
    to_mail: int  # still to queue
    requested_at: datetime | None
    finished_at: datetime | None
    running: bool


async def mailing_status(event_id: int) -> MailingStatus:
    mailing = await AttestationMailing.get_or_none(event_id=event_id)
    attendees = await Registration.filter(event_id=event_id, id__in=_attended(event_id)).count()
    certificates = Attestation.filter(event_id=event_id)
    return MailingStatus(
        attendees=attendees,
        issued=await certificates.count(),
        revoked=await certificates.filter(revoked_at__isnull=False).count(),
        mailed=await certificates.filter(mailed_at__isnull=False).count(),
        sent=await OutboundMessage.filter(
            cause_type=EVENT_CAUSE,
            cause_id=str(event_id),
            status=MessageStatus.SENT,
            dedupe_key__startswith=dedupe_prefix(event_id),
        ).count(),
        to_mail=await _to_mail(event_id).count(),
        requested_at=mailing.requested_at if mailing else None,
        finished_at=mailing.finished_at if mailing else None,
        running=mailing is not None and mailing.finished_at is None,
    )


async def request_mailing(actor: Principal, event_id: int) -> MailingStatus:
    """Ask for every certificate of the event to be mailed (done by the upkeep)."""
    authorize(actor, "registrations.manage", event_id=event_id)
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    if not event.gives_attestation:
        raise Conflict(
            _("Cet événement ne remet pas d'attestation de participation."),
            code="attestations_not_given",
        )
    if not is_over(event):
        raise Conflict(
            _("Les attestations peuvent être envoyées une fois l'événement terminé."),
            code="event_not_over",
        )
    now = datetime.now(UTC)
    to_mail = await _to_mail(event_id).count()
    async with in_transaction():
        mailing = await AttestationMailing.filter(event_id=event_id).select_for_update().first()
        if mailing is None:
            await AttestationMailing.create(
                event_id=event_id, requested_at=now, requested_by_id=actor.user_id, total=to_mail
            )
        elif mailing.finished_at is not None:  # again: mails only those not mailed yet
            mailing.requested_at, mailing.requested_by_id = now, actor.user_id
            mailing.total, mailing.queued, mailing.finished_at = to_mail, 0, None
            await mailing.save()
        await audit(actor, "attestation.mailing_requested", event, {"to_mail": to_mail})
    maintenance.wake()
    return await mailing_status(event_id)


@dataclass
class _Batch:
    """Attendees to mail, their certificates made (not saved yet) and being drawn."""

    registrations: list[Registration]
    existing: dict[int, Attestation]
    new: list[Attestation]
    changed: list[Attestation]
    drawing: asyncio.Future[list[bytes]]
    now: datetime

    @property
    def ids(self) -> list[int]:
        return [r.id for r in self.registrations]


async def _prepare(settings: Settings, event: Event, after: list[int]) -> _Batch | None:
    """The next attendees to mail (not those of the batch `after`, not saved yet), their
    certificates made and handed to the drawing processes."""
    registrations = (
        await _to_mail(event.id)
        .exclude(id__in=after or [0])
        .select_related("person")
        .order_by("id")
        .limit(BATCH)
    )
    if not registrations:
        return None
    ids = [r.id for r in registrations]
    days = await attended_days(ids)
    existing = {a.registration_id: a for a in await Attestation.filter(registration_id__in=ids)}
    now = datetime.now(UTC)
    new: list[Attestation] = []
    changed: list[Attestation] = []
    certificates = []
    for registration in registrations:
        attended = days.get(registration.id, [])
        day_texts = [day.isoformat() for day in attended]
        minutes = stated_minutes(event, len(attended))
        attestation = existing.get(registration.id)
        if attestation is None:
            attestation = existing[registration.id] = Attestation(
                code=new_code(),
                event_id=event.id,
                registration_id=registration.id,
                days=day_texts,
                minutes=minutes,
                issued_at=now,
            )
            new.append(attestation)
        elif attestation.days != day_texts or attestation.minutes != minutes:
            attestation.days, attestation.minutes = day_texts, minutes
            changed.append(attestation)
        certificates.append(
            attestation_certificate(
                settings, attestation, event, registration.person, registration.language
            )
        )
    drawing = asyncio.ensure_future(certificate_pdfs(certificates))  # worker processes
    return _Batch(list(registrations), existing, new, changed, drawing, now)


async def _queue(
    settings: Settings, event: Event, mailing: AttestationMailing, batch: _Batch
) -> int:
    """Save the batch's certificates and queue their messages, PDFs attached (one
    transaction)."""
    pdfs = await batch.drawing
    messages = []
    for registration, pdf in zip(batch.registrations, pdfs, strict=True):
        attestation = batch.existing[registration.id]
        person = registration.person
        messages.append(
            compose_mail(
                to_address=person.email or "",
                to_name=f"{person.first_name} {person.last_name}".strip(),
                template=TEMPLATE,
                context={
                    "event": event,
                    "verify_url": verify_url(settings, attestation.code),
                    "manage_url": manage_url(settings, registration),
                },
                language=registration.language or "fr",
                dedupe_key=f"{dedupe_prefix(event.id)}{registration.id}",
                attachments=[
                    {
                        "filename": filename(attestation),
                        "content_type": "application/pdf",
                        "data": pdf,
                    }
                ],
                person_id=registration.person_id,
                # What anonymizing the registration forgets (the PDF names the person).
                cause=(EVENT_CAUSE, event.id),
                settings=settings,
            )
        )
    async with in_transaction():
        if batch.new:
            await Attestation.bulk_create(batch.new)
        for attestation in batch.changed:
            await attestation.save(update_fields=["days", "minutes"])
        for message in messages:
            await insert_composed(message)
        await Attestation.filter(registration_id__in=batch.ids, mailed_at__isnull=True).update(
            mailed_at=batch.now
        )
        mailing.queued += len(messages)
        await mailing.save(update_fields=["queued"])
    return len(messages)


async def _mail_event(settings: Settings, event: Event, mailing: AttestationMailing) -> int:
    """Every certificate still to mail, batch after batch: the next batch is drawn while
    the current one is queued."""
    queued = 0
    batch = await _prepare(settings, event, [])
    try:
        while batch is not None:
            await asyncio.wait([batch.drawing])
            following = await _prepare(settings, event, batch.ids)
            try:
                queued += await _queue(settings, event, mailing, batch)
            except BaseException:
                if following is not None:
                    following.drawing.cancel()
                raise
            batch = following
    except BaseException:
        if batch is not None:
            batch.drawing.cancel()
        raise
    return queued


async def run_mailings(settings: Settings) -> int:
    """Upkeep: do every unfinished mailing; returns how many certificates were queued."""
    queued = 0
    for mailing in await AttestationMailing.filter(finished_at=None).order_by("id"):
        event = await Event.get_or_none(id=mailing.event_id)
        if event is not None:
            queued += await _mail_event(settings, event, mailing)
        mailing.finished_at = datetime.now(UTC)
        await mailing.save(update_fields=["finished_at"])
    return queued


async def event_panel(asked: EventPanelsAsked) -> Panel | None:
    """On the event's back-office page, for an event giving certificates: where they
    stand, and the button that mails them all once the event is over."""
    event = asked.event
    if not event.gives_attestation or not asked.actor.can("events.view"):
        return None
    status = await mailing_status(event.id)
    detail = (
        ngettext("%(num)s personne accueillie", "%(num)s personnes accueillies", status.attendees)
        + " · "
        + _(
            "%(issued)s délivrée(s), %(revoked)s révoquée(s), %(mailed)s envoyée(s) par courriel",
            issued=status.issued,
            revoked=status.revoked,
            mailed=status.mailed,
        )
    )
    if status.running:
        detail += " · " + _("envoi en cours")
    forms: tuple[PanelForm, ...] = ()
    if (
        is_over(event)
        and status.to_mail
        and not status.running
        and asked.actor.can("registrations.manage", event_id=event.id)
    ):
        forms = (
            PanelForm(
                ngettext(
                    "Envoyer %(num)s attestation par courriel",
                    "Envoyer %(num)s attestations par courriel",
                    status.to_mail,
                ),
                f"/admin/events/{event.id}/attestations/send",
            ),
        )
    item = PanelItem(
        title=_("Attestations de participation")
        if is_over(event)
        else _("Disponibles une fois l'événement terminé"),
        detail=detail,
        links=(PanelLink(_("Voir les attestations"), f"/admin/events/{event.id}/attestations"),),
        forms=forms,
    )
    return Panel(title=_("Attestations de participation"), items=[item])
