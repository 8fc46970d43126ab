"""JPS activity submissions: partners propose, organizers moderate (no HTTP here).

A partner (school, organization, employer) proposes an activity for the current JPS
edition through the public form (`submit_activity`). The submission waits as `pending`
in the moderation queue; an organizer approves it (it becomes a published child activity
of the edition), asks for changes (the submitter edits it through the secret link of the
acknowledgement e-mail, `resubmit`, and it is pending again) or refuses it. Every step
writes an audit entry and e-mails the submitter through the outbox, in the same
transaction as the change.

Text is stored as typed: pages and HTML e-mails escape it when rendering (Jinja
autoescape); nothing here marks it safe.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.http import field_errors
from core.i18n import _
from core.mail.outbox import queue_mail
from core.settings import Settings, load_settings
from events import service as events_service
from events.editions import edition_days, edition_region
from events.models import (
    ActivitySubmission,
    Event,
    EventKind,
    EventStatus,
    SubmissionStatus,
    Visibility,
)
from events.schemas import EventIn
from events.submission_schemas import (
    MAX_MESSAGE,
    DecisionIn,
    SubmissionContext,
    SubmissionIn,
)
from people.models import Clientele, Organization, Territory, TerritoryKind
from people.service import name_key

TARGET = "events.ActivitySubmission"
OPEN_STATUSES = (EventStatus.PUBLISHED,)
STATUS_ORDER = (
    SubmissionStatus.PENDING,
    SubmissionStatus.CHANGES_REQUESTED,
    SubmissionStatus.APPROVED,
    SubmissionStatus.REFUSED,
)


def status_label(status: str) -> str:
    return {
        SubmissionStatus.PENDING: _("En attente de modération"),
        SubmissionStatus.CHANGES_REQUESTED: _("Modifications demandées"),
        SubmissionStatus.APPROVED: _("Acceptée"),
        SubmissionStatus.REFUSED: _("Refusée"),
    }.get(SubmissionStatus(status), status)


def edit_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/jps/proposer/{token}"


def event_url(base_url: str, event_id: int) -> str:
    return f"{base_url.rstrip('/')}/events/{event_id}"


# --------------------------------------------------------------------------- edition


async def mrc_choices(edition: Event) -> list[tuple[Territory, list[Territory]]]:
    """[(region, [MRCs])] a submitter may pick: the edition's region's, else every region's."""
    region = await edition_region(edition)
    if region is not None:
        mrcs = await Territory.filter(
            parent_id=region.id, kind=TerritoryKind.MRC, active=True
        ).order_by("name")
        if mrcs:
            return [(region, sorted(mrcs, key=lambda t: name_key(t.name)))]
    from people.reference import territories_by_region

    return [(r, mrcs) for r, mrcs in await territories_by_region() if mrcs]


async def clientele_choices() -> list[Clientele]:
    return list(await Clientele.filter(active=True).order_by("position", "code"))


async def clientele_names(language: str) -> dict[str, str]:
    """Every clientele's name in `language`, by code."""
    return {c.code: c.name(language) for c in await Clientele.all()}


def is_open(edition: Event, now: datetime | None = None) -> bool:
    """Submissions are open for a published JPS edition that is not over."""
    now = now or datetime.now(UTC)
    return (
        edition.kind == EventKind.PERSEVERANCE_DAYS
        and edition.parent_id is None
        and edition.status in OPEN_STATUSES
        and edition.ends_at >= now
    )


async def open_edition(edition_id: int) -> Event:
    edition = await Event.get_or_none(id=edition_id)
    if edition is None:
        raise NotFound()
    if not is_open(edition):
        raise Conflict(
            _("Les propositions d'activités sont fermées pour cette édition."),
            code="submissions_closed",
        )
    return edition


async def _validation_context(edition: Event) -> SubmissionContext:
    first_day, last_day = edition_days(edition)
    groups = await mrc_choices(edition)
    return SubmissionContext(
        first_day=first_day,
        last_day=last_day,
        mrc_codes={m.code for _region, mrcs in groups for m in mrcs},
        clientele_codes={c.code for c in await clientele_choices()},
    )


async def check_submission(edition: Event, data: SubmissionIn | Mapping[str, Any]) -> SubmissionIn:
    """Validate `data` against the edition; every problem as a French field message."""
    raw = data.model_dump() if isinstance(data, SubmissionIn) else dict(data)
    context = {"submission": await _validation_context(edition)}
    try:
        return SubmissionIn.model_validate(raw, context=context)
    except PydanticValidationError as exc:
        raise ValidationFailed(fields=field_errors(exc)) from None


def _columns(data: SubmissionIn, territory: Territory) -> dict[str, Any]:
    return {
        "title": data.title,
        "description": data.description,
        "starts_at": data.starts_at.astimezone(UTC),
        "ends_at": data.ends_at.astimezone(UTC),
        "venue_name": data.venue_name,
        "address": data.address,
        "territory": territory,
        "clientele_codes": list(data.clienteles),
        "organization_name": data.organization_name,
        "contact_name": data.contact_name,
        "contact_email": data.contact_email,
        "contact_phone": data.contact_phone,
        "expected_participants": data.expected_participants,
        "wants_registration": data.wants_registration,
    }


async def mail_context(submission: ActivitySubmission, settings: Settings) -> dict[str, Any]:
    edition = await Event.get(id=submission.edition_id)
    territory = await Territory.get_or_none(id=submission.territory_id)
    return {
        "submission": submission,
        "edition_title": edition.title,
        "territory_name": territory.name if territory else "",
        "edit_url": edit_url(settings.base_url, submission.token),
        "base_url": settings.base_url,
    }


# --------------------------------------------------------------------------- submitter


async def submit_activity(
    edition_id: int,
    data: SubmissionIn | Mapping[str, Any],
    *,
    language: str = "fr",
    ip: str = "",
    settings: Settings | None = None,
) -> ActivitySubmission:
    """A partner's proposal for an open JPS edition: stored as pending, acknowledged by mail."""
    settings = settings or load_settings()
    edition = await open_edition(edition_id)
    checked = await check_submission(edition, data)
    territory = await Territory.get(code=checked.territory)
    async with in_transaction():
        submission = await ActivitySubmission.create(
            edition=edition,
            status=SubmissionStatus.PENDING,
            token=secrets.token_urlsafe(32),
            language=language if language in ("fr", "en") else "fr",
            **_columns(checked, territory),
        )
        await audit(
            None,
            "jps_submission.created",
            submission,
            {
                "edition": edition.id,
                "title": submission.title,
                "organization": submission.organization_name,
                "to": SubmissionStatus.PENDING.value,
            },
            ip=ip,
        )
        await queue_mail(
            to_address=submission.contact_email,
            template="jps_submission_received",
            context=await mail_context(submission, settings),
            language=submission.language,
            dedupe_key=f"jps-submission:{submission.id}:received",
            to_name=submission.contact_name,
            cause=(TARGET, submission.id),
            settings=settings,
        )
    return submission


async def get_by_token(token: str) -> ActivitySubmission:
    if not token or len(token) > 64:
        raise NotFound()
    submission = await ActivitySubmission.get_or_none(token=token).select_related(
        "edition", "territory"
    )
    if submission is None:
        raise NotFound()
    return submission


async def just_submitted(submission_id: object) -> ActivitySubmission | None:
    """The submission this browser just sent (its id kept in the session), if any."""
    if not isinstance(submission_id, int):
        return None
    return await ActivitySubmission.get_or_none(id=submission_id).select_related(
        "edition", "territory"
    )


async def resubmit(
    token: str,
    data: SubmissionIn | Mapping[str, Any],
    *,
    ip: str = "",
    settings: Settings | None = None,
) -> ActivitySubmission:
    """The submitter's corrected proposal (only after changes were requested): pending again."""
    settings = settings or load_settings()
    submission = await get_by_token(token)
    if submission.status != SubmissionStatus.CHANGES_REQUESTED:
        raise Conflict(
            _("Cette proposition ne peut plus être modifiée."), code="not_changes_requested"
        )
    edition = submission.edition
    if edition.ends_at < datetime.now(UTC):
        raise Conflict(
            _("Les propositions d'activités sont fermées pour cette édition."),
            code="submissions_closed",
        )
    checked = await check_submission(edition, data)
    territory = await Territory.get(code=checked.territory)
    now = datetime.now(UTC)
    async with in_transaction():
        columns = _columns(checked, territory)
        updated = await ActivitySubmission.filter(
            id=submission.id, status=SubmissionStatus.CHANGES_REQUESTED
        ).update(status=SubmissionStatus.PENDING, updated_at=now, **columns)
        if not updated:
            raise Conflict(
                _("Cette proposition ne peut plus être modifiée."), code="not_changes_requested"
            )
        await submission.refresh_from_db()
        await audit(
            None,
            "jps_submission.resubmitted",
            submission,
            {
                "from": SubmissionStatus.CHANGES_REQUESTED.value,
                "to": SubmissionStatus.PENDING.value,
                "title": submission.title,
            },
            ip=ip,
        )
        await queue_mail(
            to_address=submission.contact_email,
            template="jps_submission_received",
            context={**await mail_context(submission, settings), "resubmitted": True},
            language=submission.language,
            dedupe_key=f"jps-submission:{submission.id}:resubmitted:{now.isoformat()}",
            to_name=submission.contact_name,
            cause=(TARGET, submission.id),
            settings=settings,
        )
    return submission


# --------------------------------------------------------------------------- moderation


async def list_submissions(
    actor: Principal | None, edition_id: int, status: str | None = None
) -> list[ActivitySubmission]:
    """An edition's submissions (oldest first), optionally of one status."""
    authorize(actor, "events.view")
    query = ActivitySubmission.filter(edition_id=edition_id)
    if status:
        if status not in {s.value for s in SubmissionStatus}:
            raise ValidationFailed(fields={"status": _("Statut inconnu.")})
        query = query.filter(status=status)
    return list(await query.order_by("created_at", "id").select_related("territory", "event"))


async def get_submission(actor: Principal | None, submission_id: int) -> ActivitySubmission:
    authorize(actor, "events.view")
    submission = await ActivitySubmission.get_or_none(id=submission_id).select_related(
        "edition", "territory", "event"
    )
    if submission is None:
        raise NotFound()
    return submission


def _message(message: str, *, required: bool) -> str:
    try:
        text = DecisionIn.model_validate({"message": message}).message
    except PydanticValidationError:
        raise ValidationFailed(
            fields={
                "message": _(
                    "Ce texte est trop long (%(max_length)s caractères au maximum).",
                    max_length=MAX_MESSAGE,
                )
            }
        ) from None
    if required and not text:
        raise ValidationFailed(
            fields={"message": _("Expliquez au partenaire ce qu'il doit modifier.")}
        )
    return text


async def _decide(
    actor: Principal,
    submission_id: int,
    to_status: SubmissionStatus,
    message: str,
    now: datetime,
) -> ActivitySubmission:
    """Move a pending submission to `to_status` (call inside a transaction)."""
    submission = await ActivitySubmission.get_or_none(id=submission_id)
    if submission is None:
        raise NotFound()
    # Conditional update: of two moderators deciding at once, only one wins.
    updated = await ActivitySubmission.filter(
        id=submission_id, status=SubmissionStatus.PENDING
    ).update(
        status=to_status,
        moderator_message=message,
        decided_by_id=actor.user_id,
        decided_at=now,
        updated_at=now,
    )
    if not updated:
        raise Conflict(
            _(
                "Cette proposition a déjà été traitée (%(status)s) : "
                "seule une proposition en attente peut être acceptée, refusée ou renvoyée.",
                status=status_label(submission.status).lower(),
            ),
            code="not_pending",
        )
    await submission.refresh_from_db()
    return submission


async def _decision_mail(
    submission: ActivitySubmission,
    template: str,
    kind: str,
    settings: Settings,
    extra: dict[str, Any] | None = None,
) -> None:
    decided_at = submission.decided_at or datetime.now(UTC)
    context = await mail_context(submission, settings)
    context.update(extra or {})
    await queue_mail(
        to_address=submission.contact_email,
        template=template,
        context=context,
        language=submission.language,
        dedupe_key=f"jps-submission:{submission.id}:{kind}:{decided_at.isoformat()}",
        to_name=submission.contact_name,
        cause=(TARGET, submission.id),
        settings=settings,
    )


async def _audit_decision(
    actor: Principal, submission: ActivitySubmission, action: str, extra: dict[str, Any]
) -> None:
    await audit(
        actor,
        action,
        submission,
        {"from": SubmissionStatus.PENDING.value, "to": submission.status, **extra},
    )


async def _event_input(submission: ActivitySubmission) -> EventIn:
    territory = await Territory.get(id=submission.territory_id)
    organization = await Organization.get_or_none(name_key=name_key(submission.organization_name))
    return EventIn(
        title=submission.title,
        kind=EventKind.ACTIVITY,
        starts_at=submission.starts_at,
        ends_at=submission.ends_at,
        description=submission.description,
        venue_name=submission.venue_name,
        address=submission.address,
        territory=territory.code,
        clienteles=list(submission.clientele_codes or []),
        parent_id=submission.edition_id,
        visibility=Visibility.PUBLIC,
        organizer_organization_id=organization.id if organization else None,
        contact_name=submission.contact_name,
        contact_email=submission.contact_email,
        contact_phone=submission.contact_phone,
        expected_participants=submission.expected_participants,
        registration_enabled=submission.wants_registration,
    )


async def approve(
    actor: Principal,
    submission_id: int,
    message: str = "",
    *,
    settings: Settings | None = None,
) -> ActivitySubmission:
    """Publish the proposal as a child activity of its edition and tell the submitter.

    One transaction: if the activity cannot be created or published, nothing changes.
    """
    authorize(actor, "events.edit")
    settings = settings or load_settings()
    text = _message(message, required=False)
    now = datetime.now(UTC)
    async with in_transaction():
        submission = await _decide(actor, submission_id, SubmissionStatus.APPROVED, text, now)
        try:
            data = await _event_input(submission)
            event = await events_service.create_event(actor, data)
            event = await events_service.publish_event(actor, event.id)
        except ValidationFailed as error:
            details = "; ".join(error.fields.values()) or error.message
            raise ValidationFailed(
                _(
                    "L'activité ne peut pas être publiée telle quelle : %(details)s "
                    "Demandez des modifications au partenaire.",
                    details=details,
                ),
                fields=error.fields,
            ) from None
        await ActivitySubmission.filter(id=submission.id).update(event_id=event.id)
        submission.event_id = event.id
        await _audit_decision(
            actor, submission, "jps_submission.approved", {"event": event.id, "message": text}
        )
        await _decision_mail(
            submission,
            "jps_submission_approved",
            "approved",
            settings,
            {"event_url": event_url(settings.base_url, event.id), "message": text},
        )
    return submission


async def request_changes(
    actor: Principal,
    submission_id: int,
    message: str,
    *,
    settings: Settings | None = None,
) -> ActivitySubmission:
    """Send the proposal back to its submitter with the moderator's message and edit link."""
    authorize(actor, "events.edit")
    settings = settings or load_settings()
    text = _message(message, required=True)
    async with in_transaction():
        submission = await _decide(
            actor, submission_id, SubmissionStatus.CHANGES_REQUESTED, text, datetime.now(UTC)
        )
        await _audit_decision(
            actor, submission, "jps_submission.changes_requested", {"message": text}
        )
        await _decision_mail(
            submission, "jps_submission_changes", "changes", settings, {"message": text}
        )
    return submission


async def refuse(
    actor: Principal,
    submission_id: int,
    message: str = "",
    *,
    settings: Settings | None = None,
) -> ActivitySubmission:
    """Refuse the proposal; the submitter is told (with the message, when there is one)."""
    authorize(actor, "events.edit")
    settings = settings or load_settings()
    text = _message(message, required=False)
    async with in_transaction():
        submission = await _decide(
            actor, submission_id, SubmissionStatus.REFUSED, text, datetime.now(UTC)
        )
        await _audit_decision(actor, submission, "jps_submission.refused", {"message": text})
        await _decision_mail(
            submission, "jps_submission_refused", "refused", settings, {"message": text}
        )
    return submission
