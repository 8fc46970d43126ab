"""Who may read or manage an event's registrations in the back office.

Every back-office function takes the actor first and checks its right itself
(`registrations.manage` to act or export, `events.view` to read), scoped to the event.
"""

from __future__ import annotations

from core.auth import Principal, authorize
from core.errors import NotFound
from events.models import Event
from registrations.models import Registration

MANAGE = "registrations.manage"
VIEW = "events.view"


async def event_for(actor: Principal, permission: str, event_id: int) -> Event:
    authorize(actor, permission, event_id=event_id)
    event = await Event.get_or_none(id=event_id).select_related("territory", "parent")
    if event is None:
        raise NotFound()
    return event


async def get_event(actor: Principal, event_id: int, *, manage: bool = False) -> Event:
    """The event whose registrations the actor reads (or manages, with `manage`)."""
    return await event_for(actor, MANAGE if manage else VIEW, event_id)


async def registration_for(actor: Principal, permission: str, registration_id: int) -> Registration:
    registration = await Registration.get_or_none(id=registration_id)
    if registration is None:
        authorize(actor, permission)
        raise NotFound()
    authorize(actor, permission, event_id=registration.event_id)
    return registration
