"""The limits of the public registration channels: one anonymous request must not take a
whole event.

The public channels are the public form and the JSON API called without a staff right
on the event (`is_public`); the organizers' channels (back office, walk-ins, imports, an
API token or session with the registrations right on the event) are not limited.

- A party larger than the event's `max_public_party_size` is refused
  (`GroupRequestRequired`, 422) unless it is sent as a "demande de groupe"
  (`group_request`), which goes to approval and holds no places.
- The seats one client address requests per event per hour are counted
  (`PUBLIC_SEATS_PER_ADDRESS_HOUR`) through `core.ratelimit` (in memory, or Redis when
  set): over it, 429 with Retry-After. A party growing through its manage link counts
  its extra heads the same way.
- With the event's "confirmer par courriel", the registration holds its places until the
  link mailed to it is followed (`registrations.holds`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.auth import Principal
from core.errors import ValidationFailed
from core.i18n import _, ngettext
from core.ratelimit import RateLimiter
from events.models import Event
from registrations.capacity import check_party
from registrations.models import RegistrationSource

PUBLIC_SOURCES = frozenset({RegistrationSource.FORM, RegistrationSource.API})
SEATS_KEY = "registration-seats"


def is_public(event_id: int, actor: Principal | None, source: RegistrationSource) -> bool:
    """A public channel: the form or the API, without the registrations right on the event."""
    if source not in PUBLIC_SOURCES:
        return False
    return not (actor is not None and actor.can("registrations.manage", event_id=event_id))


class GroupRequestRequired(ValidationFailed):
    """A party over the event's public maximum: a "demande de groupe" (to approve) is needed."""

    code = "group_request_required"

    def __init__(self, heads: int, most: int, *, growing: bool = False) -> None:
        limit = ngettext(
            "Une inscription en ligne compte au plus %(num)s personne.",
            "Une inscription en ligne compte au plus %(num)s personnes.",
            most,
        )
        if growing:
            advice = _(
                "Pour un groupe de %(heads)s personnes, écrivez à l'équipe organisatrice.",
                heads=heads,
            )
        else:
            advice = _(
                "Pour un groupe de %(heads)s personnes, envoyez une demande de groupe : "
                "l'équipe organisatrice l'examinera et vous répondra par courriel.",
                heads=heads,
            )
        message = f"{limit} {advice}"
        super().__init__(message, fields={"party_size": message}, extra={"max_party_size": most})


@dataclass(frozen=True)
class SeatLimit:
    """Where a public request comes from, to count its seats per address and event."""

    limiter: RateLimiter
    address: str
    per_hour: int


def too_many_seats(seconds: int) -> str:
    minutes = max(1, (seconds + 59) // 60)
    return ngettext(
        "Trop de places ont été demandées depuis votre adresse pour cet événement. "
        "Réessayez dans %(num)s minute ou écrivez à l'équipe organisatrice.",
        "Trop de places ont été demandées depuis votre adresse pour cet événement. "
        "Réessayez dans %(num)s minutes ou écrivez à l'équipe organisatrice.",
        minutes,
    )


async def count_seats(seat_limit: SeatLimit | None, event_id: int, heads: int) -> None:
    """Count `heads` seats for the address on this event (atomic); RateLimited (429) when
    they would go over the hourly allowance. A party larger than the whole allowance
    counts as the whole of it (the event's own maximum bounds it)."""
    if seat_limit is None or seat_limit.per_hour <= 0 or heads <= 0:
        return
    await seat_limit.limiter.hit(
        f"{seat_limit.per_hour}/hour",
        SEATS_KEY,
        str(event_id),
        seat_limit.address,
        cost=min(heads, seat_limit.per_hour),
        message=too_many_seats,
    )


@dataclass(frozen=True)
class Channel:
    """What the public limits decided for one registration."""

    public: bool = False
    group_request: bool = False  # over the public maximum: to approve, no places held
    email_hold: bool = False  # hold the places until the e-mailed link is followed


STAFF = Channel()


async def admit_channel(
    event: Event,
    heads: int,
    group_request: bool,
    actor: Principal | None,
    source: RegistrationSource,
    seat_limit: SeatLimit | None,
) -> Channel:
    """Apply the public channels' limits to a new registration of `heads` (validated
    input, before its transaction)."""
    if not is_public(event.id, actor, source):
        return STAFF
    group = heads > event.max_public_party_size
    if group and not group_request:
        raise GroupRequestRequired(heads, event.max_public_party_size)
    if not group:  # a group request takes no places until an organizer approves it
        await count_seats(seat_limit, event.id, heads)
    return Channel(
        public=True, group_request=group, email_hold=event.confirm_by_email and not group
    )


async def check_growth(
    event_id: int, before: int, after: int, seat_limit: SeatLimit | None
) -> None:
    """A registrant's own change of party size (manage link, a public channel): it may not
    grow beyond the event's public maximum, and the extra heads count per address."""
    if after <= before:
        return
    event = await Event.get(id=event_id)
    check_party(event, after)  # larger than the whole capacity: that error first
    if after > event.max_public_party_size:
        raise GroupRequestRequired(after, event.max_public_party_size, growing=True)
    await count_seats(seat_limit, event_id, after - before)
