"""Tags on people and organizations: free labels the audiences can select.

A tag is identified by its folded name (`tag_key`): "Comité JPS" and "comité  jps" are
one tag. Editing replaces the whole set of a person's (or organization's) tags.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import NotFound, ValidationFailed
from core.i18n import _
from people.models import Organization, OrganizationTag, Person, PersonTag, Tag

MAX_TAGS = 30
MAX_LENGTH = 60


def tag_key(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()[:MAX_LENGTH]


def parse_tags(raw: str | list[str] | None) -> list[str]:
    """Tag names from a comma-separated string (the forms) or a list; duplicates dropped."""
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    names: list[str] = []
    keys: set[str] = set()
    for item in items:
        name = " ".join(str(item).split())
        if not name:
            continue
        if len(name) > MAX_LENGTH:
            raise ValidationFailed(
                fields={"tags": _("Une étiquette compte au plus %(n)s caractères.", n=MAX_LENGTH)}
            )
        if tag_key(name) not in keys:
            keys.add(tag_key(name))
            names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationFailed(fields={"tags": _("Au plus %(n)s étiquettes.", n=MAX_TAGS)})
    return names


async def _tags_for(names: list[str]) -> list[Tag]:
    tags: list[Tag] = []
    for name in names:
        tag, _created = await Tag.get_or_create(key=tag_key(name), defaults={"name": name})
        tags.append(tag)
    return tags


async def person_tags(person_id: int) -> list[str]:
    links = await PersonTag.filter(person_id=person_id).select_related("tag")
    return sorted((link.tag.name for link in links), key=str.casefold)


async def organization_tags(organization_id: int) -> list[str]:
    links = await OrganizationTag.filter(organization_id=organization_id).select_related("tag")
    return sorted((link.tag.name for link in links), key=str.casefold)


async def all_tags() -> list[str]:
    return [str(name) for name in await Tag.all().order_by("name").values_list("name", flat=True)]


async def set_person_tags(actor: Principal, person_id: int, raw: str | list[str]) -> list[str]:
    authorize(actor, "people.edit")
    names = parse_tags(raw)
    async with in_transaction():
        person = await Person.get_or_none(id=person_id, erased_at__isnull=True)
        if person is None:
            raise NotFound()
        tags = await _tags_for(names)
        await PersonTag.filter(person_id=person_id).delete()
        await PersonTag.bulk_create([PersonTag(person_id=person_id, tag_id=t.id) for t in tags])
        await audit(actor, "person.tags", person, {"tags": names})
    return await person_tags(person_id)


async def set_organization_tags(
    actor: Principal, organization_id: int, raw: str | list[str]
) -> list[str]:
    authorize(actor, "people.edit")
    names = parse_tags(raw)
    async with in_transaction():
        organization = await Organization.get_or_none(id=organization_id)
        if organization is None:
            raise NotFound()
        tags = await _tags_for(names)
        await OrganizationTag.filter(organization_id=organization_id).delete()
        await OrganizationTag.bulk_create(
            [OrganizationTag(organization_id=organization_id, tag_id=t.id) for t in tags]
        )
        await audit(actor, "organization.tags", organization, {"tags": names})
    return await organization_tags(organization_id)
