"""The consent ledger: one append-only entry per grant or withdrawal, per purpose.

No HTTP here: recording takes the calling `Principal` and checks its right itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from people.models import Consent, ConsentPurpose
from people.schemas import ConsentIn
from people.service import editable_person


async def record_consent(actor: Principal, person_id: int, data: ConsentIn) -> Consent:
    """Append one grant or withdrawal to the ledger (never updated in place)."""
    authorize(actor, "people.edit")
    async with in_transaction():
        person = await editable_person(person_id)
        consent = await Consent.create(
            person=person,
            purpose=data.purpose,
            granted=data.granted,
            source=data.source,
            wording=data.wording,
        )
        await audit(
            actor,
            "consent.granted" if data.granted else "consent.withdrawn",
            person,
            {"purpose": data.purpose.value, "source": data.source},
        )
    return consent


async def consent_history(person_id: int) -> list[Consent]:
    return list(await Consent.filter(person_id=person_id).order_by("at", "id"))


def current_consents(history: Iterable[Consent]) -> dict[str, Consent | None]:
    """Per purpose, the latest ledger entry (or None when never asked)."""
    state: dict[str, Consent | None] = {p.value: None for p in ConsentPurpose}
    for entry in sorted(history, key=lambda c: (c.at, c.id)):
        state[str(entry.purpose)] = entry
    return state


async def has_consent(person_id: int, purpose: ConsentPurpose | str) -> bool:
    latest = (
        await Consent.filter(person_id=person_id, purpose=purpose).order_by("-at", "-id").first()
    )
    return bool(latest and latest.granted)
