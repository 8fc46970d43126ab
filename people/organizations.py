"""Organizations (organismes): search, create, edit. The name is the identity.

No HTTP here: every operation takes the calling `Principal` and checks its right itself.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound
from core.i18n import _
from core.paging import page_number
from people.models import Organization
from people.reference import territory_by_code
from people.schemas import OrganizationIn
from people.service import Page, name_key


async def search_organizations(
    actor: Principal,
    *,
    q: str = "",
    sector: str | None = None,
    territory: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    authorize(actor, "people.view")
    query = Organization.all()
    for word in q.split():
        query = query.filter(name__icontains=word)
    if sector:
        query = query.filter(sector=sector)
    if territory:
        query = query.filter(Q(territory__code=territory) | Q(territory__parent__code=territory))
    page = page_number(page)
    total = await query.count()
    items = (
        await query.select_related("territory")
        .order_by("name", "id")
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(items), total, page, per_page)


async def organization_choices() -> list[tuple[int, str]]:
    return [(o.id, o.name) for o in await Organization.all().order_by("name", "id")]


async def get_organization(actor: Principal, organization_id: int) -> Organization:
    authorize(actor, "people.view")
    organization = await Organization.get_or_none(id=organization_id).select_related("territory")
    if organization is None:
        raise NotFound(_("Cet organisme n'existe pas."))
    return organization


def _name_taken() -> Conflict:
    message = _("Un organisme porte déjà ce nom.")
    return Conflict(message, code="duplicate_name", fields={"name": message})


async def create_organization(actor: Principal, data: OrganizationIn) -> Organization:
    authorize(actor, "people.edit")
    async with in_transaction():
        territory = await territory_by_code(data.territory)
        key = name_key(data.name)
        if await Organization.exists(name_key=key):
            raise _name_taken()
        try:
            organization = await Organization.create(
                name=" ".join(data.name.split()),
                name_key=key,
                sector=data.sector,
                territory=territory,
                website=data.website,
            )
        except IntegrityError:
            raise _name_taken() from None
        await audit(actor, "organization.created", organization, {"name": organization.name})
    return organization


async def update_organization(
    actor: Principal, organization_id: int, data: OrganizationIn
) -> Organization:
    authorize(actor, "people.edit")
    async with in_transaction():
        organization = await Organization.get_or_none(id=organization_id)
        if organization is None:
            raise NotFound(_("Cet organisme n'existe pas."))
        territory = await territory_by_code(data.territory)
        key = name_key(data.name)
        if await Organization.filter(name_key=key).exclude(id=organization_id).exists():
            raise _name_taken()
        organization.name = " ".join(data.name.split())
        organization.name_key = key
        organization.sector = data.sector
        organization.territory = territory
        organization.website = data.website
        try:
            await organization.save()
        except IntegrityError:
            raise _name_taken() from None
        await audit(actor, "organization.updated", organization, {"name": organization.name})
    return organization
