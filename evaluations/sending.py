"""Who gets the evaluation, and sending it: the invitation, the reminder, the thank-you.

Who. Those who attended the activity: a registration with a standing check-in (an undone
one does not count). An activity with no standing check-in at all had no door check-in:
then every confirmed registrant is invited. (No flag to keep right: the check-in table
is the fact. The event's report shows which rule applied.) Erased people and people
without an e-mail address are skipped.

When. Automatically once the activity is over (its end + the thank-you delay of
`campaigns.automatic`) and the form is open, by the upkeep (`send_due`), or at once by an
organizer (`send_now`). Each run invites those who qualify and have no invitation yet
(a late check-in is invited at the next run); a reminder goes once, `reminder_days`
after the invitation, to those who have not answered, while the form is open.

How. Each invitation row and its message are written in one transaction; the message's
dedupe key (`evaluation:<form>:<registration>`, `evaluation_reminder:<invitation>`) and
the invitation's unique (form, registration) make a second copy impossible.

The thank-you. For an event with a form, the invitation *is* the thank-you (it thanks
the participant and carries the personal link): `thanks_taken_over` answers the campaigns
package's `thanks_sent_elsewhere` signal, so the participant gets one message, not a
generic thank-you and then the evaluation. Campaigns does not import this package (it is
below it); it only asks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from campaigns.automatic import THANKS_DELAY
from campaigns.signals import ThanksAsked
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict
from core.i18n import _
from core.mail.outbox import compose_mail, insert_composed
from core.settings import Settings
from evaluations import forms
from evaluations.links import evaluation_url
from evaluations.models import EvaluationForm, Invitation, Question
from events.models import Event, EventStatus
from registrations.models import CheckIn, Registration, RegistrationStatus


async def had_checkin(event_id: int) -> bool:
    return await CheckIn.filter(event_id=event_id, undone_at=None).exists()


async def qualifying_ids(event_id: int) -> list[int]:
    """Registrations of the activity to invite: attendees, or every confirmed registrant
    when the activity had no check-in at all."""
    rows: list[Any]
    if await had_checkin(event_id):
        rows = list(
            await CheckIn.filter(event_id=event_id, undone_at=None).values_list(
                "registration_id", flat=True
            )
        )
    else:
        rows = list(
            await Registration.filter(
                event_id=event_id, status=RegistrationStatus.CONFIRMED
            ).values_list("id", flat=True)
        )
    return sorted({int(r) for r in rows})


async def served_events(form: EvaluationForm) -> list[Event]:
    """The activities a form is answered about: its event, and when shared, the edition's
    activities that have no form of their own."""
    event = await Event.get(id=form.event_id)
    if not form.shared_with_children:
        return [event]
    own_forms: list[Any] = list(await EvaluationForm.all().values_list("event_id", flat=True))
    children = (
        await Event.filter(parent_id=event.id).exclude(id__in=own_forms).order_by("starts_at", "id")
    )
    return [event, *children]


def _name(registration: Registration) -> str:
    person = registration.person
    return f"{person.first_name} {person.last_name}".strip()


def _message(
    settings: Settings,
    form: EvaluationForm,
    event: Event,
    registration: Registration,
    invitation_id: int,
    template: str,
    dedupe_key: str,
) -> Any:
    _opens, closes = forms.opening(form, event)
    return compose_mail(
        to_address=registration.person.email or "",
        to_name=_name(registration),
        template=template,
        context={
            "event": event,
            "person": registration.person,
            "evaluation_url": evaluation_url(settings, invitation_id),
            "anonymous": form.anonymous,
            "closes_at": closes,
        },
        language=registration.language,
        dedupe_key=dedupe_key,
        person_id=registration.person_id,
        cause=("events.Event", event.id),
        settings=settings,
    )


async def _invite(settings: Settings, form: EvaluationForm, event: Event, now: datetime) -> int:
    """Invite the activity's qualifying registrants not yet invited; how many."""
    wanted = await qualifying_ids(event.id)
    if not wanted:
        return 0
    done: list[Any] = list(
        await Invitation.filter(form_id=form.id, registration_id__in=wanted).values_list(
            "registration_id", flat=True
        )
    )
    new = sorted(set(wanted) - {int(r) for r in done})
    if not new:
        return 0
    registrations = [
        r
        for r in await Registration.filter(id__in=new).select_related("person").order_by("id")
        if r.person.email and r.person.erased_at is None
    ]
    queued = 0
    async with in_transaction():
        await Invitation.bulk_create(
            [
                Invitation(form_id=form.id, event_id=event.id, registration_id=r.id, sent_at=now)
                for r in registrations
            ],
            ignore_conflicts=True,
        )
        ids = {
            int(reg): int(inv)
            for inv, reg in await Invitation.filter(
                form_id=form.id,
                registration_id__in=[r.id for r in registrations],
                sent_at=now,
            ).values_list("id", "registration_id")
        }
        for registration in registrations:
            invitation_id = ids.get(registration.id)
            if invitation_id is None:  # invited by a concurrent run
                continue
            await insert_composed(
                _message(
                    settings,
                    form,
                    event,
                    registration,
                    invitation_id,
                    "evaluation_invitation",
                    f"evaluation:{form.id}:{registration.public_id}",
                )
            )
            queued += 1
        if queued and form.sent_at is None:
            await EvaluationForm.filter(id=form.id, sent_at=None).update(sent_at=now)
    return queued


async def _has_questions(form: EvaluationForm) -> bool:
    return await Question.filter(form_id=form.id).exists()


async def send_now(actor: Principal, settings: Settings, event_id: int) -> int:
    """An organizer sends the evaluation of an event now (its activities too when the
    form is the edition's shared one); how many invitations were queued. At the
    organizer's word, even before the planned opening: answering then opens now."""
    authorize(actor, forms.EDIT)
    event = await forms.get_event(event_id)
    form = await forms.form_for_event(event)
    if form is None or not await _has_questions(form):
        raise Conflict(
            _("Cet événement n'a pas encore de questionnaire d'évaluation."), code="no_form"
        )
    now = datetime.now(UTC)
    targets = await served_events(form) if form.event_id == event.id else [event]
    opens, closes = forms.opening(form, event)
    if closes <= now:
        raise Conflict(
            _("Ce questionnaire est fermé : repoussez sa date de fermeture pour l'envoyer."),
            code="form_closed",
        )
    if opens > now:
        # Sent before the planned opening: answering opens now.
        form.opens_at = now
        await form.save(update_fields=["opens_at", "updated_at"])
    queued = 0
    for target in targets:
        if target.status != EventStatus.CANCELLED:
            queued += await _invite(settings, form, target, now)
    async with in_transaction():
        await audit(actor, "evaluation.sent", ("events.Event", event.id), {"queued": queued})
    return queued


async def send_due(settings: Settings, now: datetime | None = None) -> int:
    """Upkeep: invite the participants of every activity that is over, whose form is open."""
    now = now or datetime.now(UTC)
    queued = 0
    for form in await EvaluationForm.all().order_by("id"):
        if form.closes_at is not None and form.closes_at <= now:
            continue
        if not await _has_questions(form):
            continue
        for event in await served_events(form):
            if event.status not in (EventStatus.PUBLISHED, EventStatus.COMPLETED):
                continue
            if event.ends_at + THANKS_DELAY > now or not forms.is_open(form, event, now):
                continue
            queued += await _invite(settings, form, event, now)
    return queued


async def send_due_reminders(settings: Settings, now: datetime | None = None) -> int:
    """Upkeep: one reminder to each invited person who has not answered after
    `reminder_days`, while the form is open."""
    now = now or datetime.now(UTC)
    queued = 0
    for form in await EvaluationForm.filter(reminder_days__gt=0).order_by("id"):
        due = await Invitation.filter(
            form_id=form.id,
            answered_at=None,
            reminded_at=None,
            sent_at__lte=now - timedelta(days=form.reminder_days),
        ).select_related("event", "registration__person")
        count = 0
        async with in_transaction():
            for invitation in due:
                registration = invitation.registration
                if not forms.is_open(form, invitation.event, now):
                    continue
                if not registration.person.email or registration.person.erased_at is not None:
                    continue
                claimed = await Invitation.filter(
                    id=invitation.id, answered_at=None, reminded_at=None
                ).update(reminded_at=now)
                if not claimed:
                    continue
                await insert_composed(
                    _message(
                        settings,
                        form,
                        invitation.event,
                        registration,
                        invitation.id,
                        "evaluation_reminder",
                        f"evaluation_reminder:{invitation.id}",
                    )
                )
                count += 1
            if count:
                await EvaluationForm.filter(id=form.id).update(reminded_at=now)
        queued += count
    return queued


async def thanks_taken_over(asked: ThanksAsked) -> bool:
    """The campaigns thank-you asks: an event with a form still open is thanked by its
    invitation (a form already closed sends nothing: the usual thank-you goes)."""
    form = await forms.form_for_event(asked.event)
    if form is None or not await _has_questions(form):
        return False
    _opens, closes = forms.opening(form, asked.event)
    return closes > datetime.now(UTC)
