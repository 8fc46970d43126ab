"""Event services: create, change, publish, cancel, duplicate; editions; public listing.

Every rule about events lives here, called by both the HTML and the JSON routes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import N_, _
from events.models import (
    AttendanceMode,
    Event,
    EventKind,
    EventPartner,
    EventStatus,
    Visibility,
)
from events.schemas import EventIn, EventPatch
from events.signals import (
    CapacityChanged,
    EventCancelled,
    EventChanged,
    capacity_changed,
    event_cancelled,
    event_changed,
)
from people.models import Clientele, Organization, PlanItem, Territory, TerritoryKind

LOCAL_TZ = ZoneInfo("America/Toronto")
EDITION_KINDS = {EventKind.ANNUAL_LAUNCH, EventKind.PERSEVERANCE_DAYS}
PUBLIC_STATUSES = (EventStatus.PUBLISHED, EventStatus.CANCELLED, EventStatus.COMPLETED)

# Labels as catalog message ids, translated when asked for (one table each, built once).
KIND_LABELS = {
    EventKind.ANNUAL_LAUNCH: N_("Lancement annuel du portrait"),
    EventKind.PERSEVERANCE_DAYS: N_("Journées de la persévérance scolaire"),
    EventKind.REGIONAL_EVENT: N_("Événement régional"),
    EventKind.ACTIVITY: N_("Activité"),
    EventKind.MEETING: N_("Rencontre de comité"),
    EventKind.TRAINING: N_("Formation"),
}
STATUS_LABELS = {
    EventStatus.DRAFT: N_("Brouillon"),
    EventStatus.PUBLISHED: N_("Publié"),
    EventStatus.CANCELLED: N_("Annulé"),
    EventStatus.COMPLETED: N_("Terminé"),
}
VISIBILITY_LABELS = {
    Visibility.PUBLIC: N_("Public"),
    Visibility.UNLISTED: N_("Non répertorié (accessible par lien)"),
    Visibility.PRIVATE: N_("Privé (sur invitation)"),
}
MODE_LABELS = {
    AttendanceMode.IN_PERSON: N_("En personne"),
    AttendanceMode.ONLINE: N_("En ligne"),
    AttendanceMode.HYBRID: N_("Hybride (en personne et en ligne)"),
}


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[EventKind(kind)])


def kind_choices() -> list[tuple[str, str]]:
    return [(k.value, kind_label(k)) for k in EventKind]


def status_label(status: str) -> str:
    return _(STATUS_LABELS[EventStatus(status)])


def visibility_label(visibility: str) -> str:
    return _(VISIBILITY_LABELS[Visibility(visibility)])


def mode_label(mode: str) -> str:
    return _(MODE_LABELS[AttendanceMode(mode)])


def local_day_bounds(day: date, zone: ZoneInfo = LOCAL_TZ) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


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
        found_items = {p.code: p for p in await PlanItem.filter(code__in=data.plan_items)}
        unknown = [c for c in data.plan_items if c not in found_items]
        if unknown:
            fields["plan_items"] = _(
                "Élément du plan d'action inconnu : %(codes)s.", codes=", ".join(unknown)
            )
        refs["plan_items"] = list(found_items.values())
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
    if data.ends_at <= data.starts_at:
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
        elif parent.parent_id is not None:  # type: ignore[attr-defined]
            fields["parent_id"] = _("Une activité ne peut pas être rattachée à une autre activité.")
        elif event is not None and parent.id == event.id:
            fields["parent_id"] = _("Un événement ne peut pas être sa propre édition.")
        elif event is not None and await Event.exists(parent_id=event.id):
            fields["parent_id"] = _(
                "Cette édition a déjà des activités; elle ne peut pas être rattachée."
            )
        elif parent.kind == EventKind.PERSEVERANCE_DAYS and not fields.get("ends_at"):
            week_start = parent.starts_at.astimezone(LOCAL_TZ).date()
            week_end = parent.ends_at.astimezone(LOCAL_TZ).date()
            first = data.starts_at.astimezone(LOCAL_TZ).date()
            last = data.ends_at.astimezone(LOCAL_TZ).date()
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
        registration_opens_at=event.registration_opens_at,
        registration_closes_at=event.registration_closes_at,
        clienteles=[c.code for c in event.clienteles],
        plan_items=[p.code for p in event.plan_items],
        parent_id=event.parent_id,  # type: ignore[attr-defined]
        visibility=Visibility(event.visibility),
        organizer_organization_id=event.organizer_organization_id,  # type: ignore[attr-defined]
        partners=[
            {"organization_id": p.organization_id, "role": p.role}  # type: ignore[attr-defined]
            for p in event.partners
        ],
        contact_name=event.contact_name,
        contact_email=event.contact_email,
        contact_phone=event.contact_phone,
        image_url=event.image_url,
        image_alt=event.image_alt,
        expected_participants=event.expected_participants,
    )


async def merge_patch(event: Event, patch: EventPatch) -> EventIn:
    """Apply the fields sent in a PATCH over the event's current values, then re-validate."""
    from core.http import validate

    current = (await event_input(event)).model_dump()
    current.update(patch.model_dump(exclude_unset=True))
    return validate(EventIn, current)


async def update_event(actor: Principal, event_id: int, data: EventIn) -> Event:
    """Change an event. Date changes bump the iCalendar SEQUENCE; every change is audited."""
    authorize(actor, "events.edit")
    async with in_transaction():
        event = await Event.get_or_none(id=event_id)
        if event is None:
            raise NotFound()
        if event.status == EventStatus.CANCELLED:
            raise Conflict(_("Un événement annulé ne peut plus être modifié."), code="cancelled")
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
        if (
            dates_changed
            or before["venue_name"] != event.venue_name
            or (before["address"] != event.address)
        ):
            event.sequence += 1
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
        if before["capacity"] != event.capacity:
            await audit(
                actor,
                "event.capacity_changed",
                event,
                {"from": before["capacity"], "to": event.capacity},
            )
            await capacity_changed.send(CapacityChanged(actor, event, before["capacity"]))
        await audit(actor, "event.updated", event, {"title": event.title})
        if event.status == EventStatus.PUBLISHED and (dates_changed or event.sequence != 0):
            await event_changed.send(EventChanged(actor, event, details))
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
    if event.status not in PUBLIC_STATUSES or event.visibility == Visibility.PRIVATE:
        raise NotFound()
    return event


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
        from events.models import ActivitySubmission

        await ActivitySubmission.filter(edition_id=event.id).delete()
        await Event.filter(parent_id=event.id).delete()
        await audit(actor, "event.deleted", event, {"title": event.title})
        await event.delete()


async def _copy_event(
    actor: Principal, source: Event, shift: timedelta, parent: Event | None
) -> Event:
    await source.fetch_related("clienteles", "plan_items", "partners")
    copy = await Event.create(
        uid=f"{uuid.uuid4()}@rassembleur",
        parent=parent,
        kind=source.kind,
        title=source.title,
        description=source.description,
        starts_at=source.starts_at + shift,
        ends_at=source.ends_at + shift,
        timezone=source.timezone,
        mode=source.mode,
        venue_name=source.venue_name,
        address=source.address,
        territory_id=source.territory_id,  # type: ignore[attr-defined]
        online_url=source.online_url,
        capacity=source.capacity,
        waitlist=source.waitlist,
        requires_approval=source.requires_approval,
        allow_walkins_over_capacity=source.allow_walkins_over_capacity,
        registration_enabled=source.registration_enabled,
        registration_opens_at=source.registration_opens_at + shift
        if source.registration_opens_at
        else None,
        registration_closes_at=source.registration_closes_at + shift
        if source.registration_closes_at
        else None,
        visibility=source.visibility,
        status=EventStatus.DRAFT,
        organizer_organization_id=source.organizer_organization_id,  # type: ignore[attr-defined]
        contact_person_id=source.contact_person_id,  # type: ignore[attr-defined]
        contact_name=source.contact_name,
        contact_email=source.contact_email,
        contact_phone=source.contact_phone,
        image_url=source.image_url,
        image_alt=source.image_alt,
        expected_participants=source.expected_participants,
        created_by_id=actor.user_id,
    )
    if source.clienteles:
        await copy.clienteles.add(*source.clienteles)
    if source.plan_items:
        await copy.plan_items.add(*source.plan_items)
    for partner in source.partners:
        await EventPartner.create(
            event=copy,
            organization_id=partner.organization_id,  # type: ignore[attr-defined]
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
        parent = await Event.get_or_none(id=source.parent_id) if source.parent_id else None  # type: ignore[attr-defined]
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
        edition = await Event.get_or_none(id=edition_id).select_related("territory")
        if edition is None:
            raise NotFound()
        if edition.parent_id is not None:  # type: ignore[attr-defined]
            raise Conflict(_("Seule une édition peut recevoir des lancements territoriaux."))
        region = edition.territory
        if region is not None and region.kind == TerritoryKind.MRC:
            region = await Territory.get_or_none(id=region.parent_id)  # type: ignore[attr-defined]
        if region is None:
            raise ValidationFailed(
                fields={"territory": _("Indiquez d'abord la région de l'édition.")}
            )
        mrcs = await Territory.filter(parent_id=region.id, active=True).order_by("name")
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
                timezone=edition.timezone,
                mode=AttendanceMode.IN_PERSON,
                territory=mrc,
                visibility=edition.visibility,
                status=EventStatus.DRAFT,
                organizer_organization_id=edition.organizer_organization_id,  # type: ignore[attr-defined]
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


# --------------------------------------------------------------------------- listing


@dataclass
class EventFilters:
    kind: str | None = None
    territory: str | None = None
    clientele: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str | None = None
    parent_id: int | None = None
    status: str | None = None
    day: date | None = None
    top_level: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> EventFilters:
        """From query parameters; bad values are ignored and reported in `errors`."""
        filters = cls()
        errors = filters.errors
        kind = (params.get("kind") or "").strip()
        if kind:
            if kind in {k.value for k in EventKind}:
                filters.kind = kind
            else:
                errors["kind"] = _("Type d'événement inconnu.")
        filters.territory = (params.get("territory") or "").strip()[:10] or None
        filters.clientele = (params.get("clientele") or "").strip()[:32] or None
        for key, attr in (("from", "date_from"), ("to", "date_to"), ("day", "day")):
            raw = (params.get(key) or "").strip()
            if raw:
                try:
                    setattr(filters, attr, date.fromisoformat(raw[:10]))
                except ValueError:
                    errors[key] = _("Date invalide (format attendu : 2027-02-16).")
        filters.q = (params.get("q") or "").strip()[:200] or None
        raw_parent = (params.get("parent_id") or "").strip()
        if raw_parent:
            try:
                filters.parent_id = int(raw_parent)
            except ValueError:
                errors["parent_id"] = _("Identifiant invalide.")
        status = (params.get("status") or "").strip()
        if status in {s.value for s in EventStatus}:
            filters.status = status
        return filters

    def query_string(self) -> str:
        from urllib.parse import urlencode

        pairs = {
            "kind": self.kind,
            "territory": self.territory,
            "clientele": self.clientele,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "day": self.day.isoformat() if self.day else None,
            "q": self.q,
            "parent_id": self.parent_id,
            "status": self.status,
        }
        return urlencode({k: v for k, v in pairs.items() if v not in (None, "")})


async def _territory_ids(code: str) -> list[int]:
    territory = await Territory.get_or_none(code=code)
    if territory is None:
        return []
    ids = [territory.id]
    if territory.kind == TerritoryKind.REGION:
        ids += [child.id for child in await Territory.filter(parent_id=territory.id).only("id")]
    return ids


async def filtered_events(filters: EventFilters, *, public: bool = True) -> QuerySet[Event]:
    """The events matching `filters`; `public` keeps only what anyone may list."""
    query = Event.all()
    if public:
        query = query.filter(status__in=PUBLIC_STATUSES, visibility=Visibility.PUBLIC)
    elif filters.status:
        query = query.filter(status=filters.status)
    if filters.kind:
        query = query.filter(kind=filters.kind)
    if filters.territory:
        query = query.filter(territory_id__in=await _territory_ids(filters.territory))
    if filters.clientele:
        ids = await Event.filter(clienteles__code=filters.clientele).values_list("id", flat=True)
        query = query.filter(id__in=list(ids))
    if filters.day:
        start, end = local_day_bounds(filters.day)
        query = query.filter(starts_at__lt=end, ends_at__gt=start)
    if filters.date_from:
        query = query.filter(ends_at__gt=local_day_bounds(filters.date_from)[0])
    if filters.date_to:
        query = query.filter(starts_at__lt=local_day_bounds(filters.date_to)[1])
    if filters.q:
        query = query.filter(
            Q(title__icontains=filters.q)
            | Q(description__icontains=filters.q)
            | Q(venue_name__icontains=filters.q)
            | Q(address__icontains=filters.q)
        )
    if filters.parent_id is not None:
        query = query.filter(parent_id=filters.parent_id)
    elif filters.top_level:
        query = query.filter(parent_id__isnull=True)
    return query


async def list_events(
    actor: Principal | None,
    filters: EventFilters,
    *,
    page: int = 1,
    per_page: int = 50,
    public: bool = True,
) -> tuple[list[Event], int]:
    if not public:
        authorize(actor, "events.view")
    query = await filtered_events(filters, public=public)
    total = await query.count()
    events = (
        await query.order_by("starts_at", "id")
        .offset((max(1, page) - 1) * per_page)
        .limit(per_page)
        .select_related("territory", "parent")
        .prefetch_related("clienteles")
    )
    return list(events), total


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
    from events.models import ActivitySubmission, SubmissionStatus

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


async def event_out(event: Event, *, base_url: str, staff: bool = False) -> dict[str, Any]:
    """The API representation of an event (the online link only for staff)."""
    await event.fetch_related("clienteles", "plan_items", "partners__organization")
    territory = (
        await Territory.get_or_none(id=event.territory_id)  # type: ignore[attr-defined]
        if event.territory_id  # type: ignore[attr-defined]
        else None
    )
    organization = (
        await Organization.get_or_none(id=event.organizer_organization_id)  # type: ignore[attr-defined]
        if event.organizer_organization_id  # type: ignore[attr-defined]
        else None
    )
    children = await Event.filter(parent_id=event.id).count()
    return {
        "id": event.id,
        "uid": event.uid,
        "kind": event.kind,
        "status": event.status,
        "visibility": event.visibility,
        "title": event.title,
        "description": event.description,
        "starts_at": event.starts_at.astimezone(ZoneInfo(event.timezone)).isoformat(),
        "ends_at": event.ends_at.astimezone(ZoneInfo(event.timezone)).isoformat(),
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
        "registration_opens_at": event.registration_opens_at.isoformat()
        if event.registration_opens_at
        else None,
        "registration_closes_at": event.registration_closes_at.isoformat()
        if event.registration_closes_at
        else None,
        "clienteles": [c.code for c in event.clienteles],
        "plan_items": [p.code for p in event.plan_items],
        "parent_id": event.parent_id,  # type: ignore[attr-defined]
        "children_count": children,
        "organizer_organization": organization.name if organization else None,
        "partners": [
            {
                "organization_id": p.organization_id,  # type: ignore[attr-defined]
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
        "sequence": event.sequence,
        "url": f"{base_url}/events/{event.id}",
        "ics_url": f"{base_url}/events/{event.id}.ics",
    }


def _register_maintenance() -> None:
    from core import maintenance

    maintenance.register("events.complete_past_events", complete_past_events)


_register_maintenance()
