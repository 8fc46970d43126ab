"""People: find, create, edit and upsert a person. The e-mail is the identity.

No HTTP here: every operation takes the calling `Principal` first and checks its right
itself (`authorize`), validates, writes in one transaction and records an audit entry.
The sibling modules hold the other rules of the package: `reference` (territories,
clienteles, plan items), `organizations`, `consents`, `privacy` (export and erasure) and
`imports` (People CSV); the identity keys and `Page` below are shared with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import db
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import _
from core.paging import page_number
from people.models import Clientele, Organization, Person, Territory
from people.schemas import PersonIn


def email_key(email: str | None) -> str:
    """The identity of an e-mail address: trimmed and lower-cased."""
    return (email or "").strip().lower()


def name_key(name: str | None) -> str:
    """An organization's identity: case-folded, inner spaces collapsed."""
    return " ".join((name or "").split()).casefold()


@dataclass
class Page:
    """One page of a search result (people, organizations, registrations)."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def people_query(
    *,
    q: str = "",
    territory: str | None = None,
    clientele: str | None = None,
    organization_id: int | None = None,
    include_erased: bool = False,
) -> Any:
    """The directory's filters as a query not yet run (the search and the CSV export)."""
    query = Person.all()
    if not include_erased:
        query = query.filter(erased_at__isnull=True)
    for word in q.split()[:8]:
        query = query.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email_key__icontains=word.lower())
            | Q(organization__name__icontains=word)
        )
    if territory:
        # A region code also finds the people of its MRCs.
        query = query.filter(Q(territory__code=territory) | Q(territory__parent__code=territory))
    if clientele:
        query = query.filter(clientele__code=clientele)
    if organization_id:
        query = query.filter(organization_id=organization_id)
    return query


async def search_people(
    actor: Principal,
    *,
    q: str = "",
    territory: str | None = None,
    clientele: str | None = None,
    organization_id: int | None = None,
    include_erased: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """People matching free text (names, e-mail, organization) and filters, one page."""
    authorize(actor, "people.view")
    per_page = max(1, min(int(per_page), 200))
    page = page_number(page)
    query = people_query(
        q=q,
        territory=territory,
        clientele=clientele,
        organization_id=organization_id,
        include_erased=include_erased,
    )
    total = await query.count()
    items = (
        await query.select_related("organization", "clientele", "territory")
        .order_by("last_name", "first_name", "id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(items), total, page, per_page)


async def get_person(actor: Principal, person_id: int) -> Person:
    authorize(actor, "people.view")
    person = await Person.get_or_none(id=person_id).select_related(
        "organization", "clientele", "territory"
    )
    if person is None:
        raise NotFound(_("Cette personne n'existe pas."))
    return person


def _email_taken() -> Conflict:
    message = _("Une personne utilise déjà cette adresse courriel.")
    return Conflict(message, code="duplicate_email", fields={"email": message})


async def _resolve_person_refs(data: PersonIn) -> dict[str, Any]:
    fields: dict[str, str] = {}
    refs: dict[str, Any] = {"organization": None, "clientele": None, "territory": None}
    if data.organization_id is not None:
        refs["organization"] = await Organization.get_or_none(id=data.organization_id)
        if refs["organization"] is None:
            fields["organization_id"] = _("Organisme inconnu.")
    if data.clientele:
        refs["clientele"] = await Clientele.get_or_none(code=data.clientele)
        if refs["clientele"] is None:
            fields["clientele"] = _("Clientèle inconnue : %(code)s.", code=data.clientele)
    if data.territory:
        refs["territory"] = await Territory.get_or_none(code=data.territory)
        if refs["territory"] is None:
            fields["territory"] = _("Territoire inconnu : %(code)s.", code=data.territory)
    if fields:
        raise ValidationFailed(fields=fields)
    return refs


async def create_person(actor: Principal, data: PersonIn) -> Person:
    authorize(actor, "people.edit")
    async with in_transaction():
        refs = await _resolve_person_refs(data)
        key = email_key(data.email)
        if await Person.exists(email_key=key):
            raise _email_taken()
        try:
            person = await Person.create(
                first_name=data.first_name,
                last_name=data.last_name,
                email=data.email,
                email_key=key,
                phone=data.phone,
                language=data.language,
                **refs,
            )
        except IntegrityError:
            raise _email_taken() from None
        await audit(actor, "person.created", person)
    return await get_person(actor, person.id)


async def editable_person(person_id: int) -> Person:
    """The person to change (inside the caller's transaction): 404 if unknown, 409 once
    anonymized — an erased person is never written again."""
    person = await Person.get_or_none(id=person_id)
    if person is None:
        raise NotFound(_("Cette personne n'existe pas."))
    if person.erased_at is not None:
        raise Conflict(_("Cette personne a été anonymisée : elle ne peut plus être modifiée."))
    return person


async def update_person(actor: Principal, person_id: int, data: PersonIn) -> Person:
    authorize(actor, "people.edit")
    async with in_transaction():
        person = await editable_person(person_id)
        refs = await _resolve_person_refs(data)
        key = email_key(data.email)
        if await Person.filter(email_key=key).exclude(id=person_id).exists():
            raise _email_taken()
        values: dict[str, Any] = {
            "first_name": data.first_name,
            "last_name": data.last_name,
            "email": data.email,
            "phone": data.phone,
            "language": data.language,
        }
        changed = [k for k, v in values.items() if getattr(person, k) != v]
        for name, obj in refs.items():
            if getattr(person, f"{name}_id") != (obj.id if obj else None):
                changed.append(name)
        person.update_from_dict(values | {"email_key": key})
        for name, obj in refs.items():
            setattr(person, name, obj)
        try:
            await person.save()
        except IntegrityError:
            raise _email_taken() from None
        if changed:
            await audit(actor, "person.updated", person, {"fields": sorted(changed)})
    return await get_person(actor, person_id)


async def upsert_person(
    actor: Principal,
    *,
    first_name: str,
    last_name: str,
    email: str,
    language: str | None = None,
    clientele: Clientele | None = None,
    territory: Territory | None = None,
    organization: Organization | None = None,
    phone: str = "",
    overwrite: bool = True,
) -> tuple[Person, bool]:
    """Find a person by e-mail (case-insensitive) or create one; fill in given values.

    For other packages (registrations, walk-ins): the e-mail is the identity. Call it
    inside the caller's transaction. `overwrite=False` (what anyone may submit, e.g. a
    public registration form) only fills what the person's record leaves empty: knowing
    someone's e-mail must not let a stranger rename them or change their clientele.
    """
    authorize(actor, "people.edit")
    key = email_key(email)
    person = await db.first_where(Person, "email_key", key)
    values: dict[str, Any] = {"first_name": first_name.strip(), "last_name": last_name.strip()}
    if language:
        values["language"] = language
    if phone:
        values["phone"] = phone
    if person is None:
        person = await Person.create(
            email=email.strip(),
            email_key=key,
            clientele=clientele,
            territory=territory,
            organization=organization,
            **values,
        )
        return person, True
    if not overwrite:
        values = {k: v for k, v in values.items() if v and not getattr(person, k)}
        clientele = clientele if person.clientele_id is None else None
        territory = territory if person.territory_id is None else None
        organization = organization if person.organization_id is None else None
        if not values and clientele is None and territory is None and organization is None:
            return person, False
    person.update_from_dict(values)
    if clientele is not None:
        person.clientele = clientele
    if territory is not None:
        person.territory = territory
    if organization is not None:
        person.organization = organization
    await person.save()
    return person, False
