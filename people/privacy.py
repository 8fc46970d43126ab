"""Personal data (Québec Law 25): a person as JSON, the access export, the erasure.

The export gathers what every package holds on one person (packages add theirs through
the `person_exporting` signal); the erasure anonymizes it all (`person_erasing`) and
keeps the rows, so aggregate counts stay right. Both check their right themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import NotFound
from core.i18n import _, iso_or_none
from core.mail.outbox import forget_person_messages, messages_for_person
from people.consents import consent_history
from people.models import Consent, Person
from people.service import get_person
from people.signals import PersonErasing, PersonExporting, person_erasing, person_exporting

ANONYMIZED_FIRST_NAME = "Personne"
ANONYMIZED_LAST_NAME = "anonymisée"


def person_dict(person: Person, language: str = "fr") -> dict[str, Any]:
    """A person with organization/clientele/territory already fetched, as JSON data."""
    organization = person.organization
    clientele = person.clientele
    territory = person.territory
    return {
        "id": person.id,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": person.phone,
        "language": person.language,
        "organization": (
            {
                "id": organization.id,
                "name": organization.name,
                "sector": str(organization.sector),
                "territory": None,
            }
            if organization is not None
            else None
        ),
        "clientele": (
            {"code": clientele.code, "name": clientele.name(language)}
            if clientele is not None
            else None
        ),
        "territory": (
            {"code": territory.code, "name": territory.name} if territory is not None else None
        ),
        "created_at": iso_or_none(person.created_at),
        "updated_at": iso_or_none(person.updated_at),
        "erased": person.erased_at is not None,
    }


def consent_dict(consent: Consent) -> dict[str, Any]:
    return {
        "purpose": str(consent.purpose),
        "granted": consent.granted,
        "source": consent.source,
        "wording": consent.wording,
        "at": iso_or_none(consent.at),
    }


async def export_person(actor: Principal, person_id: int) -> dict[str, Any]:
    """Everything we hold about one person (Law 25 access request), as a JSON document."""
    authorize(actor, "people.access")
    person = await get_person(actor, person_id)
    data: dict[str, Any] = {
        "exported_at": iso_or_none(datetime.now(UTC)),
        "person": person_dict(person),
        "organization": None,
        "consents": [consent_dict(c) for c in await consent_history(person.id)],
    }
    if person.organization is not None:
        org = person.organization
        await org.fetch_related("territory")
        data["organization"] = {
            "id": org.id,
            "name": org.name,
            "sector": str(org.sector),
            "website": org.website,
            "territory": org.territory.code if org.territory else None,
        }
    for contribution in await person_exporting.send(PersonExporting(person)):
        data.update(contribution)
    data["messages"] = await messages_for_person(person.id)
    await audit(actor, "person.exported", person)
    return data


async def erase_person(actor: Principal, person_id: int) -> Person:
    """Anonymize a person on request: personal data gone, the row (and counts) kept.

    Erasing an erased person changes nothing. Returns the person with its clientele and
    territory fetched (they stay: the counts by clientele and territory need them).
    """
    authorize(actor, "people.erase")
    async with in_transaction():
        found = await anonymize_person(person_id, actor)
        if found is None:
            raise NotFound(_("Cette personne n'existe pas."))
    return found.person


@dataclass(frozen=True)
class Erasure:
    person: Person
    # What each package anonymized ({"registrations_anonymized": n, ...}); None when the
    # person was already erased (nothing done).
    counts: dict[str, int] | None


async def anonymize_person(
    person_id: int, actor: Principal | None, details: dict[str, Any] | None = None
) -> Erasure | None:
    """The one erasure rule (a request, or the retention period over): call it inside a
    transaction. Every package anonymizes what it holds (`person_erasing`), the stored
    messages are emptied, the consent ledger deleted, the person's name, e-mail, phone and
    organization removed; the rows stay so that every count stays.

    Returns the person and what was anonymized (None when already erased), or None when
    there is no such person. The person row is locked first (PostgreSQL), so two
    concurrent erasures do it once.
    """
    locked = await Person.filter(id=person_id).select_for_update().first()
    if locked is None:
        return None
    person = await Person.get(id=person_id).select_related("organization", "clientele", "territory")
    if person.erased_at is not None:
        return Erasure(person, None)
    erased: dict[str, int] = {}
    for counts in await person_erasing.send(PersonErasing(person)):
        erased.update(counts)
    erased["messages_anonymized"] = await forget_person_messages(person.id)
    consents = await Consent.filter(person_id=person.id).delete()
    person.first_name = ANONYMIZED_FIRST_NAME
    person.last_name = ANONYMIZED_LAST_NAME
    person.email = None
    person.email_key = None
    person.phone = ""
    person.organization = None
    person.erased_at = datetime.now(UTC)
    await person.save()
    erased["consents_deleted"] = consents
    await audit(actor, "person.erased", person, {**erased, **(details or {})})
    return Erasure(person, erased)
