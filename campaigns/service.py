"""Campaigns: writing them, and the one function that moves them between states.

States: draft → scheduled → sending → sent, with pause/resume (sending ⇄ paused) and
cancel (from any state but sent/cancelled). `change_status` is the only code that writes
`Campaign.status`; every transition is a conditional UPDATE on the expected current
state, so two concurrent requests (or a request and the upkeep) cannot both move it.

Sending itself happens in the periodic upkeep (`campaigns.sending`), never inside an
HTTP request: `send` only moves the campaign to `sending` (or `scheduled`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from campaigns.compose import check_template
from campaigns.models import (
    Audience,
    Campaign,
    CampaignKind,
    CampaignRecipient,
    CampaignStatus,
    RecipientStatus,
)
from campaigns.schemas import CampaignIn
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import N_, _
from core.models import MessageStatus, OutboundMessage
from events.models import Event
from people import plans
from people.models import ConsentPurpose, PlanItem

S = CampaignStatus
CAUSE = "campaign"

STATUS_LABELS: dict[str, str] = {
    S.DRAFT: N_("brouillon"),
    S.SCHEDULED: N_("planifiée"),
    S.SENDING: N_("en cours d'envoi"),
    S.SENT: N_("envoyée"),
    S.PAUSED: N_("en pause"),
    S.CANCELLED: N_("annulée"),
}
KIND_LABELS: dict[str, str] = {
    CampaignKind.INVITATION: N_("Invitation"),
    CampaignKind.NEWSLETTER: N_("Infolettre"),
    CampaignKind.REMINDER: N_("Rappel"),
    CampaignKind.FOLLOW_UP: N_("Suivi"),
}

# (from, to) -> audit action. Anything else is refused.
TRANSITIONS: dict[tuple[CampaignStatus, CampaignStatus], str] = {
    (S.DRAFT, S.SCHEDULED): "campaign.scheduled",
    (S.DRAFT, S.SENDING): "campaign.sending",
    (S.SCHEDULED, S.SENDING): "campaign.sending",
    (S.SCHEDULED, S.DRAFT): "campaign.updated",
    (S.SENDING, S.PAUSED): "campaign.paused",
    (S.SENDING, S.SENT): "campaign.sent",
    (S.PAUSED, S.SENDING): "campaign.resumed",
    (S.DRAFT, S.CANCELLED): "campaign.cancelled",
    (S.SCHEDULED, S.CANCELLED): "campaign.cancelled",
    (S.SENDING, S.CANCELLED): "campaign.cancelled",
    (S.PAUSED, S.CANCELLED): "campaign.cancelled",
}
EDITABLE = (S.DRAFT, S.SCHEDULED)


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def kind_label(kind: str) -> str:
    return _(KIND_LABELS.get(kind, kind))


def purpose_for(kind: CampaignKind, audience: Audience | None) -> str:
    """The consent a recipient must have given: the audience's, else by kind."""
    consent = (audience.filters or {}).get("consent") if audience else None
    if consent:
        return str(consent)
    if kind == CampaignKind.NEWSLETTER:
        return ConsentPurpose.NEWSLETTER.value
    return ConsentPurpose.EVENT_COMMUNICATIONS.value


def _check_templates(data: CampaignIn) -> None:
    for field in ("subject_fr", "body_fr", "subject_en", "body_en"):
        check_template(getattr(data, field), field)


async def _references(data: CampaignIn) -> tuple[Audience | None, Event | None]:
    errors: dict[str, str] = {}
    audience = event = None
    if data.follows_id is not None:
        followed = await Campaign.get_or_none(id=data.follows_id)
        if followed is None or followed.kind != CampaignKind.INVITATION:
            errors["follows_id"] = _("Choisissez une campagne d'invitation.")
        elif data.event_id not in (None, followed.event_id):
            errors["event_id"] = _("Le rappel vise l'événement de son invitation.")
    if data.audience_id is not None:
        audience = await Audience.get_or_none(id=data.audience_id)
        if audience is None:
            errors["audience_id"] = _("Audience introuvable.")
    if data.event_id is not None:
        event = await Event.get_or_none(id=data.event_id)
        if event is None:
            errors["event_id"] = _("Événement introuvable.")
    if errors:
        raise ValidationFailed(fields=errors)
    return audience, event


async def _plan_items(data: CampaignIn, event: Event | None) -> list[PlanItem]:
    """The plan items named by code, in the named plan or the year's (people.plans)."""
    if not data.plan_items:
        return []
    moment = event.starts_at if event else data.scheduled_at or datetime.now(UTC)
    found, unknown = await plans.resolve_codes(
        data.plan_items, year=moment.year, plan_id=data.plan_id
    )
    if unknown:
        raise ValidationFailed(
            fields={
                "plan_items": _(
                    "Élément du plan d'action inconnu : %(codes)s.", codes=", ".join(unknown)
                )
            }
        )
    return found


async def _set_plan_items(campaign: Campaign, items: list[PlanItem]) -> None:
    await campaign.plan_items.clear()
    if items:
        await campaign.plan_items.add(*items)


async def create_campaign(actor: Principal, data: CampaignIn) -> Campaign:
    authorize(actor, "campaigns.manage")
    _check_templates(data)
    audience, event = await _references(data)
    items = await _plan_items(data, event)
    async with in_transaction():
        campaign = await Campaign.create(
            kind=data.kind,
            name=data.name,
            audience_id=data.audience_id,
            event_id=data.event_id,
            follows_id=data.follows_id,
            purpose=purpose_for(data.kind, audience),
            subject_fr=data.subject_fr,
            body_fr=data.body_fr,
            subject_en=data.subject_en,
            body_en=data.body_en,
            scheduled_at=data.scheduled_at,
            created_by_id=actor.user_id,
        )
        await _set_plan_items(campaign, items)
        await audit(actor, "campaign.created", campaign, {"name": campaign.name})
    return campaign


async def update_campaign(actor: Principal, campaign_id: int, data: CampaignIn) -> Campaign:
    authorize(actor, "campaigns.manage")
    _check_templates(data)
    audience, event = await _references(data)
    items = await _plan_items(data, event)
    async with in_transaction():
        values: dict[str, Any] = {
            "kind": data.kind,
            "name": data.name,
            "audience_id": data.audience_id,
            "event_id": data.event_id,
            "follows_id": data.follows_id,
            "purpose": purpose_for(data.kind, audience),
            "subject_fr": data.subject_fr,
            "body_fr": data.body_fr,
            "subject_en": data.subject_en,
            "body_en": data.body_en,
            "scheduled_at": data.scheduled_at,
            "updated_at": datetime.now(UTC),
        }
        changed = await Campaign.filter(id=campaign_id, status__in=EDITABLE).update(**values)
        campaign = await get_campaign(actor, campaign_id)
        if not changed:
            raise Conflict(
                _(
                    "Une campagne « %(status)s » ne peut plus être modifiée.",
                    status=status_label(campaign.status),
                ),
                code="not_editable",
            )
        await _set_plan_items(campaign, items)
        await audit(actor, "campaign.updated", campaign, {"name": campaign.name})
    return campaign


async def get_campaign(actor: Principal, campaign_id: int) -> Campaign:
    authorize(actor, "campaigns.manage")
    if not 0 < campaign_id < 2**31:  # beyond the column's range: no such campaign
        raise NotFound()
    campaign = await Campaign.get_or_none(id=campaign_id).select_related("audience", "event")
    if campaign is None:
        raise NotFound()
    return campaign


async def list_campaigns(actor: Principal) -> list[Campaign]:
    authorize(actor, "campaigns.manage")
    return list(
        await Campaign.all().select_related("audience", "event").order_by("-created_at", "-id")
    )


def _illegal(current: CampaignStatus, to: CampaignStatus) -> Conflict:
    return Conflict(
        _(
            "Impossible de passer une campagne « %(current)s » à « %(to)s ».",
            current=status_label(current),
            to=status_label(to),
        ),
        code="illegal_transition",
    )


def _check_ready(campaign: Campaign) -> None:
    if campaign.audience_id is None and campaign.follows_id is None:
        raise ValidationFailed(
            fields={"audience_id": _("Choisissez une audience avant d'envoyer.")}
        )
    if campaign.kind in (CampaignKind.INVITATION, CampaignKind.REMINDER) and not campaign.event_id:
        raise ValidationFailed(fields={"event_id": _("Choisissez l'événement visé.")})


async def withdraw_unsent(campaign_id: int) -> int:
    """Take back the campaign's messages the worker has not claimed yet; their recipients
    are pending again (queued anew on resume, with the same dedupe key). A message the
    worker already claimed stays (conditional DELETE on status `queued`)."""
    deleted = await OutboundMessage.filter(
        cause_type=CAUSE, cause_id=str(campaign_id), status=MessageStatus.QUEUED
    ).delete()
    still_in_outbox = OutboundMessage.filter(cause_type=CAUSE, cause_id=str(campaign_id))
    await (
        CampaignRecipient.filter(campaign_id=campaign_id, status=RecipientStatus.QUEUED)
        .exclude(person_id__in=Subquery(still_in_outbox.values("person_id")))
        .update(status=RecipientStatus.PENDING, queued_at=None)
    )
    return int(deleted)


async def change_status(
    actor: Principal,
    campaign_id: int,
    to: CampaignStatus,
    *,
    scheduled_at: datetime | None = None,
    details: dict[str, Any] | None = None,
) -> Campaign:
    """The one way a campaign changes state (see TRANSITIONS); illegal → 409."""
    authorize(actor, "campaigns.manage")
    to = CampaignStatus(to)
    now = datetime.now(UTC)
    async with in_transaction():
        campaign = await get_campaign(actor, campaign_id)
        current = CampaignStatus(campaign.status)
        action = TRANSITIONS.get((current, to))
        if action is None:
            raise _illegal(current, to)
        values: dict[str, Any] = {"status": to, "updated_at": now}
        if to in (S.SCHEDULED, S.SENDING):
            _check_ready(campaign)
        if to == S.SCHEDULED:
            when = scheduled_at or campaign.scheduled_at
            if when is None or when <= now:
                raise ValidationFailed(
                    fields={"scheduled_at": _("Indiquez une date et une heure à venir.")}
                )
            values["scheduled_at"] = when
        if to == S.SENDING and campaign.started_at is None:
            values["started_at"] = now
        if to in (S.SENT, S.CANCELLED):
            values["finished_at"] = now
        changed = await Campaign.filter(id=campaign_id, status=current).update(**values)
        if not changed:  # someone else moved it meanwhile
            fresh = await get_campaign(actor, campaign_id)
            raise _illegal(CampaignStatus(fresh.status), to)
        withdrawn = 0
        if to in (S.PAUSED, S.CANCELLED):
            withdrawn = await withdraw_unsent(campaign_id)
        await audit(
            actor,
            action,
            campaign,
            {
                "from": current.value,
                "to": to.value,
                **({"withdrawn": withdrawn} if withdrawn else {}),
                **(details or {}),
            },
        )
    if to == S.SENDING:
        from core import maintenance

        maintenance.wake()
    return await get_campaign(actor, campaign_id)


async def send(actor: Principal, campaign_id: int) -> Campaign:
    """Send now, or at `scheduled_at` when it is still to come."""
    campaign = await get_campaign(actor, campaign_id)
    if (
        campaign.status == S.DRAFT
        and campaign.scheduled_at is not None
        and campaign.scheduled_at > datetime.now(UTC)
    ):
        return await change_status(actor, campaign_id, S.SCHEDULED)
    return await change_status(actor, campaign_id, S.SENDING)


async def pause(actor: Principal, campaign_id: int) -> Campaign:
    return await change_status(actor, campaign_id, S.PAUSED)


async def resume(actor: Principal, campaign_id: int) -> Campaign:
    return await change_status(actor, campaign_id, S.SENDING)


async def cancel(actor: Principal, campaign_id: int) -> Campaign:
    return await change_status(actor, campaign_id, S.CANCELLED)


# --------------------------------------------------------------------------- figures


@dataclass
class Progress:
    recipients: int
    pending: int
    skipped: int
    queued: int
    sent: int
    failed: int
    bounced: int
    accepted: int
    declined: int
    opened: int
    clicked: int


async def progress(campaign_id: int) -> Progress:
    """Counts by state (SQL aggregates): recipients, and their messages in the outbox."""
    rows = CampaignRecipient.filter(campaign_id=campaign_id)
    by_status: dict[str, int] = {}
    for status in RecipientStatus:
        by_status[status.value] = await rows.filter(status=status).count()
    messages = OutboundMessage.filter(cause_type=CAUSE, cause_id=str(campaign_id))
    out: dict[str, int] = {}
    for message_status in MessageStatus:
        out[message_status.value] = await messages.filter(status=message_status).count()
    return Progress(
        recipients=sum(by_status.values()),
        pending=by_status["pending"],
        skipped=by_status["skipped"],
        queued=out["queued"] + out["sending"],
        sent=out["sent"],
        failed=out["failed"] + out["dead"],
        bounced=out["failed"],
        accepted=await rows.filter(rsvp="yes").count(),
        declined=await rows.filter(rsvp="no").count(),
        opened=await rows.filter(opened_at__isnull=False).count(),
        clicked=await rows.filter(clicked_at__isnull=False).count(),
    )
