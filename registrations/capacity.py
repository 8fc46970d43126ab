"""Capacity: the only module that knows how places are counted, taken and given back.

Capacity counts heads (party sizes) of confirmed registrations, kept in
`Event.seats_taken` and changed only by a conditional atomic UPDATE inside the
registering transaction (`seats_taken <= capacity - n`), which is correct on SQLite
(one writer) and PostgreSQL (row lock, condition re-checked) alike. Only a confirmed
registration holds places; a waitlisted one holds a rank, a pending one nothing.

The status a registration gets: approval first (public channels of an event that
requires it), then capacity (the party fits), then the waitlist, else the event is full.
Every operation that frees places (cancel, decline, a smaller party, a move to another
event) goes through `release`, which gives the heads back and promotes the waitlist, in
order, in the same transaction.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tortoise.expressions import F

from core import db
from core.audit import audit
from core.auth import Principal
from core.errors import Conflict
from core.i18n import _
from core.settings import Settings
from events.models import Event
from registrations.models import (
    STAFF_SOURCES,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)

# The actor of the changes nobody asked for by hand (promotions, self-service).
SYSTEM = Principal.system("inscriptions")


class EventFull(Conflict):
    code = "event_full"

    def default_message(self) -> str:
        return _("Cet événement est complet.")


# --------------------------------------------------------------------------- places


async def take_places(event_id: int, heads: int) -> bool:
    """Take `heads` places if they fit (atomic; call inside the transaction).

    One conditional UPDATE: no capacity, or enough room left — re-checked by the
    database under the row's write lock, so concurrent takers never oversell.
    """
    if heads <= 0:
        return True
    table = Event._meta.db_table
    updated = await db.execute(
        Event,
        f"UPDATE {table} SET seats_taken = seats_taken + ? "  # noqa: S608 - names from the model
        "WHERE id = ? AND (capacity IS NULL OR seats_taken <= capacity - ?)",
        [heads, event_id, heads],
    )
    return bool(updated)


async def release_places(event_id: int, heads: int) -> None:
    if heads > 0:
        await Event.filter(id=event_id).update(seats_taken=F("seats_taken") - heads)


async def release(
    settings: Settings, event_id: int, held: RegistrationStatus, heads: int
) -> list[Registration]:
    """Give back `heads` places of a registration that was `held` (only a confirmed one
    holds places) and promote the waitlist into them, in the caller's transaction.

    The one path of every operation that frees places; returns the promoted.
    """
    if held != RegistrationStatus.CONFIRMED or heads <= 0:
        return []
    await release_places(event_id, heads)
    return await promote_waitlist(event_id, settings)


def fits(event: Event, heads: int) -> bool:
    """The party fits in the places left as last read (the transaction re-checks)."""
    left = event.places_left
    return left is None or heads <= left


# --------------------------------------------------------------------------- status


def _needs_approval(event: Event, source: RegistrationSource) -> bool:
    return event.requires_approval and source not in STAFF_SOURCES


def _seated(event: Event, fits: bool, force_confirm: bool) -> RegistrationStatus:
    """Capacity (`fits`: the party has places), then the waitlist, else EventFull."""
    if fits or force_confirm:
        return RegistrationStatus.CONFIRMED
    if event.waitlist:
        return RegistrationStatus.WAITLISTED
    raise EventFull()


def status_for(
    event: Event, source: RegistrationSource, fits: bool, force_confirm: bool = False
) -> RegistrationStatus:
    """Approval, then capacity (`fits`: the party has places), then waitlist."""
    if _needs_approval(event, source):
        return RegistrationStatus.PENDING_APPROVAL
    return _seated(event, fits, force_confirm)


async def admit(event: Event, heads: int, force_confirm: bool = False) -> RegistrationStatus:
    """Confirmed with the places taken, else waitlisted, else EventFull (caller's
    transaction). `force_confirm` (walk-ins allowed over capacity) takes them anyway."""
    fits = await take_places(event.id, heads)
    if not fits and force_confirm:
        await Event.filter(id=event.id).update(seats_taken=F("seats_taken") + heads)
    return _seated(event, fits, force_confirm)


async def decide_status(
    event: Event, heads: int, source: RegistrationSource, force_confirm: bool = False
) -> RegistrationStatus:
    """`status_for` with the places taken (inside the registering transaction)."""
    if _needs_approval(event, source):  # no places taken before an organizer approves
        return RegistrationStatus.PENDING_APPROVAL
    return await admit(event, heads, force_confirm)


# --------------------------------------------------------------------------- waitlist


def new_rank() -> int:
    """A waitlisted registration's rank: the waitlist is served in arrival order."""
    return time.time_ns()


async def waitlist_position(registration: Registration) -> int | None:
    if registration.status != RegistrationStatus.WAITLISTED or registration.waitlist_rank is None:
        return None
    rank = registration.waitlist_rank
    rows = await db.fetch_values(
        Registration,
        f"SELECT COUNT(*) AS ahead FROM {Registration._meta.db_table} "  # noqa: S608
        "WHERE event_id = ? AND status = ? AND (waitlist_rank < ? OR "
        "(waitlist_rank = ? AND id < ?))",
        [
            registration.event_id,
            RegistrationStatus.WAITLISTED.value,
            rank,
            rank,
            registration.id,
        ],
    )
    return int(rows[0]["ahead"]) + 1


async def waitlist_positions(event_id: int) -> dict[int, int]:
    """Registration id -> waitlist position (the order of `waitlist_position`)."""
    ids = (
        await Registration.filter(event_id=event_id, status=RegistrationStatus.WAITLISTED)
        .order_by("waitlist_rank", "id")
        .values_list("id", flat=True)
    )
    return {int(rid): n for n, rid in enumerate(ids, start=1)}  # type: ignore[call-overload]


async def promote_waitlist(event_id: int, settings: Settings) -> list[Registration]:
    """Confirm waitlisted registrations in order while places allow (caller's transaction)."""
    # notices shows the waitlist position, so it imports this module: not the other way.
    from registrations.notices import notify

    promoted: list[Registration] = []
    while True:
        candidate = (
            await Registration.filter(event_id=event_id, status=RegistrationStatus.WAITLISTED)
            .order_by("waitlist_rank", "id")
            .first()
        )
        if candidate is None:
            break
        if not await take_places(event_id, candidate.party_size):
            break
        now = datetime.now(UTC)
        updated = await Registration.filter(
            id=candidate.id, status=RegistrationStatus.WAITLISTED
        ).update(status=RegistrationStatus.CONFIRMED, confirmed_at=now, waitlist_rank=None)
        if not updated:  # promoted by someone else meanwhile
            await release_places(event_id, candidate.party_size)
            continue
        candidate.status = RegistrationStatus.CONFIRMED
        await audit(
            SYSTEM, "registration.promoted", candidate, {"from": "waitlisted", "to": "confirmed"}
        )
        await notify(settings, candidate, "registration_promoted")
        promoted.append(candidate)
    return promoted
