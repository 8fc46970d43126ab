"""What the back-office editor and audience builder need: choices, form parsing, the
per-campaign outbox and a person's message history (no HTTP here)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from campaigns.audiences import audience_choices
from campaigns.models import Campaign, CampaignKind
from campaigns.schemas import LIST_FIELDS
from campaigns.service import CAUSE, kind_label
from core.auth import Principal, authorize
from core.errors import NotFound
from core.i18n import current_language
from core.models import OutboundMessage
from events.models import Event, EventStatus
from people import plans, reference
from people.models import Organization, Person, Territory, TerritoryKind
from people.tags import all_tags


async def event_choices() -> list[tuple[int, str]]:
    events = await Event.exclude(status=EventStatus.CANCELLED).order_by("-starts_at").limit(300)
    return [(e.id, f"{e.title} ({e.starts_at:%Y-%m-%d})") for e in events]


async def choices() -> dict[str, Any]:
    language = current_language.get()
    clienteles = await reference.list_clienteles(active_only=True)
    territories = await Territory.filter(active=True).order_by("code")
    return {
        "kind_options": [(k.value, kind_label(k)) for k in CampaignKind],
        "audience_options": await audience_choices(),
        "event_options": await event_choices(),
        "clientele_options": [(c.code, c.name(language)) for c in clienteles],
        "region_options": [(t.code, t.name) for t in territories if t.kind == TerritoryKind.REGION],
        "mrc_options": [(t.code, t.name) for t in territories if t.kind == TerritoryKind.MRC],
        "sector_options": reference.sector_choices(),
        "organization_options": [
            (o.id, o.name) for o in await Organization.all().order_by("name").limit(1000)
        ],
        "language_options": [("fr", "Français"), ("en", "English")],
        "tag_options": [(t, t) for t in await all_tags()],
        "purpose_options": reference.purpose_choices(),
    }


async def plan_options(plan_id: str = "") -> tuple[str, list[tuple[str, str, str]]]:
    """The plan whose items the editor offers (the campaign's, else the current one) and
    its (code, title, level) rows in tree order."""
    plan = await plans.plan_by_id(plan_id) or await plans.plan_for_year(None)
    if plan is None:
        return "", []
    rows: list[tuple[str, str, str]] = []

    def walk(nodes: list[plans.PlanNode]) -> None:
        for node in nodes:
            rows.append((node.item.code, node.item.title, node.item.level))
            walk(node.children)

    walk(await plans.plan_tree(plan.id))
    return str(plan.id), rows


def filters_from_form(form: Any) -> dict[str, Any]:
    """The builder's form (multi-selects, comma lists) as AudienceFilters input."""
    filters: dict[str, Any] = {}
    for name in LIST_FIELDS:
        values = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
        if len(values) == 1 and "," in values[0]:
            values = values[0].split(",")
        if values:
            filters[name] = [v.strip() for v in values if v.strip()]
    consent = form.get("consent")
    if isinstance(consent, str) and consent.strip():
        filters["consent"] = consent.strip()
    return filters


def local_datetime(value: str, time_zone: str) -> Any:
    """A `datetime-local` field read in the service's time zone (blank → None; a bad
    value is given back as typed, for the schema to refuse)."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(time_zone))


async def campaign_values(campaign: Campaign) -> dict[str, Any]:
    await campaign.fetch_related("plan_items")
    items = list(campaign.plan_items)
    return {
        "plan_items": sorted(p.code for p in items),
        "plan_id": str(items[0].plan_id) if items else "",
        "kind": str(campaign.kind),
        "name": campaign.name,
        "audience_id": campaign.audience_id or "",
        "event_id": campaign.event_id or "",
        "subject_fr": campaign.subject_fr,
        "body_fr": campaign.body_fr,
        "subject_en": campaign.subject_en,
        "body_en": campaign.body_en,
        "scheduled_at": campaign.scheduled_at.strftime("%Y-%m-%dT%H:%M")
        if campaign.scheduled_at
        else "",
    }


async def campaign_messages(
    campaign_id: int, *, status: str | None, page: int, per_page: int = 100
) -> tuple[list[OutboundMessage], bool]:
    query = OutboundMessage.filter(cause_type=CAUSE, cause_id=str(campaign_id))
    if status:
        query = query.filter(status=status)
    rows = list(
        await query.order_by("id")
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
        .only(
            "id", "to_address", "to_name", "subject", "status", "sent_at", "last_error", "language"
        )
    )
    return rows[:per_page], len(rows) > per_page


async def person_messages(
    actor: Principal, person_id: int, limit: int = 200
) -> list[dict[str, Any]]:
    """A person's messages, newest first, with the campaign they belong to (if any)."""
    authorize(actor, "campaigns.manage")
    if not 0 < person_id < 2**31 or not await Person.exists(id=person_id):
        raise NotFound()
    messages = list(
        await OutboundMessage.filter(person_id=person_id)
        .order_by("-created_at", "-id")
        .limit(limit)
        .only(
            "id", "created_at", "subject", "status", "category", "cause_type", "cause_id", "sent_at"
        )
    )
    ids = {int(m.cause_id) for m in messages if m.cause_type == CAUSE and m.cause_id.isdigit()}
    names = dict(await Campaign.filter(id__in=ids).values_list("id", "name")) if ids else {}
    return [
        {
            "message": m,
            "campaign_id": int(m.cause_id)
            if m.cause_type == CAUSE and m.cause_id.isdigit()
            else None,
            "campaign": names.get(int(m.cause_id)) if m.cause_id.isdigit() else None,
        }
        for m in messages
    ]
