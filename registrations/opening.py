"""Whether an event takes a registration now, and from whom: its status (staff may
register to a draft), its visibility (a private event only through invitations and the
organizers' channels) and its registration window (which the organizers' channels skip).
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.auth import Principal
from core.errors import Conflict, NotFound
from core.i18n import _
from events import service as events_service
from events.models import Event, EventStatus, Visibility
from registrations.models import STAFF_SOURCES, RegistrationSource


class RegistrationClosed(Conflict):
    code = "registration_closed"

    def default_message(self) -> str:
        return _("Les inscriptions à cet événement sont fermées.")


def check_open(event: Event | None, actor: Principal | None, source: RegistrationSource) -> Event:
    """The event if this caller may register to it now, else the matching error."""
    if event is None:
        raise NotFound()
    staff = actor is not None and actor.can("registrations.manage", event_id=event.id)
    if event.status not in (EventStatus.PUBLISHED,) and not (
        staff and event.status == EventStatus.DRAFT
    ):
        if event.status in (EventStatus.CANCELLED, EventStatus.COMPLETED):
            raise RegistrationClosed()
        raise NotFound()
    if (
        event.visibility == Visibility.PRIVATE
        and source not in STAFF_SOURCES | {RegistrationSource.INVITATION}
        and not staff
    ):
        raise NotFound()
    if source in STAFF_SOURCES and staff:
        return event
    now = datetime.now(UTC)
    if event.registration_is_open(now):
        return event
    if not event.registration_enabled:
        raise RegistrationClosed(_("Cet événement ne prend pas d'inscriptions en ligne."))
    if event.registration_opens_at and now < event.registration_opens_at:
        raise RegistrationClosed(_("Les inscriptions ne sont pas encore ouvertes."))
    raise RegistrationClosed()


async def form_event(event_id: int, actor: Principal | None) -> tuple[Event, str | None]:
    """The event of the public form (with its clienteles) and, when registering is not
    possible now, the reason."""
    try:
        event = check_open(await Event.get_or_none(id=event_id), actor, RegistrationSource.FORM)
        reason = None
    except RegistrationClosed as exc:
        event = await events_service.get_event(actor, event_id)
        reason = exc.message
    await event.fetch_related("clienteles")
    return event, reason
