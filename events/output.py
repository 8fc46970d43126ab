"""The API representation of events (`GET /api/v1/events`, `/api/v1/events/{id}`, ...).

A list page is read in a fixed number of queries whatever its size: the clienteles, plan
items and partners of every event at once, one query for their territories, one for the
organizing organizations, one grouped count of children (was ~7 queries per event)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.functions import Count

from events.models import Event
from events.schemas import attestation_hours
from people.models import Organization, Territory


async def events_out(
    events: Sequence[Event], *, base_url: str, staff: bool = False
) -> list[dict[str, Any]]:
    """The API representation of each event, in order (the online link only for staff)."""
    if not events:
        return []
    await Event.fetch_for_list(list(events), "clienteles", "plan_items", "partners__organization")
    ids = [event.id for event in events]
    territory_ids = {e.territory_id for e in events if e.territory_id}
    organization_ids = {e.organizer_organization_id for e in events if e.organizer_organization_id}
    territories = (
        {t.id: t for t in await Territory.filter(id__in=list(territory_ids))}
        if territory_ids
        else {}
    )
    organizations = (
        dict(await Organization.filter(id__in=list(organization_ids)).values_list("id", "name"))
        if organization_ids
        else {}
    )
    children: dict[int, int] = dict(
        await Event.filter(parent_id__in=ids)
        .annotate(n=Count("id"))
        .group_by("parent_id")
        .values_list("parent_id", "n")
    )
    return [
        _event_dict(
            event,
            territories.get(event.territory_id) if event.territory_id else None,
            organizations.get(event.organizer_organization_id),
            children.get(event.id, 0),
            base_url=base_url,
            staff=staff,
        )
        for event in events
    ]


async def event_out(event: Event, *, base_url: str, staff: bool = False) -> dict[str, Any]:
    """The API representation of one event (the online link only for staff)."""
    return (await events_out([event], base_url=base_url, staff=staff))[0]


def _event_dict(
    event: Event,
    territory: Territory | None,
    organization: str | None,
    children: int,
    *,
    base_url: str,
    staff: bool,
) -> dict[str, Any]:
    first, last = event.days
    return {
        "id": event.id,
        "uid": event.uid,
        "kind": event.kind,
        "status": event.status,
        "visibility": event.visibility,
        "title": event.title,
        "description": event.description,
        "all_day": event.all_day,
        "starts_at": first.isoformat() if event.all_day else event.local_iso(event.starts_at),
        "ends_at": last.isoformat() if event.all_day else event.local_iso(event.ends_at),
        "timezone": event.timezone,
        "mode": event.mode,
        "venue_name": event.venue_name,
        "address": event.address,
        "territory": territory.code if territory else None,
        "territory_name": territory.name if territory else None,
        "online_url": event.online_url if staff else None,
        "capacity": event.capacity,
        "seats_taken": event.seats_taken,
        "waitlist": event.waitlist,
        "requires_approval": event.requires_approval,
        "phone_field": event.phone_field,
        "max_public_party_size": event.max_public_party_size,
        "confirm_by_email": event.confirm_by_email,
        "registration_opens_at": event.local_iso(event.registration_opens_at),
        "registration_closes_at": event.local_iso(event.registration_closes_at),
        "clienteles": [c.code for c in event.clienteles],
        "plan_items": [p.code for p in event.plan_items],
        "parent_id": event.parent_id,
        "children_count": children,
        "organizer_organization": organization,
        "partners": [
            {
                "organization_id": p.organization_id,
                "organization": p.organization.name,
                "role": p.role,
            }
            for p in event.partners
        ],
        "contact_name": event.contact_name,
        "contact_email": event.contact_email,
        "contact_phone": event.contact_phone,
        "image_url": event.image_url,
        "image_alt": event.image_alt,
        "retention_months": event.retention_months,
        "sequence": event.sequence,
        "send_reminder": event.send_reminder,
        "reminder_days_before": event.reminder_days_before,
        "send_thanks": event.send_thanks,
        "evaluation_url": event.evaluation_url if staff else None,
        "send_change_notices": event.send_change_notices,
        "gives_attestation": event.gives_attestation,
        "attestation_hours": attestation_hours(event.attestation_minutes),
        "attestation_hours_per_day": event.attestation_minutes_per_day,
        "created_at": event.local_iso(event.created_at),
        "published_at": event.local_iso(event.published_at),
        "cancelled_at": event.local_iso(event.cancelled_at),
        "url": f"{base_url}/events/{event.id}",
        "ics_url": f"{base_url}/events/{event.id}.ics",
    }
