"""Audiences: who a campaign reaches, and who it must not.

An audience is a saved filter over the directory (`AudienceFilters`) or a static list
(`AudienceMember` rows, e.g. from a CSV). It is always turned into ONE query on
`people_person`: every criterion is an `id IN (SELECT ...)` subquery, so no person is
listed twice, nothing is loaded person by person, and the SQL is the same on SQLite and
PostgreSQL.

Exclusions. Whoever matches the filter but cannot lawfully or usefully be written to is
excluded, with one reason each, checked in this order:

- `erased`: the person's data was erased (Law 25);
- `no_email`: no address on file;
- `hard_bounced`: a message to them was refused for good (5xx, outbox status failed);
- `unsubscribed`: their latest consent-ledger entry for the campaign's purpose is a
  withdrawal (unsubscribe link, preferences page, organizer);
- `no_consent`: they never granted that purpose (CASL: express consent first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.functions import Max
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from campaigns.models import Audience, AudienceKind, AudienceMember
from campaigns.schemas import AudienceFilters, AudienceIn
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import NotFound, ValidationFailed
from core.i18n import _
from core.models import MessageStatus, OutboundMessage
from events.models import Event
from people.models import (
    Clientele,
    Consent,
    ConsentPurpose,
    Organization,
    OrganizationTag,
    Person,
    PersonTag,
    Tag,
    Territory,
)
from people.tags import tag_key
from registrations.models import CheckIn, Registration, RegistrationStatus

EXCLUSION_REASONS = ("erased", "no_email", "hard_bounced", "unsubscribed", "no_consent")
DEFAULT_PURPOSE = ConsentPurpose.EVENT_COMMUNICATIONS.value
PREVIEW_SIZE = 20

REGISTERED = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITLISTED,
    RegistrationStatus.PENDING_APPROVAL,
)


def _ids(query: QuerySet[Any], column: str) -> Subquery:
    return Subquery(query.values(column))


def _event_ids(ids: list[int]) -> Subquery:
    """The events named, and the children of those that are editions."""
    return _ids(Event.filter(Q(id__in=ids) | Q(parent_id__in=ids)), "id")


def _registered(ids: list[int], statuses: tuple[RegistrationStatus, ...] = REGISTERED) -> Q:
    regs = Registration.filter(event_id__in=_event_ids(ids), status__in=statuses)
    return Q(id__in=_ids(regs, "person_id"))


def _attended(ids: list[int]) -> Q:
    checkins = CheckIn.filter(event_id__in=_event_ids(ids), undone_at__isnull=True)
    regs = Registration.filter(id__in=_ids(checkins, "registration_id"))
    return Q(id__in=_ids(regs, "person_id"))


def filter_conditions(filters: AudienceFilters) -> list[Q]:
    """Each criterion of the filter as one condition on Person (all must hold)."""
    conditions: list[Q] = []
    if filters.clienteles:
        clienteles = Clientele.filter(code__in=filters.clienteles)
        conditions.append(Q(clientele_id__in=_ids(clienteles, "id")))
    if filters.regions:
        regions = Territory.filter(code__in=filters.regions)
        mrcs = Territory.filter(parent_id__in=_ids(regions, "id"))
        conditions.append(
            Q(territory_id__in=_ids(regions, "id")) | Q(territory_id__in=_ids(mrcs, "id"))
        )
    if filters.territories:
        territories = Territory.filter(code__in=filters.territories)
        conditions.append(Q(territory_id__in=_ids(territories, "id")))
    if filters.sectors:
        organizations = Organization.filter(sector__in=list(filters.sectors))
        conditions.append(Q(organization_id__in=_ids(organizations, "id")))
    if filters.organizations:
        conditions.append(Q(organization_id__in=list(filters.organizations)))
    if filters.languages:
        conditions.append(Q(language__in=list(filters.languages)))
    if filters.tags:
        tags = Tag.filter(key__in=[tag_key(t) for t in filters.tags])
        tagged_people = PersonTag.filter(tag_id__in=_ids(tags, "id"))
        tagged_organizations = OrganizationTag.filter(tag_id__in=_ids(tags, "id"))
        conditions.append(
            Q(id__in=_ids(tagged_people, "person_id"))
            | Q(organization_id__in=_ids(tagged_organizations, "organization_id"))
        )
    if filters.registered_event:
        conditions.append(_registered(filters.registered_event))
    if filters.not_registered_event:
        conditions.append(~_registered(filters.not_registered_event))
    if filters.attended_event:
        conditions.append(_attended(filters.attended_event))
    if filters.not_attended_event:
        # Confirmed for the event but never checked in.
        ids = filters.not_attended_event
        conditions.append(_registered(ids, (RegistrationStatus.CONFIRMED,)) & ~_attended(ids))
    return conditions


def base_query(audience: Audience) -> QuerySet[Person]:
    """Everyone the audience names, before exclusions (erased people included)."""
    if audience.kind == AudienceKind.STATIC:
        members = AudienceMember.filter(audience_id=audience.id)
        return Person.filter(id__in=_ids(members, "person_id"))
    query = Person.all()
    for condition in filter_conditions(AudienceFilters.model_validate(audience.filters or {})):
        query = query.filter(condition)
    return query


def _latest_consents(purpose: str) -> QuerySet[Consent]:
    """Each person's latest ledger entry for `purpose` (ids grow with time)."""
    latest = (
        Consent.filter(purpose=purpose)
        .annotate(last_id=Max("id"))
        .group_by("person_id")
        .values("last_id")
    )
    return Consent.filter(id__in=Subquery(latest))


def exclusion_conditions(purpose: str) -> list[tuple[str, Q]]:
    """(reason, condition on Person) in order: a person takes the first that matches."""
    bounced = OutboundMessage.filter(status=MessageStatus.FAILED, person_id__isnull=False)
    withdrawn = _latest_consents(purpose).filter(granted=False)
    granted = _latest_consents(purpose).filter(granted=True)
    return [
        ("erased", Q(erased_at__isnull=False)),
        ("no_email", Q(email_key__isnull=True) | Q(email_key="")),
        ("hard_bounced", Q(id__in=_ids(bounced, "person_id"))),
        ("unsubscribed", Q(id__in=_ids(withdrawn, "person_id"))),
        ("no_consent", ~Q(id__in=_ids(granted, "person_id"))),
    ]


def recipients_query(audience: Audience, purpose: str) -> QuerySet[Person]:
    """The people a campaign of `purpose` to this audience may write to: one query."""
    query = base_query(audience)
    for _reason, condition in exclusion_conditions(purpose):
        query = query.filter(~condition)
    return query


def audience_purpose(audience: Audience) -> str:
    consent = (audience.filters or {}).get("consent")
    return str(consent) if consent else DEFAULT_PURPOSE


@dataclass
class AudienceSummary:
    count: int
    excluded: dict[str, int]
    purpose: str

    @property
    def total_excluded(self) -> int:
        return sum(self.excluded.values())


async def summarize(audience: Audience, purpose: str | None = None) -> AudienceSummary:
    """How many the audience reaches, and how many it excludes, by reason (SQL counts)."""
    purpose = purpose or audience_purpose(audience)
    base = base_query(audience)
    excluded: dict[str, int] = {}
    earlier: list[Q] = []
    for reason, condition in exclusion_conditions(purpose):
        query = base.filter(condition)
        for previous in earlier:
            query = query.filter(~previous)
        excluded[reason] = await query.count()
        earlier.append(condition)
    count = await recipients_query(audience, purpose).count()
    return AudienceSummary(count=count, excluded=excluded, purpose=purpose)


async def preview_people(
    audience: Audience, purpose: str | None = None, limit: int = PREVIEW_SIZE
) -> list[Person]:
    """The first recipients (by name), with their organization, for the builder."""
    purpose = purpose or audience_purpose(audience)
    return list(
        await recipients_query(audience, purpose)
        .select_related("organization", "clientele", "territory")
        .order_by("last_name", "first_name", "id")
        .limit(max(1, min(limit, 200)))
    )


# --------------------------------------------------------------------------- operations


async def _check_references(filters: AudienceFilters) -> None:
    """Unknown codes or ids are a clear field error, not a silently empty audience."""
    errors: dict[str, str] = {}

    async def missing(field: str, query: QuerySet[Any], column: str, wanted: list[Any]) -> None:
        if not wanted:
            return
        found = {str(v) for v in await query.values_list(column, flat=True)}
        unknown = [str(w) for w in wanted if str(w) not in found]
        if unknown:
            errors[field] = _("Inconnu : %(values)s", values=", ".join(unknown[:10]))

    await missing(
        "clienteles", Clientele.filter(code__in=filters.clienteles), "code", filters.clienteles
    )
    await missing(
        "regions",
        Territory.filter(code__in=filters.regions, kind="region"),
        "code",
        filters.regions,
    )
    await missing(
        "territories", Territory.filter(code__in=filters.territories), "code", filters.territories
    )
    await missing(
        "organizations",
        Organization.filter(id__in=filters.organizations),
        "id",
        filters.organizations,
    )
    for field in (
        "registered_event",
        "attended_event",
        "not_attended_event",
        "not_registered_event",
    ):
        wanted = getattr(filters, field)
        await missing(field, Event.filter(id__in=wanted), "id", wanted)
    if errors:
        raise ValidationFailed(fields={f"filters.{k}": v for k, v in errors.items()})


async def create_audience(actor: Principal, data: AudienceIn) -> Audience:
    authorize(actor, "campaigns.manage")
    await _check_references(data.filters)
    async with in_transaction():
        audience = await Audience.create(
            name=data.name,
            kind=AudienceKind.FILTER,
            filters=data.filters.model_dump(mode="json", exclude_defaults=True),
            created_by_id=actor.user_id,
        )
        await audit(actor, "audience.created", audience, {"name": audience.name})
    return audience


async def update_audience(actor: Principal, audience_id: int, data: AudienceIn) -> Audience:
    authorize(actor, "campaigns.manage")
    await _check_references(data.filters)
    async with in_transaction():
        audience = await get_audience(actor, audience_id)
        audience.name = data.name
        if audience.kind == AudienceKind.FILTER:
            audience.filters = data.filters.model_dump(mode="json", exclude_defaults=True)
        await audience.save()
        await audit(actor, "audience.updated", audience, {"name": audience.name})
    return audience


async def get_audience(actor: Principal, audience_id: int) -> Audience:
    authorize(actor, "campaigns.manage")
    if not 0 < audience_id < 2**31:  # beyond the column's range: no such audience
        raise NotFound()
    audience = await Audience.get_or_none(id=audience_id)
    if audience is None:
        raise NotFound()
    return audience


async def list_audiences(actor: Principal) -> list[Audience]:
    authorize(actor, "campaigns.manage")
    return list(await Audience.all().order_by("-created_at", "-id").limit(500))


async def audience_choices() -> list[tuple[int, str]]:
    return [(a.id, a.name) for a in await Audience.all().order_by("name").only("id", "name")]


async def create_static_audience(
    actor: Principal, name: str, data: bytes
) -> tuple[Audience, list[dict[str, Any]]]:
    """A static list from a people CSV (the directory's import format): the rows are
    imported (created or updated by e-mail), then the list holds exactly those people.
    Returns the audience and the rejected lines."""
    from people.imports import import_people_csv, read_csv_lines
    from people.service import email_key

    authorize(actor, "campaigns.manage")
    name = " ".join((name or "").split())[:200]
    if not name:
        raise ValidationFailed(fields={"name": _("Le nom est obligatoire.")})
    report = await import_people_csv(actor, data)
    rejected = {int(r["line"]) for r in report.rejected if str(r.get("line", "")).isdigit()}
    try:
        _header, rows = read_csv_lines(data)
    except ValueError:
        rows = []
    keys = sorted({email_key(row.get("email")) for line, row in rows if line not in rejected})
    async with in_transaction():
        audience = await Audience.create(
            name=name, kind=AudienceKind.STATIC, filters={}, created_by_id=actor.user_id
        )
        person_ids: list[int] = []
        for start in range(0, len(keys), 500):
            chunk = [k for k in keys[start : start + 500] if k]
            found: list[Any] = await Person.filter(email_key__in=chunk).values_list("id", flat=True)
            person_ids += [int(pid) for pid in found]
        await AudienceMember.bulk_create(
            [AudienceMember(audience_id=audience.id, person_id=pid) for pid in person_ids],
            batch_size=500,
            ignore_conflicts=True,
        )
        await audit(actor, "audience.created", audience, {"name": name, "static": len(person_ids)})
    return audience, list(report.rejected)


async def audience_out(audience: Audience, *, with_preview: bool = False) -> dict[str, Any]:
    """The audience as the API answers it: {id, count, excluded: {reason: n}, ...}."""
    summary = await summarize(audience)
    body: dict[str, Any] = {
        "id": audience.id,
        "name": audience.name,
        "kind": str(audience.kind),
        "filters": dict(audience.filters or {}),
        "purpose": summary.purpose,
        "count": summary.count,
        "excluded": summary.excluded,
    }
    if with_preview:
        people = await preview_people(audience, summary.purpose)
        body["preview"] = [
            {
                "id": p.id,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "email": p.email or "",
                "language": p.language,
                "organization": p.organization.name if p.organization else None,
            }
            for p in people
        ]
    return body


async def unsaved_audience(actor: Principal, data: AudienceIn) -> Audience:
    """An audience not stored (the builder's live count and preview)."""
    authorize(actor, "campaigns.manage")
    await _check_references(data.filters)
    return Audience(
        id=0,
        name=data.name,
        kind=AudienceKind.FILTER,
        filters=data.filters.model_dump(mode="json", exclude_defaults=True),
    )
