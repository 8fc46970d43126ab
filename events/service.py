"""Event services: create, change, publish, cancel, delete; the API representation.

Called by both the HTML and the JSON routes. Editions (territorial launches, duplication,
roll-ups) live in `events.editions`, the public listing and visibility in `events.listing`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import _, ngettext
from core.settings import local_tz
from events.editions import edition_days
from events.listing import visible_to_public
from events.models import (
    ActivitySubmission,
    AttendanceMode,
    Event,
    EventKind,
    EventPartner,
    EventStatus,
    PhoneField,
    Visibility,
)
from events.schemas import EventIn, EventPatch, attestation_hours, attestation_minutes
from events.signals import (
    CapacityChanged,
    EventCancelled,
    EventChanged,
    capacity_changed,
    event_cancelled,
    event_changed,
)
from people import plans
from people.models import Clientele, Organization, Territory

# --------------------------------------------------------------------------- validation


async def _resolve_refs(data: EventIn, fields: dict[str, str]) -> dict[str, Any]:
    refs: dict[str, Any] = {
        "territory": None,
        "clienteles": [],
        "plan_items": [],
        "organization": None,
        "partners": [],
    }
    if data.territory:
        refs["territory"] = await Territory.get_or_none(code=data.territory)
        if refs["territory"] is None:
            fields["territory"] = _("Territoire inconnu : %(code)s.", code=data.territory)
    if data.clienteles:
        found = {c.code: c for c in await Clientele.filter(code__in=data.clienteles)}
        unknown = [c for c in data.clienteles if c not in found]
        if unknown:
            fields["clienteles"] = _("Clientèle inconnue : %(codes)s.", codes=", ".join(unknown))
        refs["clienteles"] = list(found.values())
    if data.plan_items:
        # Codes repeat across plans: resolved in the named plan, else the event year's.
        year = data.starts_at.year if data.starts_at else None
        found_items, unknown = await plans.resolve_codes(
            data.plan_items, year=year, plan_id=data.plan_id
        )
        if unknown:
            fields["plan_items"] = _(
                "Élément du plan d'action inconnu : %(codes)s.", codes=", ".join(unknown)
            )
        refs["plan_items"] = found_items
    if data.organizer_organization_id is not None:
        refs["organization"] = await Organization.get_or_none(id=data.organizer_organization_id)
        if refs["organization"] is None:
            fields["organizer_organization_id"] = _("Organisme inconnu.")
    if data.partners:
        ids = {p.organization_id for p in data.partners}
        orgs = {o.id: o for o in await Organization.filter(id__in=ids)}
        if len(orgs) != len(ids):
            fields["partners"] = _("Organisme partenaire inconnu.")
        refs["partners"] = [
            (orgs[p.organization_id], p.role) for p in data.partners if p.organization_id in orgs
        ]
    return refs


async def validate_event(data: EventIn, *, event: Event | None = None) -> dict[str, Any]:
    """Check an event's data as a whole; raise ValidationFailed with every field error."""
    fields: dict[str, str] = {}
    if data.all_day and data.ends_at <= data.starts_at:
        fields["ends_at"] = _("Le dernier jour ne peut pas précéder le premier.")
    elif data.ends_at <= data.starts_at:
        fields["ends_at"] = _("La fin doit être après le début.")
    elif data.ends_at - data.starts_at > timedelta(days=31):
        fields["ends_at"] = _("Un événement ne peut pas durer plus de 31 jours.")
    if (
        data.registration_opens_at
        and data.registration_closes_at
        and (data.registration_closes_at <= data.registration_opens_at)
    ):
        fields["registration_closes_at"] = _(
            "La fermeture des inscriptions doit suivre leur ouverture."
        )
    if data.registration_closes_at and data.registration_closes_at > data.ends_at:
        fields["registration_closes_at"] = _(
            "Les inscriptions doivent fermer au plus tard à la fin de l'événement."
        )
    mode = data.mode or (
        AttendanceMode.HYBRID
        if data.online_url and (data.venue_name or data.address)
        else AttendanceMode.ONLINE
        if data.online_url
        else AttendanceMode.IN_PERSON
    )
    if mode in (AttendanceMode.ONLINE, AttendanceMode.HYBRID) and not data.online_url:
        fields["online_url"] = _("Le lien de participation en ligne est requis.")
    if data.waitlist and data.capacity is None:
        fields["waitlist"] = _("Une liste d'attente n'a de sens qu'avec une capacité.")
    refs = await _resolve_refs(data, fields)
    parent = None
    if data.parent_id is not None:
        parent = await Event.get_or_none(id=data.parent_id)
        if parent is None:
            fields["parent_id"] = _("Édition inconnue.")
        elif parent.parent_id is not None:
            fields["parent_id"] = _("Une activité ne peut pas être rattachée à une autre activité.")
        elif event is not None and parent.id == event.id:
            fields["parent_id"] = _("Un événement ne peut pas être sa propre édition.")
        elif event is not None and await Event.exists(parent_id=event.id):
            fields["parent_id"] = _(
                "Cette édition a déjà des activités; elle ne peut pas être rattachée."
            )
        elif parent.kind == EventKind.PERSEVERANCE_DAYS and not fields.get("ends_at"):
            week_start, week_end = edition_days(parent)
            first = data.starts_at.astimezone(local_tz()).date()
            last = data.ends_at.astimezone(local_tz()).date()
            if first < week_start or last > week_end:
                fields["starts_at"] = _(
                    "L'activité doit avoir lieu pendant l'édition (du %(start)s au %(end)s).",
                    start=week_start.isoformat(),
                    end=week_end.isoformat(),
                )
    if fields:
        raise ValidationFailed(fields=fields)
    refs["mode"] = mode
    refs["parent"] = parent
    return refs


def _columns(data: EventIn, refs: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": data.title,
        "kind": data.kind,
        "description": data.description,
        "starts_at": data.starts_at.astimezone(UTC),
        "ends_at": data.ends_at.astimezone(UTC),
        "all_day": data.all_day,
        "timezone": data.timezone,
        "mode": refs["mode"],
        "venue_name": data.venue_name,
        "address": data.address,
        "territory": refs["territory"],
        "online_url": data.online_url,
        "capacity": data.capacity,
        "waitlist": data.waitlist,
        "requires_approval": data.requires_approval,
        "allow_walkins_over_capacity": data.allow_walkins_over_capacity,
        "registration_enabled": data.registration_enabled,
        "phone_field": data.phone_field,
        "max_public_party_size": data.max_public_party_size,
        "confirm_by_email": data.confirm_by_email,
        "registration_opens_at": data.registration_opens_at,
        "registration_closes_at": data.registration_closes_at,
        "visibility": data.visibility,
        "parent": refs["parent"],
        "organizer_organization": refs["organization"],
        "contact_name": data.contact_name,
        "contact_email": data.contact_email,
        "contact_phone": data.contact_phone,
        "image_url": data.image_url,
        "image_alt": data.image_alt,
        "expected_participants": data.expected_participants,
        "send_reminder": data.send_reminder,
        "reminder_days_before": data.reminder_days_before,
        "send_thanks": data.send_thanks,
        "evaluation_url": data.evaluation_url,
        "send_change_notices": data.send_change_notices,
        "retention_months": data.retention_months,
        "gives_attestation": data.gives_attestation,
        "attestation_minutes": attestation_minutes(data.attestation_hours),
        "attestation_minutes_per_day": data.attestation_hours_per_day,
    }


async def _set_relations(event: Event, refs: dict[str, Any]) -> None:
    await event.clienteles.clear()
    if refs["clienteles"]:
        await event.clienteles.add(*refs["clienteles"])
    await event.plan_items.clear()
    if refs["plan_items"]:
        await event.plan_items.add(*refs["plan_items"])
    await EventPartner.filter(event_id=event.id).delete()
    for organization, role in refs["partners"]:
        await EventPartner.get_or_create(event=event, organization=organization, role=role)


# --------------------------------------------------------------------------- changes


async def create_event(actor: Principal, data: EventIn) -> Event:
    """A new event, always a draft."""
    authorize(actor, "events.edit")
    refs = await validate_event(data)
    async with in_transaction():
        event = await Event.create(
            uid=f"{uuid.uuid4()}@rassembleur",
            status=EventStatus.DRAFT,
            created_by_id=actor.user_id,
            **_columns(data, refs),
        )
        await _set_relations(event, refs)
        await audit(actor, "event.created", event, {"title": event.title, "kind": event.kind})
    return event


async def event_input(event: Event) -> EventIn:
    """The current state of an event as the input model (for forms and partial updates)."""
    await event.fetch_related("clienteles", "plan_items", "territory", "partners")
    return EventIn.model_construct(
        title=event.title,
        kind=EventKind(event.kind),
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        all_day=event.all_day,
        timezone=event.timezone,
        description=event.description,
        mode=AttendanceMode(event.mode),
        venue_name=event.venue_name,
        address=event.address,
        territory=event.territory.code if event.territory else None,
        online_url=event.online_url,
        capacity=event.capacity,
        waitlist=event.waitlist,
        requires_approval=event.requires_approval,
        allow_walkins_over_capacity=event.allow_walkins_over_capacity,
        registration_enabled=event.registration_enabled,
        phone_field=PhoneField(event.phone_field),
        max_public_party_size=event.max_public_party_size,
        confirm_by_email=event.confirm_by_email,
        registration_opens_at=event.registration_opens_at,
        registration_closes_at=event.registration_closes_at,
        clienteles=[c.code for c in event.clienteles],
        plan_items=[p.code for p in event.plan_items],
        plan_id=event.plan_items[0].plan_id if event.plan_items else None,
        parent_id=event.parent_id,
        visibility=Visibility(event.visibility),
        organizer_organization_id=event.organizer_organization_id,
        partners=[{"organization_id": p.organization_id, "role": p.role} for p in event.partners],
        contact_name=event.contact_name,
        contact_email=event.contact_email,
        contact_phone=event.contact_phone,
        image_url=event.image_url,
        image_alt=event.image_alt,
        expected_participants=event.expected_participants,
        send_reminder=event.send_reminder,
        reminder_days_before=event.reminder_days_before,
        send_thanks=event.send_thanks,
        evaluation_url=event.evaluation_url,
        send_change_notices=event.send_change_notices,
        retention_months=event.retention_months,
        gives_attestation=event.gives_attestation,
        attestation_hours=attestation_hours(event.attestation_minutes),
        attestation_hours_per_day=event.attestation_minutes_per_day,
    )


async def merge_patch(event: Event, patch: EventPatch) -> EventIn:
    """Apply the fields sent in a PATCH over the event's current values, then re-validate."""
    from core.http import validate

    current = (await event_input(event)).model_dump()
    current.update(patch.model_dump(exclude_unset=True))
    return validate(EventIn, current)


class OverCapacity(Conflict):
    """A new capacity below the heads already confirmed: saved only when confirmed
    (`confirm_over_capacity`); nobody is dropped."""

    code = "over_capacity"

    def __init__(self, taken: int, capacity: int) -> None:
        self.over_by = taken - capacity
        super().__init__(
            ngettext(
                "%(taken)s personnes sont déjà confirmées : la nouvelle capacité de "
                "%(capacity)s laisse %(num)s personne au-delà. Confirmez pour enregistrer "
                "quand même.",
                "%(taken)s personnes sont déjà confirmées : la nouvelle capacité de "
                "%(capacity)s laisse %(num)s personnes au-delà. Confirmez pour enregistrer "
                "quand même.",
                self.over_by,
                taken=taken,
                capacity=capacity,
            ),
            extra={"over_by": self.over_by, "seats_taken": taken, "capacity": capacity},
        )


async def update_event(actor: Principal, event_id: int, data: EventIn) -> Event:
    """Change an event. Date changes bump the iCalendar SEQUENCE; every change is audited.

    A capacity lowered below the confirmed heads raises OverCapacity unless
    `data.confirm_over_capacity`; the event then shows `Event.over_capacity`."""
    authorize(actor, "events.edit")
    async with in_transaction():
        # Locked (PostgreSQL): a registration taking places meanwhile is neither lost by
        # the save below nor missed by the capacity check.
        event = await Event.filter(id=event_id).select_for_update().first()
        if event is None:
            raise NotFound()
        if event.status == EventStatus.CANCELLED:
            raise Conflict(_("Un événement annulé ne peut plus être modifié."), code="cancelled")
        if (
            data.capacity is not None
            and data.capacity != event.capacity
            and data.capacity < event.seats_taken
            and not data.confirm_over_capacity
        ):
            raise OverCapacity(event.seats_taken, data.capacity)
        refs = await validate_event(data, event=event)
        columns = _columns(data, refs)
        before = {
            "starts_at": event.starts_at,
            "ends_at": event.ends_at,
            "capacity": event.capacity,
            "venue_name": event.venue_name,
            "address": event.address,
            "online_url": event.online_url,
        }
        dates_changed = (columns["starts_at"], columns["ends_at"]) != (
            event.starts_at,
            event.ends_at,
        )
        for name, value in columns.items():
            setattr(event, name, value)
        place_changed = (before["venue_name"], before["address"]) != (
            event.venue_name,
            event.address,
        )
        if dates_changed or place_changed:
            event.sequence += 1
        if dates_changed:
            # The automatic reminder and thank-you follow the new dates.
            event.reminders_sent_at = event.thanks_sent_at = None
        await event.save()
        await _set_relations(event, refs)
        details: dict[str, Any] = {}
        if dates_changed:
            details = {
                "from": [str(before["starts_at"]), str(before["ends_at"])],
                "to": [event.starts_at.isoformat(), event.ends_at.isoformat()],
                "sequence": event.sequence,
            }
            await audit(actor, "event.dates_changed", event, details)
        if place_changed:
            details["place"] = {
                "from": [before["venue_name"], before["address"]],
                "to": [event.venue_name, event.address],
            }
            details["sequence"] = event.sequence
        if before["capacity"] != event.capacity:
            await audit(
                actor,
                "event.capacity_changed",
                event,
                {"from": before["capacity"], "to": event.capacity},
            )
            previous = before["capacity"]
            await capacity_changed.send(
                CapacityChanged(actor, event, previous if isinstance(previous, int) else None)
            )
        await audit(actor, "event.updated", event, {"title": event.title})
        if event.status == EventStatus.PUBLISHED and (dates_changed or place_changed):
            await event_changed.send(EventChanged(actor, event, details))
    return event


async def find_event(event_id: int) -> Event:
    """An event by id, whoever asks (NotFound if none): the caller checks who may see it."""
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    return event


async def get_event(actor: Principal | None, event_id: int) -> Event:
    """An event as `actor` may see it: staff see everything, the public only what's published."""
    event = await Event.get_or_none(id=event_id).select_related(
        "territory", "parent", "organizer_organization"
    )
    if event is None:
        raise NotFound()
    if actor is not None and actor.can("events.view"):
        return event
    if not visible_to_public(event):
        raise NotFound()
    return event


async def load_relations(event: Event, *names: str) -> None:
    """Load an event's related rows for a page (its clienteles and plan items by default)."""
    await event.fetch_related(*(names or ("clienteles", "plan_items")))


async def partners_of(event: Event) -> list[EventPartner]:
    """An event's partners with their organization, by role."""
    return list(
        await EventPartner.filter(event_id=event.id)
        .select_related("organization")
        .order_by("role", "id")
    )


async def publish_event(actor: Principal, event_id: int) -> Event:
    authorize(actor, "events.edit")
    async with in_transaction():
        event = await Event.get_or_none(id=event_id)
        if event is None:
            raise NotFound()
        if event.status != EventStatus.DRAFT:
            raise Conflict(_("Seul un brouillon peut être publié."), code="not_draft")
        missing = {}
        if event.mode != AttendanceMode.ONLINE and not (event.venue_name or event.address):
            missing["venue_name"] = _("Indiquez le lieu avant de publier.")
        if missing:
            raise ValidationFailed(_("L'événement n'est pas prêt à être publié."), fields=missing)
        event.status = EventStatus.PUBLISHED
        event.published_at = datetime.now(UTC)
        await event.save(update_fields=["status", "published_at", "updated_at"])
        await audit(actor, "event.published", event, {"from": "draft", "to": "published"})
    return event


async def cancel_event(actor: Principal, event_id: int, message: str = "") -> tuple[Event, int]:
    """Cancel: STATUS:CANCELLED in feeds, SEQUENCE+1, registrants told by the cancel hooks."""
    authorize(actor, "events.edit")
    async with in_transaction():
        event = await Event.get_or_none(id=event_id)
        if event is None:
            raise NotFound()
        if event.status == EventStatus.CANCELLED:
            raise Conflict(_("Cet événement est déjà annulé."), code="already_cancelled")
        previous = event.status
        event.status = EventStatus.CANCELLED
        event.cancelled_at = datetime.now(UTC)
        event.cancel_reason = message.strip()[:5000]
        event.sequence += 1
        await event.save()
        notified = sum(
            await event_cancelled.send(EventCancelled(actor, event, event.cancel_reason))
        )
        await audit(
            actor,
            "event.cancelled",
            event,
            {"from": str(previous), "to": "cancelled", "notified": notified},
        )
    return event, notified


async def complete_past_events(now: datetime | None = None) -> int:
    """Mark published events that are over as completed (run by the worker)."""
    now = now or datetime.now(UTC)
    return await Event.filter(status=EventStatus.PUBLISHED, ends_at__lt=now).update(
        status=EventStatus.COMPLETED
    )


async def delete_event(actor: Principal, event_id: int) -> None:
    """Only drafts may be deleted (with their draft children)."""
    authorize(actor, "events.edit")
    async with in_transaction():
        event = await Event.get_or_none(id=event_id)
        if event is None:
            raise NotFound()
        if event.status != EventStatus.DRAFT:
            raise Conflict(
                _("Seuls les brouillons peuvent être supprimés; annulez plutôt l'événement."),
                code="not_draft",
            )
        if await Event.filter(parent_id=event.id).exclude(status=EventStatus.DRAFT).exists():
            raise Conflict(
                _("Cette édition a des activités publiées; elle ne peut pas être supprimée."),
                code="has_children",
            )
        try:
            await ActivitySubmission.filter(edition_id=event.id).delete()
            await Event.filter(parent_id=event.id).delete()
            await audit(actor, "event.deleted", event, {"title": event.title})
            await event.delete()
        except IntegrityError:
            # Registrations (staff may register to a draft) keep their event: the
            # transaction is rolled back and nothing is deleted.
            raise Conflict(
                _("Ce brouillon a des inscriptions; il ne peut pas être supprimé."),
                code="has_registrations",
            ) from None


def _register_maintenance() -> None:
    from core import maintenance

    maintenance.register("events.complete_past_events", complete_past_events)


_register_maintenance()
