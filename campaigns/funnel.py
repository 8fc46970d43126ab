"""A campaign's figures: the funnel (audience → sent → answered → registered → attended)
and its breakdown by clientele and by the participant's territory (MRC). SQL counts only.

Opens are approximate (image pixel: blocked by many clients, prefetched by others);
clicks count the campaign's own links of the HTML part (see `campaigns.tracking`).
"""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Subquery
from tortoise.functions import Count

from campaigns import audiences
from campaigns.models import Campaign, CampaignRecipient, RecipientStatus
from campaigns.service import CAUSE, progress
from core.models import MessageStatus, OutboundMessage
from registrations.models import CheckIn, Registration
from registrations.models import RegistrationStatus as R

REGISTERED = (R.CONFIRMED, R.WAITLISTED, R.PENDING_APPROVAL)


def _registered_people(campaign: Campaign) -> Any:
    query = Registration.filter(event_id=campaign.event_id, status__in=REGISTERED)
    if campaign.started_at is not None:
        query = query.filter(created_at__gte=campaign.started_at)
    return Subquery(query.values("person_id"))


def _attended_people(campaign: Campaign) -> Any:
    checkins = CheckIn.filter(event_id=campaign.event_id, undone_at__isnull=True)
    regs = Registration.filter(id__in=Subquery(checkins.values("registration_id")))
    return Subquery(regs.values("person_id"))


async def funnel(campaign: Campaign) -> dict[str, Any]:
    figures = await progress(campaign.id)
    if campaign.resolved_at is None and campaign.audience is not None:
        summary = await audiences.summarize(campaign.audience, campaign.purpose)
        audience_count, excluded = summary.count, summary.total_excluded
    else:
        audience_count = figures.recipients - figures.skipped
        excluded = sum((campaign.excluded or {}).values()) + figures.skipped
    recipients = CampaignRecipient.filter(campaign_id=campaign.id)
    registered = attended = None
    if campaign.event_id is not None:
        registered = await recipients.filter(person_id__in=_registered_people(campaign)).count()
        attended = await recipients.filter(person_id__in=_attended_people(campaign)).count()
    return {
        "audience": audience_count,
        "excluded": excluded,
        "pending": figures.pending,
        "queued": figures.queued,
        "sent": figures.sent,
        "failed": figures.failed,
        "bounced": figures.bounced,
        "opened": figures.opened,
        "clicked": figures.clicked,
        "accepted": figures.accepted,
        "declined": figures.declined,
        "registered": registered,
        "attended": attended,
    }


async def breakdown(campaign: Campaign, by: str) -> list[dict[str, Any]]:
    """Recipients and delivered messages per clientele (`by="clientele"`) or per the
    participant's territory (`by="territory"`)."""
    column = {"clientele": "person__clientele__code", "territory": "person__territory__code"}[by]
    label = {"clientele": "person__clientele__name_fr", "territory": "person__territory__name"}[by]
    base = CampaignRecipient.filter(campaign_id=campaign.id).exclude(status=RecipientStatus.SKIPPED)
    sent_people = OutboundMessage.filter(
        cause_type=CAUSE, cause_id=str(campaign.id), status=MessageStatus.SENT
    )
    rows: dict[str, dict[str, Any]] = {}
    grouped = await base.annotate(n=Count("id")).group_by(column, label).values(column, label, "n")
    for row in grouped:
        key = row[column] or ""
        rows[key] = {
            "code": key or None,
            "label": row[label] or "",
            "recipients": row["n"],
            "sent": 0,
        }
    delivered = (
        await base.filter(person_id__in=Subquery(sent_people.values("person_id")))
        .annotate(n=Count("id"))
        .group_by(column)
        .values(column, "n")
    )
    for row in delivered:
        key = row[column] or ""
        if key in rows:
            rows[key]["sent"] = row["n"]
    return sorted(rows.values(), key=lambda r: (r["code"] is None, r["code"] or ""))


async def plan_item_codes(campaign: Campaign) -> list[str]:
    await campaign.fetch_related("plan_items")
    return sorted(p.code for p in campaign.plan_items)


async def campaign_out(campaign: Campaign) -> dict[str, Any]:
    from core.i18n import iso_or_none

    return {
        "id": campaign.id,
        "kind": str(campaign.kind),
        "name": campaign.name,
        "status": str(campaign.status),
        "purpose": campaign.purpose,
        "audience_id": campaign.audience_id,
        "event_id": campaign.event_id,
        "subject_fr": campaign.subject_fr,
        "subject_en": campaign.subject_en,
        "scheduled_at": iso_or_none(campaign.scheduled_at),
        "started_at": iso_or_none(campaign.started_at),
        "finished_at": iso_or_none(campaign.finished_at),
        "plan_items": await plan_item_codes(campaign),
        "funnel": await funnel(campaign),
        "by_clientele": await breakdown(campaign, "clientele"),
        "by_territory": await breakdown(campaign, "territory"),
    }
