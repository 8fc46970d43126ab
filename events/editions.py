"""Editions: an annual launch or JPS week and its child activities.

Which events are editions, an edition's local days and region, the territorial launches
(one draft per MRC), "same event next year" duplication, an edition's roll-up and the
current JPS edition.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import cast

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import _
from core.settings import local_tz
from events.models import (
    ActivitySubmission,
    AttendanceMode,
    Event,
    EventKind,
    EventPartner,
    EventStatus,
    SubmissionStatus,
    all_day_span,
)
from people.models import Territory, TerritoryKind

EDITION_KINDS = {EventKind.ANNUAL_LAUNCH, EventKind.PERSEVERANCE_DAYS}
MAX_EDITION_CHOICES = 100


def edition_days(edition: Event) -> tuple[date, date]:
    """First and last local dates of an edition."""
    zone = local_tz()
    return edition.starts_at.astimezone(zone).date(), edition.ends_at.astimezone(zone).date()


async def edition_region(edition: Event) -> Territory | None:
    """The administrative region of an edition (its territory, or the MRC's parent)."""
    territory_id = edition.territory_id
    if territory_id is None:
        return None
    territory = await Territory.get_or_none(id=territory_id)
    if territory is not None and territory.kind == TerritoryKind.MRC:
        territory = await Territory.get_or_none(id=territory.parent_id)
    return territory


async def edition_choices(current: str = "", exclude: int | None = None) -> list[Event]:
    """Editions an event may be attached to (latest first), plus the `current` one if set."""
    query = (
        Event.filter(parent_id__isnull=True, kind__in=list(EDITION_KINDS))
        .exclude(status=EventStatus.CANCELLED)
        .order_by("-starts_at")
        .limit(MAX_EDITION_CHOICES)
    )
    editions = list(await query)
    if current and current.isdigit() and all(str(e.id) != current for e in editions):
        extra = await Event.get_or_none(id=int(current))
        if extra is not None:
            editions.append(extra)
    return [e for e in editions if e.id != exclude]


async def children_count(event: Event, *, with_cancelled: bool = True) -> int:
    """How many activities an edition has (cancelled ones left out if asked)."""
    query = Event.filter(parent_id=event.id)
    if not with_cancelled:
        query = query.exclude(status=EventStatus.CANCELLED)
    return await query.count()


async def editions_among(ids: list[int]) -> set[int]:
    """Which of these events have children."""
    rows = await Event.filter(parent_id__in=ids).values_list("parent_id", flat=True)
    return set(cast(list[int], rows))


async def children_of(edition: Event) -> list[Event]:
    """An edition's activities for the back office: by start, then territory name."""
    children = list(
        await Event.filter(parent_id=edition.id)
        .select_related("territory")
        .order_by("starts_at", "id")
    )
    children.sort(key=lambda c: (c.starts_at, c.territory.name if c.territory else "", c.id))
    return children


def is_edition(event: Event, children: list[Event]) -> bool:
    """A top-level event with activities, or of an edition kind."""
    return event.parent_id is None and (bool(children) or event.kind in EDITION_KINDS)


# --------------------------------------------------------------------------- duplication


async def _copy_event(
    actor: Principal, source: Event, shift: timedelta, parent: Event | None
) -> Event:
    await source.fetch_related("clienteles", "plan_items", "partners")
    starts_at, ends_at = source.starts_at + shift, source.ends_at + shift
    if source.all_day:  # the same days shifted, whatever the offsets then
        first, last = source.days
        starts_at, ends_at = all_day_span(first + shift, last + shift, source.timezone)
    copy = await Event.create(
        uid=f"{uuid.uuid4()}@rassembleur",
        parent=parent,
        kind=source.kind,
        title=source.title,
        description=source.description,
        starts_at=starts_at,
        ends_at=ends_at,
        all_day=source.all_day,
        timezone=source.timezone,
        mode=source.mode,
        venue_name=source.venue_name,
        address=source.address,
        territory_id=source.territory_id,
        online_url=source.online_url,
        capacity=source.capacity,
        waitlist=source.waitlist,
        requires_approval=source.requires_approval,
        allow_walkins_over_capacity=source.allow_walkins_over_capacity,
        registration_enabled=source.registration_enabled,
        phone_field=source.phone_field,
        max_public_party_size=source.max_public_party_size,
        confirm_by_email=source.confirm_by_email,
        send_reminder=source.send_reminder,
        reminder_days_before=source.reminder_days_before,
        send_thanks=source.send_thanks,
        evaluation_url=source.evaluation_url,
        send_change_notices=source.send_change_notices,
        registration_opens_at=source.registration_opens_at + shift
        if source.registration_opens_at
        else None,
        registration_closes_at=source.registration_closes_at + shift
        if source.registration_closes_at
        else None,
        visibility=source.visibility,
        status=EventStatus.DRAFT,
        organizer_organization_id=source.organizer_organization_id,
        contact_person_id=source.contact_person_id,
        contact_name=source.contact_name,
        contact_email=source.contact_email,
        contact_phone=source.contact_phone,
        image_url=source.image_url,
        image_alt=source.image_alt,
        expected_participants=source.expected_participants,
        retention_months=source.retention_months,
        gives_attestation=source.gives_attestation,
        attestation_minutes=source.attestation_minutes,
        attestation_minutes_per_day=source.attestation_minutes_per_day,
        created_by_id=actor.user_id,
    )
    if source.clienteles:
        await copy.clienteles.add(*source.clienteles)
    if source.plan_items:
        await copy.plan_items.add(*source.plan_items)
    for partner in source.partners:
        await EventPartner.create(
            event=copy,
            organization_id=partner.organization_id,
            role=partner.role,
        )
    return copy


async def duplicate_event(
    actor: Principal, event_id: int, *, shift_days: int = 364, with_children: bool = True
) -> Event:
    """ "Same event next year": a draft copy with dates shifted (364 days keeps the weekday)."""
    authorize(actor, "events.edit")
    async with in_transaction():
        source = await Event.get_or_none(id=event_id)
        if source is None:
            raise NotFound()
        shift = timedelta(days=shift_days)
        parent = await Event.get_or_none(id=source.parent_id) if source.parent_id else None
        copy = await _copy_event(actor, source, shift, parent)
        children = 0
        if with_children:
            for child in await Event.filter(parent_id=source.id).exclude(
                status=EventStatus.CANCELLED
            ):
                await _copy_event(actor, child, shift, copy)
                children += 1
        await audit(
            actor,
            "event.duplicated",
            copy,
            {"source": source.id, "shift_days": shift_days, "children": children},
        )
    return copy


async def create_territorial_children(actor: Principal, edition_id: int) -> list[Event]:
    """One launch per MRC of the edition's region, each an editable draft copy."""
    authorize(actor, "events.edit")
    async with in_transaction():
        edition = await Event.get_or_none(id=edition_id)
        if edition is None:
            raise NotFound()
        if edition.parent_id is not None:
            raise Conflict(_("Seule une édition peut recevoir des lancements territoriaux."))
        region = await edition_region(edition)
        if region is None:
            raise ValidationFailed(
                fields={"territory": _("Indiquez d'abord la région de l'édition.")}
            )
        mrcs = await Territory.filter(parent_id=region.id, active=True).order_by("name")
        if not mrcs:
            raise ValidationFailed(
                fields={
                    "territory": _(
                        "Aucune MRC active n'est connue pour la région %(region)s : "
                        "importez ses territoires d'abord.",
                        region=region.name,
                    )
                }
            )
        existing = set(
            await Event.filter(parent_id=edition.id).values_list("territory_id", flat=True)
        )
        await edition.fetch_related("clienteles", "plan_items")
        created = []
        for mrc in mrcs:
            if mrc.id in existing:
                continue
            child = await Event.create(
                uid=f"{uuid.uuid4()}@rassembleur",
                parent=edition,
                kind=edition.kind,
                title=f"{edition.title} — {mrc.name}",
                description=edition.description,
                starts_at=edition.starts_at,
                ends_at=edition.ends_at,
                all_day=edition.all_day,
                timezone=edition.timezone,
                mode=AttendanceMode.IN_PERSON,
                territory=mrc,
                visibility=edition.visibility,
                status=EventStatus.DRAFT,
                organizer_organization_id=edition.organizer_organization_id,
                contact_name=edition.contact_name,
                contact_email=edition.contact_email,
                contact_phone=edition.contact_phone,
                created_by_id=actor.user_id,
            )
            if edition.clienteles:
                await child.clienteles.add(*edition.clienteles)
            if edition.plan_items:
                await child.plan_items.add(*edition.plan_items)
            created.append(child)
        await audit(
            actor,
            "event.territorial_children_created",
            edition,
            {"created": len(created), "region": region.code},
        )
    return created


# --------------------------------------------------------------------------- roll-up


@dataclass
class EditionTotals:
    children: int = 0
    published: int = 0
    drafts: int = 0
    cancelled: int = 0
    capacity: int = 0
    seats_taken: int = 0
    expected: int = 0
    territories: dict[str, int] = field(default_factory=dict)
    pending_submissions: int = 0


async def edition_totals(edition: Event) -> EditionTotals:
    """Roll-up of an edition's children (counts, capacity, places taken, by territory)."""
    totals = EditionTotals()
    children = await Event.filter(parent_id=edition.id).select_related("territory")
    for child in children:
        totals.children += 1
        if child.status in (EventStatus.PUBLISHED, EventStatus.COMPLETED):
            totals.published += 1
        elif child.status == EventStatus.DRAFT:
            totals.drafts += 1
        else:
            totals.cancelled += 1
        if child.status != EventStatus.CANCELLED:
            totals.capacity += child.capacity or 0
            totals.seats_taken += child.seats_taken
            totals.expected += child.expected_participants or 0
        name = child.territory.name if child.territory else _("Sans territoire")
        totals.territories[name] = totals.territories.get(name, 0) + 1
    totals.territories = dict(sorted(totals.territories.items()))
    totals.pending_submissions = await ActivitySubmission.filter(
        edition_id=edition.id, status=SubmissionStatus.PENDING
    ).count()
    return totals


async def current_jps_edition(now: datetime | None = None) -> Event | None:
    """The JPS edition people are submitting to: the next one not over, else the latest."""
    now = now or datetime.now(UTC)
    base = Event.filter(
        kind=EventKind.PERSEVERANCE_DAYS,
        parent_id__isnull=True,
        status__in=(EventStatus.PUBLISHED, EventStatus.COMPLETED),
    )
    upcoming = await base.filter(ends_at__gte=now).order_by("starts_at").first()
    return upcoming or await base.order_by("-starts_at").first()
