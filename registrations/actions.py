"""The back office's actions on registrations: approve, decline or cancel (one or in
bulk), change a party size, move to another event, add a registration by hand.

The rules about places, the waitlist and approval stay in `registrations.service` and
`registrations.capacity`; the actions here only check the right, the event scope and the
input, then call them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.auth import Principal, authorize
from core.errors import Conflict, ValidationFailed
from core.i18n import _
from core.settings import Settings
from events.models import Event
from registrations import service
from registrations.access import MANAGE, event_for, registration_for
from registrations.listing import move_targets
from registrations.models import Registration, RegistrationSource
from registrations.schemas import MAX_PARTY_SIZE, RegistrationIn


async def _ids_of_event(event_id: int, ids: Iterable[int]) -> list[int]:
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    found = await Registration.filter(event_id=event_id, id__in=wanted).values_list("id", flat=True)
    return sorted(int(i) for i in found)  # type: ignore[call-overload]


@dataclass
class BulkResult:
    done: int = 0
    waitlisted: int = 0
    full: int = 0
    skipped: int = 0


async def bulk_action(
    actor: Principal, settings: Settings, event_id: int, action: str, ids: Iterable[int]
) -> BulkResult:
    """Approve, decline or cancel the chosen registrations of one event."""
    await event_for(actor, MANAGE, event_id)
    chosen = await _ids_of_event(event_id, ids)
    result = BulkResult()
    if action == "approve":
        approved = await service.approve(settings, actor, chosen)
        result.done = approved["confirmed"]
        result.waitlisted = approved["waitlisted"]
        result.full = approved["full"]
        result.skipped = approved["skipped"]
    elif action == "decline":
        result.done = await service.decline(settings, actor, chosen)
        result.skipped = len(chosen) - result.done
    elif action == "cancel":
        for registration_id in chosen:
            try:
                await service.cancel(settings, registration_id, actor=actor)
            except Conflict:
                result.skipped += 1
            else:
                result.done += 1
    else:
        raise ValidationFailed(fields={"action": _("Action inconnue.")})
    return result


async def approve_one(actor: Principal, settings: Settings, registration_id: int) -> dict[str, int]:
    await registration_for(actor, MANAGE, registration_id)
    return await service.approve(settings, actor, [registration_id])


async def decline_one(actor: Principal, settings: Settings, registration_id: int) -> int:
    await registration_for(actor, MANAGE, registration_id)
    return await service.decline(settings, actor, [registration_id])


async def cancel_one(actor: Principal, settings: Settings, registration_id: int) -> Registration:
    await registration_for(actor, MANAGE, registration_id)
    return await service.cancel(settings, registration_id, actor=actor)


def parse_party_size(raw: Any) -> int:
    try:
        size = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(fields={"party_size": _("Un nombre entier est attendu.")}) from None
    if not 1 <= size <= MAX_PARTY_SIZE:
        raise ValidationFailed(
            fields={
                "party_size": _(
                    "La taille du groupe doit être entre 1 et %(max)s.", max=MAX_PARTY_SIZE
                )
            }
        )
    return size


async def change_party_size(
    actor: Principal, settings: Settings, registration_id: int, raw: Any
) -> Registration:
    await registration_for(actor, MANAGE, registration_id)
    size = parse_party_size(raw)
    return await service.change_party_size(settings, registration_id, size, actor=actor)


async def move_registration(
    actor: Principal, settings: Settings, registration_id: int, raw_target: Any
) -> Registration:
    registration = await registration_for(actor, MANAGE, registration_id)
    try:
        target_id = int(str(raw_target).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(
            fields={"target_event_id": _("Choisissez l'événement de destination.")}
        ) from None
    allowed = {e.id for e in await move_targets(actor, registration)}
    if target_id not in allowed:
        raise ValidationFailed(
            fields={"target_event_id": _("Choisissez un des événements proposés.")}
        )
    authorize(actor, MANAGE, event_id=target_id)
    return await service.move(settings, actor, registration_id, target_id)


# --------------------------------------------------------------------------- add by hand


async def event_for_new(actor: Principal, event_id: int) -> Event:
    """The event a registration is added to by hand, with its targeted clienteles."""
    event = await event_for(actor, MANAGE, event_id)
    await event.fetch_related("clienteles")
    return event


async def add_registration(
    actor: Principal, settings: Settings, event_id: int, data: dict[str, Any]
) -> service.RegistrationResult:
    """ "Ajouter une inscription": the single `register` entry point, source back office
    (no approval step, and the registration window does not apply). `data`: the form's
    fields, answers keyed by question id."""
    await event_for(actor, MANAGE, event_id)
    from core.http import validate

    return await service.register(
        event_id,
        validate(RegistrationIn, data),
        settings=settings,
        source=RegistrationSource.BACKOFFICE,
        actor=actor,
    )
