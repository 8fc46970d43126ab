"""Capacity: the only module that knows how places are counted, taken and given back.

Capacity counts heads (party sizes) of confirmed registrations, kept in
`Event.seats_taken` and changed only by a conditional atomic UPDATE inside the
registering transaction (`seats_taken <= capacity - n`), which is correct on SQLite
(one writer) and PostgreSQL (row lock, condition re-checked) alike. Only a confirmed
registration (or one held until its e-mail is confirmed, `pending_email`) holds places;
a waitlisted one holds a rank, one pending approval nothing.

The status a registration gets: approval first (public channels of an event that
requires it), then capacity (the party fits and overtakes nobody), then the waitlist,
else the event is full. A party larger than the whole capacity is refused at once
(`PartyTooLarge`): it could never be seated.

Fairness (one rule, strict first come, first served over the parties that fit): the
waitlist is served in arrival order, and each waiting party that fits in the places
left is confirmed; one too large for them keeps its rank without holding back a smaller
one behind it. Every operation that frees places or shrinks a waiting party (cancel,
decline, a smaller party, a move to another event, a capacity raised) goes through
`release` / `promote_waitlist`, in the same transaction. A newcomer is confirmed only if
no waiting party fits in the places left (`_overtakes`: one EXISTS on the (event_id,
status) index, run after the newcomer's places are taken, so under the event row's write
lock it sees every committed promotion); otherwise it joins the waitlist behind them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tortoise.expressions import F

from core import db
from core.audit import audit
from core.auth import Principal
from core.errors import Conflict, ValidationFailed
from core.i18n import _, ngettext
from core.settings import Settings
from events.models import Event
from registrations.models import (
    SEATED_STATUSES,
    STAFF_SOURCES,
    Registration,
    RegistrationSource,
    RegistrationStatus,
)

# The actor of the changes nobody asked for by hand (promotions, self-service).
SYSTEM = Principal.system("inscriptions")


class EventFull(Conflict):
    """No place for the party: the API error carries `places_left`."""

    code = "event_full"

    def __init__(self, message: str | None = None, *, places_left: int = 0) -> None:
        super().__init__(message, extra={"places_left": max(0, places_left)})

    def default_message(self) -> str:
        return _("Cet événement est complet.")


def event_full(places_left: int, heads: int) -> EventFull:
    """EventFull for a party of `heads`: "complet" only when no place is left at all."""
    if places_left <= 0:
        return EventFull()
    return EventFull(
        ngettext(
            "Il reste %(num)s place; votre groupe compte %(heads)s personnes.",
            "Il reste %(num)s places; votre groupe compte %(heads)s personnes.",
            places_left,
            heads=heads,
        ),
        places_left=places_left,
    )


class PartyTooLarge(ValidationFailed):
    """A party larger than the whole capacity: it could never be seated nor promoted."""

    code = "party_too_large"

    def __init__(self, heads: int, capacity: int) -> None:
        message = ngettext(
            "Votre groupe de %(heads)s personnes dépasse la capacité de l'événement "
            "(%(num)s place). Réduisez le nombre ou écrivez à l'organisation.",
            "Votre groupe de %(heads)s personnes dépasse la capacité de l'événement "
            "(%(num)s places). Réduisez le nombre ou écrivez à l'organisation.",
            capacity,
            heads=heads,
        )
        super().__init__(message, fields={"party_size": message}, extra={"capacity": capacity})


def check_party(event: Event, heads: int, force_confirm: bool = False) -> None:
    """Refuse at once a party larger than the event's whole capacity (every channel; a
    walk-in the organizers allowed over capacity, `force_confirm`, excepted)."""
    if event.capacity is not None and heads > event.capacity and not force_confirm:
        raise PartyTooLarge(heads, event.capacity)


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


async def places_left(event_id: int) -> int | None:
    """The places left as the database holds them now (None: no capacity)."""
    rows = await Event.filter(id=event_id).limit(1).values_list("capacity", "seats_taken")
    if not rows or rows[0][0] is None:
        return None
    capacity, taken = rows[0]
    return max(0, int(capacity) - int(taken))


async def release(
    settings: Settings, event_id: int, held: RegistrationStatus, heads: int
) -> list[Registration]:
    """A registration that was `held` gives back `heads`: a confirmed one (or one held until
    its e-mail is confirmed) its places, a
    waitlisted one the heads its party shrank by (or left with); then the waitlist is
    promoted, in the caller's transaction.

    The one path of every operation that frees places or shrinks a waiting party;
    returns the promoted.
    """
    if heads <= 0 or held not in (*SEATED_STATUSES, RegistrationStatus.WAITLISTED):
        return []
    if held in SEATED_STATUSES:
        await release_places(event_id, heads)
    return await promote_waitlist(event_id, settings)


async def check_resize(event_id: int, held: RegistrationStatus, before: int, after: int) -> None:
    """A party changing from `before` to `after` heads (caller's transaction, before the
    change is saved): never above the whole capacity; a confirmed party that grows takes
    the extra places or gets EventFull. A smaller party then goes through `release`."""
    event = await Event.get(id=event_id)
    check_party(event, after)
    grows = after - before
    if held in SEATED_STATUSES and grows > 0 and not await take_places(event_id, grows):
        raise EventFull(
            _("Il ne reste pas assez de places pour agrandir votre groupe."),
            places_left=await places_left(event_id) or 0,
        )


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


async def _overtakes(event: Event, heads: int) -> bool:
    """Someone waits whose party fits in the places that were left before this party of
    `heads` took its own (call right after `take_places` succeeded: the event row is then
    write-locked, so the query sees every committed promotion). One EXISTS on the
    (event_id, status) index, run only when the event has a waitlist and a capacity."""
    if not event.waitlist or event.capacity is None:
        return False
    registrations, events = Registration._meta.db_table, Event._meta.db_table
    rows = await db.fetch_values(
        Registration,
        f"SELECT 1 AS waiting FROM {registrations} "  # noqa: S608 - names from the models
        "WHERE event_id = ? AND status = ? AND party_size <= "
        f"(SELECT capacity - seats_taken FROM {events} WHERE id = ?) + ? LIMIT 1",
        [event.id, RegistrationStatus.WAITLISTED.value, event.id, heads],
    )
    return bool(rows)


async def _recheck_under_lock(event: Event, heads: int, settings: Settings) -> bool:
    """Before a party joins the waitlist, look again with the event row locked.

    On PostgreSQL a failed conditional UPDATE locks nothing, so a cancellation committing
    right then could promote the waitlist without seeing this party, and leave places
    free while it waits. Under the row lock (held by any concurrent release until it
    commits) every committed release is visible: those already waiting are promoted
    first, then this party takes what is left if it fits. SQLite runs one writer at a
    time, so the race does not exist there and the lock is skipped.
    """
    if db.dialect() != "postgres":
        return False
    await db.fetch_values(
        Event,
        f"SELECT id FROM {Event._meta.db_table} WHERE id = ? FOR UPDATE",  # noqa: S608
        [event.id],
    )
    left = await places_left(event.id)
    if not left or left < heads:
        return False
    await promote_waitlist(event.id, settings)
    return await take_places(event.id, heads)


async def admit(
    event: Event, heads: int, settings: Settings, force_confirm: bool = False
) -> RegistrationStatus:
    """Confirmed with the places taken, else waitlisted, else EventFull (caller's
    transaction). A party larger than the capacity is refused (`check_party`); one that
    would overtake a waiting party that fits lets it go first: the waiting parties that
    fit are promoted now (they were left behind by a promotion that ran before they were
    committed, e.g. on PostgreSQL when a cancellation races registrations), then this
    party takes what is left if it fits, else it waits behind them. `force_confirm`
    (walk-ins allowed over capacity) takes the places anyway."""
    check_party(event, heads, force_confirm)
    fits = await take_places(event.id, heads)
    if fits and not force_confirm and await _overtakes(event, heads):
        await release_places(event.id, heads)
        await promote_waitlist(event.id, settings)  # those waiting first
        fits = await take_places(event.id, heads)  # then what is left, if it fits
    elif not fits and not force_confirm and event.waitlist:
        fits = await _recheck_under_lock(event, heads, settings)
    if not fits and force_confirm:
        await Event.filter(id=event.id).update(seats_taken=F("seats_taken") + heads)
    if not fits and not force_confirm and not event.waitlist:
        raise event_full(await places_left(event.id) or 0, heads)
    return _seated(event, fits, force_confirm)


async def decide_status(
    event: Event,
    heads: int,
    source: RegistrationSource,
    settings: Settings,
    force_confirm: bool = False,
    *,
    approval: bool = False,
) -> RegistrationStatus:
    """`status_for` with the places taken (inside the registering transaction);
    `approval`: a group request of a public channel, to approve like any on such events."""
    if approval or _needs_approval(event, source):  # no places taken before an organizer approves
        return RegistrationStatus.PENDING_APPROVAL
    return await admit(event, heads, settings, force_confirm)


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
    """Confirm, in arrival order, each waiting party that fits in the places left (a
    party too large for them keeps its rank), in the caller's transaction."""
    # notices shows the waitlist position, so it imports this module: not the other way.
    from registrations.notices import notify

    promoted: list[Registration] = []
    while True:
        query = Registration.filter(event_id=event_id, status=RegistrationStatus.WAITLISTED)
        left = await places_left(event_id)
        if left is not None:
            if left <= 0:
                break
            query = query.filter(party_size__lte=left)
        candidate = await query.order_by("waitlist_rank", "id").first()
        if candidate is None:
            break
        if not await take_places(event_id, candidate.party_size):
            continue  # taken meanwhile by someone else: read the places left again
        now = datetime.now(UTC)
        updated = await Registration.filter(
            id=candidate.id, status=RegistrationStatus.WAITLISTED
        ).update(
            status=RegistrationStatus.CONFIRMED,
            confirmed_at=now,
            waitlist_rank=None,
            updated_at=now,  # a queryset update does not stamp auto_now (tablet rosters)
        )
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
