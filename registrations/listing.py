"""The back office's reading of an event's registrations: the filtered list (pages and
the organizer's JSON list), the counts by status and clientele, one registration's
detail and history, where it may move, and the attendance sheet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from core.auth import Principal, authorize
from core.i18n import _
from core.models import AuditEntry
from core.paging import page_number
from events.models import Event, EventStatus
from people.models import Clientele, Consent
from people.service import Page
from registrations import capacity
from registrations.access import MANAGE, VIEW, event_for, registration_for
from registrations.answers import format_answer
from registrations.models import ACTIVE_STATUSES, Question, Registration, RegistrationStatus


@dataclass
class RegistrationFilters:
    status: str | None = None
    clientele: str | None = None
    territory: str | None = None
    q: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: Any) -> RegistrationFilters:
        """From query parameters; unknown values are reported in `errors` and ignored."""
        filters = cls()
        status = (params.get("status") or "").strip()
        if status:
            if status in {s.value for s in RegistrationStatus}:
                filters.status = status
            else:
                filters.errors["status"] = _("Statut inconnu.")
        filters.clientele = (params.get("clientele") or "").strip()[:32] or None
        filters.territory = (params.get("territory") or "").strip()[:10] or None
        filters.q = (params.get("q") or "").strip()[:200]
        return filters

    def as_dict(self) -> dict[str, str]:
        return {
            "status": self.status or "",
            "clientele": self.clientele or "",
            "territory": self.territory or "",
            "q": self.q,
        }

    def query_string(self) -> str:
        return urlencode({k: v for k, v in self.as_dict().items() if v})


def filtered(event_id: int, filters: RegistrationFilters) -> QuerySet[Registration]:
    query = Registration.filter(event_id=event_id)
    if filters.status:
        query = query.filter(status=filters.status)
    if filters.clientele:
        query = query.filter(clientele__code=filters.clientele)
    if filters.territory:
        # A region code also finds the registrations of its MRCs.
        query = query.filter(
            Q(territory__code=filters.territory) | Q(territory__parent__code=filters.territory)
        )
    for word in filters.q.split()[:8]:
        query = query.filter(
            Q(person__first_name__icontains=word)
            | Q(person__last_name__icontains=word)
            | Q(person__email_key__icontains=word.lower())
            | Q(organization__name__icontains=word)
            | Q(ticket_code__icontains=word.upper())
        )
    return query


async def list_registrations(
    actor: Principal,
    event_id: int,
    filters: RegistrationFilters,
    *,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """One page of the event's registrations matching `filters`, by last name."""
    await event_for(actor, VIEW, event_id)
    per_page = max(1, min(int(per_page), 500))
    page = page_number(page)
    query = filtered(event_id, filters)
    total = await query.count()
    items = (
        await query.select_related("person", "clientele", "territory", "organization")
        .order_by("person__last_name", "person__first_name", "id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(items), total, page, per_page)


@dataclass
class Tally:
    registrations: int = 0
    heads: int = 0


@dataclass
class ClienteleTally:
    code: str
    name: str
    registrations: int = 0
    heads: int = 0
    confirmed_heads: int = 0


@dataclass
class Counts:
    by_status: dict[str, Tally]
    by_clientele: list[ClienteleTally]
    active: Tally
    capacity: int | None
    seats_taken: int
    seats_left: int | None  # the event's `places_left` when counted


async def counts(actor: Principal, event_id: int, *, language: str = "fr") -> Counts:
    """Registrations and heads by status, and by clientele (active registrations)."""
    event = await event_for(actor, VIEW, event_id)
    rows = await Registration.filter(event_id=event_id).values_list(
        "status", "party_size", "clientele_id"
    )
    by_status = {s.value: Tally() for s in RegistrationStatus}
    clienteles = {c.id: c for c in await Clientele.all()}
    by_clientele: dict[int, ClienteleTally] = {}
    active = Tally()
    active_values = {s.value for s in ACTIVE_STATUSES}
    for status, party_size, clientele_id in rows:
        tally = by_status.setdefault(str(status), Tally())
        tally.registrations += 1
        tally.heads += int(party_size)
        if str(status) not in active_values:
            continue
        active.registrations += 1
        active.heads += int(party_size)
        clientele = clienteles.get(int(clientele_id))
        line = by_clientele.get(int(clientele_id))
        if line is None:
            line = ClienteleTally(
                code=clientele.code if clientele else "",
                name=clientele.name(language) if clientele else "—",
            )
            by_clientele[int(clientele_id)] = line
        line.registrations += 1
        line.heads += int(party_size)
        if str(status) == RegistrationStatus.CONFIRMED.value:
            line.confirmed_heads += int(party_size)
    ordered = sorted(
        by_clientele.items(),
        key=lambda item: (clienteles[item[0]].position if item[0] in clienteles else 0, item[0]),
    )
    return Counts(
        by_status=by_status,
        by_clientele=[line for _id, line in ordered],
        active=active,
        capacity=event.capacity,
        seats_taken=event.seats_taken,
        seats_left=event.places_left,
    )


@dataclass
class AnswerLine:
    label: str
    value: str
    active: bool = True


async def get_registration(actor: Principal, registration_id: int) -> Registration:
    registration = await registration_for(actor, VIEW, registration_id)
    await registration.fetch_related("event", "person", "clientele", "territory", "organization")
    return registration


async def answer_lines(registration: Registration) -> list[AnswerLine]:
    """Every question of the event (deactivated ones too, when answered) with the answer."""
    questions = await Question.filter(event_id=registration.event_id).order_by("position", "id")
    answers = registration.answers or {}
    lines = []
    for question in questions:
        value = answers.get(str(question.id))
        if not question.active and value in (None, "", []):
            continue
        lines.append(AnswerLine(question.label, format_answer(question, value), question.active))
    return lines


async def history(registration: Registration) -> list[AuditEntry]:
    return list(
        await AuditEntry.filter(
            target_type="registrations.Registration", target_id=str(registration.id)
        ).order_by("at", "id")
    )


async def consents(registration: Registration) -> list[Consent]:
    """The person's consent ledger (newest first)."""
    return list(await Consent.filter(person_id=registration.person_id).order_by("-at", "-id"))


async def move_targets(actor: Principal, registration: Registration) -> list[Event]:
    """Other published events a registration may move to: same edition, or upcoming."""
    authorize(actor, VIEW)
    event = await Event.get(id=registration.event_id)
    now = datetime.now(UTC)
    condition = Q(starts_at__gte=now)
    if event.parent_id is not None:
        condition |= Q(parent_id=event.parent_id)
    return list(
        await Event.filter(status=EventStatus.PUBLISHED)
        .filter(condition)
        .exclude(id=event.id)
        .select_related("territory")
        .order_by("starts_at", "id")
        .limit(300)
    )


async def attendance(actor: Principal, event_id: int) -> list[Registration]:
    """Confirmed registrations, by last name, for the printable attendance sheet."""
    await event_for(actor, VIEW, event_id)
    return list(
        await Registration.filter(event_id=event_id, status=RegistrationStatus.CONFIRMED)
        .select_related("person", "clientele", "organization")
        .order_by("person__last_name", "person__first_name", "id")
    )


async def api_items(
    actor: Principal, event_id: int, filters: RegistrationFilters, *, page: int, per_page: int
) -> dict[str, Any]:
    """The JSON list of `GET /api/v1/events/{id}/registrations`."""
    event = await event_for(actor, MANAGE, event_id)
    result = await list_registrations(actor, event_id, filters, page=page, per_page=per_page)
    positions = await capacity.waitlist_positions(event_id)
    items = []
    for r in result.items:
        items.append(
            {
                "id": r.public_id,
                "status": r.status.value,
                "first_name": r.person.first_name,
                "last_name": r.person.last_name,
                "email": r.person.email,
                "clientele": r.clientele.code,
                "territory": r.territory.code if r.territory else None,
                "organization": r.organization.name if r.organization else None,
                "language": r.language,
                "party_size": r.party_size,
                "answers": r.answers or {},
                "waitlist_position": positions.get(r.id),
                "source": r.source.value,
                "ticket_code": r.ticket_code,
                "created_at": event.local_iso(r.created_at),
            }
        )
    return {"items": items, "total": result.total, "page": result.page, "per_page": per_page}
