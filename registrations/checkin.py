"""Check-in at the door. `check_in` decides every scan (camera, search, walk-in, sync).

Results: ok, already_checked_in (with the previous time and device), invalid
(unparseable, forged, unknown), wrong_event (with the right event), cancelled,
waitlisted, unapproved, outside_window. One check-in per registration per event day
(local date), enforced by a unique key so that concurrent scans of one ticket give exactly
one `ok`. A synced (offline) scan earlier than the standing check-in takes its place:
the earliest scan wins. Every scan is recorded (`Scan`), and a nonce makes a retry
idempotent.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tortoise.exceptions import IntegrityError
from tortoise.signals import post_delete, post_save
from tortoise.transactions import in_transaction

from core import db
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import NotFound, ValidationFailed
from core.i18n import _
from core.settings import Settings
from events.models import Event
from people.models import Clientele, Organization, Person
from registrations import tickets
from registrations.devices import device_name, event_device_ids
from registrations.door import (
    CheckinWindow,
    ScanOutcome,
    door_verdict,
    local_day,
    registration_summary,
    result_message,
    scan_key,
)
from registrations.models import (
    CheckIn,
    CheckinResult,
    Registration,
    RegistrationStatus,
    Scan,
)

# The door's vocabulary lives in registrations.door; these names stay importable from here.
__all__ = [
    "CheckinWindow",
    "ScanOutcome",
    "check_in",
    "door_verdict",
    "local_day",
    "registration_summary",
    "replay",
    "result_message",
    "scan_key",
    "sync_scans",
    "undo_checkin",
]

# A wrong_event scan's detail: this prefix and the other event's id.
WRONG_EVENT_DETAIL = "autre événement "

# How far in the future a device clock may be before we use the server's time.
MAX_CLOCK_SKEW = timedelta(minutes=5)

# The door path reads the event on every scan: keep it a few seconds in memory. Changes
# made in this process drop the entry at once (signals); another process's changes (dates,
# check-in window) are seen within EVENT_CACHE_SECONDS.
EVENT_CACHE_SECONDS = 10.0
_events: dict[int, tuple[float, Event]] = {}
_public_keys: dict[str, Ed25519PublicKey] = {}


async def _cached_event(event_id: int) -> Event | None:
    now = time.monotonic()
    cached = _events.get(event_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    event = await Event.get_or_none(id=event_id)
    if event is None:
        _events.pop(event_id, None)
    else:
        _events[event_id] = (now + EVENT_CACHE_SECONDS, event)
    return event


@post_save(Event)
async def _event_saved(sender: Any, instance: Event, *args: Any) -> None:
    _events.pop(instance.id, None)


@post_delete(Event)
async def _event_deleted(sender: Any, instance: Event, *args: Any) -> None:
    _events.pop(instance.id, None)


def forget_cached_events() -> None:
    _events.clear()


async def _public_key(settings: Settings) -> Ed25519PublicKey:
    signer = await tickets.get_signer(settings.secret_key)
    key = _public_keys.get(signer.public_key_b64)
    if key is None:
        key = _public_keys[signer.public_key_b64] = signer.public_key
    return key


async def _registration_for_door(public_id: str) -> Registration | None:
    """The registration with what a door answer shows (person, clientele, organization).

    One hand-written SELECT instead of `select_related`: the ORM's query building was the
    largest CPU cost of a scan. The instances are partial (read-only use)."""
    rows = await db.fetch_values(
        Registration,
        "SELECT r.id, r.public_id, r.ticket_code, r.event_id, r.person_id, r.status, "  # noqa: S608 - names from the models
        "r.clientele_id, r.organization_id, r.party_size, p.first_name, p.last_name, "
        "c.code, c.name_fr, o.name AS organization_name "
        f"FROM {Registration._meta.db_table} r "
        f"JOIN {Person._meta.db_table} p ON p.id = r.person_id "
        f"JOIN {Clientele._meta.db_table} c ON c.id = r.clientele_id "
        f"LEFT JOIN {Organization._meta.db_table} o ON o.id = r.organization_id "
        "WHERE r.public_id = ?",
        [public_id],
    )
    if not rows:
        return None
    row = rows[0]
    registration = Registration._init_from_db(
        id=row["id"],
        public_id=row["public_id"],
        ticket_code=row["ticket_code"],
        event_id=row["event_id"],
        person_id=row["person_id"],
        status=row["status"],
        clientele_id=row["clientele_id"],
        organization_id=row["organization_id"],
        party_size=row["party_size"],
    )
    person = Person._init_from_db(
        id=row["person_id"], first_name=row["first_name"], last_name=row["last_name"]
    )
    clientele = Clientele._init_from_db(
        id=row["clientele_id"], code=row["code"], name_fr=row["name_fr"]
    )
    organization = (
        Organization._init_from_db(id=row["organization_id"], name=row["organization_name"])
        if row["organization_id"] is not None
        else None
    )
    object.__setattr__(registration, "_person", person)
    object.__setattr__(registration, "_clientele", clientele)
    object.__setattr__(registration, "_organization", organization)
    return registration


async def replay(event_id: int, device_id: int | None, nonce: str | None) -> ScanOutcome | None:
    """The first answer given to this nonce at this event's door by this device (None
    without a nonce or an answer)."""
    key = scan_key(event_id, device_id, nonce)
    if key is None:
        return None
    scan = await Scan.get_or_none(nonce=key, event_id=event_id)
    if scan is None:
        return None
    registration = None
    if scan.registration_id is not None:
        registration = await Registration.get(id=scan.registration_id).select_related(
            "person", "clientele", "organization"
        )
    checkin = await CheckIn.get_or_none(id=scan.checkin_id) if scan.checkin_id else None
    outcome = ScanOutcome(
        CheckinResult(scan.result), registration, nonce=nonce, scanned_at=scan.scanned_at
    )
    if scan.result == CheckinResult.WRONG_EVENT:
        outcome.registration = None  # never another event's registration
        if scan.detail.startswith(WRONG_EVENT_DETAIL):
            other = scan.detail.removeprefix(WRONG_EVENT_DETAIL)
            if other.isdigit():
                outcome.right_event = await Event.get_or_none(id=int(other))
    elif scan.result == CheckinResult.OK:
        outcome.checkin = checkin
    elif scan.result == CheckinResult.ALREADY_CHECKED_IN and checkin is not None:
        outcome.previous = checkin
        outcome.previous_device = await device_name(checkin.device_id)
    outcome.extra["replayed"] = True
    return outcome


async def _record(
    outcome: ScanOutcome,
    event_id: int,
    device_id: int | None,
    staff_id: int | None,
    detail: str = "",
    volunteer: str = "",
) -> ScanOutcome:
    try:
        async with in_transaction():
            await Scan.create(
                event_id=event_id,
                nonce=scan_key(event_id, device_id, outcome.nonce),
                scanned_at=outcome.scanned_at,
                result=outcome.result,
                registration=outcome.registration,
                checkin=outcome.checkin or outcome.previous,
                device_id=device_id,
                staff_id=staff_id,
                volunteer=volunteer,
                detail=detail[:200],
            )
    except IntegrityError:  # the same nonce recorded concurrently: answer like the first
        first = await replay(event_id, device_id, outcome.nonce)
        if first is not None:
            return first
        raise
    return outcome


async def _supersede(
    actor: Principal,
    outcome: ScanOutcome,
    event_id: int,
    key: str,
    moment: datetime,
    device_id: int | None,
    staff_id: int | None,
    method: str,
    volunteer: str,
) -> ScanOutcome | None:
    """Move the standing check-in back to this earlier scan (same row), or None if it lost.

    The row is read locked (PostgreSQL; SQLite runs one transaction at a time) so that
    what is reported superseded is what was replaced, and the UPDATE is conditional
    (id and a later time) so that concurrent syncs keep exactly one winner, the earliest.
    The Scan rows already recorded (what the door answered) are not rewritten."""
    try:
        async with in_transaction():
            standing = await CheckIn.select_for_update(no_key=True).get_or_none(active_key=key)
            if standing is None or standing.checked_in_at <= moment:
                return None
            moved = await CheckIn.filter(id=standing.id, checked_in_at__gt=moment).update(
                changed_at=datetime.now(UTC),  # a queryset update does not stamp auto_now
                checked_in_at=moment,
                device_id=device_id,
                staff_id=staff_id,
                method=method,
                volunteer=volunteer,
            )
            if not moved:
                return None
            before = {
                "checked_in_at": standing.checked_in_at.isoformat(),
                "device": await device_name(standing.device_id),
            }
            after = {"checked_in_at": moment.isoformat(), "device": await device_name(device_id)}
            standing.checked_in_at = moment
            standing.device_id = device_id
            standing.staff_id = staff_id
            standing.method = method
            standing.volunteer = volunteer
            await Scan.create(
                event_id=standing.event_id,
                nonce=scan_key(event_id, device_id, outcome.nonce),
                scanned_at=moment,
                result=CheckinResult.OK,
                registration=outcome.registration,
                checkin=standing,
                device_id=device_id,
                staff_id=staff_id,
                volunteer=volunteer,
                detail=f"remplace {before['checked_in_at']} {before['device']}"[:200],
            )
            await audit(
                actor,
                "checkin.superseded",
                standing,
                {"registration": standing.registration_id, "before": before, "after": after},
            )
    except IntegrityError:  # the same nonce recorded concurrently: answer like the first
        first = await replay(event_id, device_id, outcome.nonce)
        if first is not None:
            return first
        raise
    outcome.result = CheckinResult.OK
    outcome.checkin = standing
    outcome.extra["superseded"] = before
    return outcome


async def _wrong_event(
    outcome: ScanOutcome,
    event_id: int,
    other_event_id: int,
    device_id: int | None,
    staff_id: int | None,
    volunteer: str,
) -> ScanOutcome:
    """A ticket (or registration) of another event: the answer names that event (id,
    title, start) and nothing of the registration, which this door has no right to see;
    the scan keeps no link to it either (only the other event's id, to replay the answer)."""
    outcome.result = CheckinResult.WRONG_EVENT
    outcome.registration = None
    outcome.right_event = await Event.get_or_none(id=other_event_id)
    detail = f"{WRONG_EVENT_DETAIL}{other_event_id}"
    return await _record(outcome, event_id, device_id, staff_id, detail, volunteer)


async def check_in(
    settings: Settings,
    actor: Principal,
    *,
    event_id: int,
    payload: str | None = None,
    registration_id: str | None = None,
    device_id: int | None = None,
    at: datetime | None = None,
    nonce: str | None = None,
    method: str = "scan",
    volunteer: str = "",
) -> ScanOutcome:
    """Decide one scan. The single place where a door decision is made. `volunteer` is the
    first name typed on the tablet (kept on the scan and the check-in)."""
    authorize(actor, "checkin.scan", event_id=event_id)
    now = datetime.now(UTC)
    moment = now
    if at is not None:  # a device's time, in UTC (stored times compare as text on SQLite)
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        moment = min(at, now + MAX_CLOCK_SKEW)
    nonce = (nonce or "").strip()[:64] or None
    volunteer = volunteer.strip()[:100]
    # A retried nonce is not looked up first: the scan's insert hits the unique nonce
    # and the first answer is replayed from there (one query less per scan).
    event = await _cached_event(event_id)
    if event is None:
        raise NotFound()
    staff_id = actor.user_id if actor.via != "system" else None
    outcome = ScanOutcome(
        CheckinResult.INVALID, scanned_at=moment, nonce=nonce, timezone=event.timezone
    )

    public_id: str | None = None
    if payload is not None:
        try:
            claim = tickets.verify_payload(payload, await _public_key(settings))
        except tickets.TicketError as error:
            return await _record(outcome, event.id, device_id, staff_id, str(error), volunteer)
        if claim.event_id != event.id:
            return await _wrong_event(
                outcome, event.id, claim.event_id, device_id, staff_id, volunteer
            )
        public_id = claim.public_id
    elif registration_id:
        public_id = registration_id.strip()[:32]
    else:
        raise ValidationFailed(fields={"payload": _("Un billet ou une inscription est requis.")})

    registration = await _registration_for_door(public_id)
    if registration is not None and registration.event_id != event.id:
        return await _wrong_event(
            outcome, event.id, registration.event_id, device_id, staff_id, volunteer
        )
    status = RegistrationStatus(registration.status) if registration is not None else None
    verdict = door_verdict(status, CheckinWindow.of_event(event), moment)
    if registration is None or verdict != CheckinResult.OK:
        outcome.result = verdict
        outcome.registration = registration
        detail = "" if registration is not None else "inconnu"
        return await _record(outcome, event.id, device_id, staff_id, detail, volunteer)
    outcome.registration = registration

    day = local_day(event, moment)
    key = f"{registration.id}:{day.isoformat()}"
    try:
        async with in_transaction():
            checkin = await CheckIn.create(
                event_id=event.id,
                registration=registration,
                day=day,
                active_key=key,
                checked_in_at=moment,
                device_id=device_id,
                staff_id=staff_id,
                method=method,
                volunteer=volunteer,
            )
            outcome.result = CheckinResult.OK
            outcome.checkin = checkin
            await Scan.create(
                event_id=event.id,
                nonce=scan_key(event.id, device_id, nonce),
                scanned_at=moment,
                result=CheckinResult.OK,
                registration=registration,
                checkin=checkin,
                device_id=device_id,
                staff_id=staff_id,
                volunteer=volunteer,
            )
        return outcome
    except IntegrityError:
        first = await replay(event.id, device_id, nonce)
        if first is not None:
            return first
    previous = await CheckIn.get_or_none(active_key=key)
    if method == "sync" and previous is not None and moment < previous.checked_in_at:
        # An offline scan earlier than the standing check-in wins (scan-time order).
        won = await _supersede(
            actor, outcome, event.id, key, moment, device_id, staff_id, method, volunteer
        )
        if won is not None:
            return won
        previous = await CheckIn.get_or_none(active_key=key)  # moved earlier meanwhile
    outcome.result = CheckinResult.ALREADY_CHECKED_IN
    outcome.checkin = None
    outcome.previous = previous
    if previous is not None:
        outcome.previous_device = await device_name(previous.device_id)
    return await _record(outcome, event.id, device_id, staff_id, "", volunteer)


async def undo_checkin(actor: Principal, checkin_id: int) -> CheckIn:
    """Undo a check-in (an organizer's or the scanning device's correction), audited."""
    async with in_transaction():
        checkin = await CheckIn.get_or_none(id=checkin_id)
        if checkin is None or checkin.undone_at is not None:
            raise NotFound()
        authorize(actor, "checkin.scan", event_id=checkin.event_id)
        checkin.undone_at = datetime.now(UTC)
        checkin.undone_by_id = actor.user_id
        checkin.active_key = None
        await checkin.save()
        await audit(actor, "checkin.undone", checkin, {"registration": checkin.registration_id})
    return checkin


async def sync_scans(
    settings: Settings,
    actor: Principal,
    event_id: int,
    scans: list[dict[str, Any]],
    device_id: int | None = None,
) -> list[dict[str, Any]]:
    """Apply an offline queue in scan-time order; idempotent by nonce.

    The earliest scan wins, across batches and devices, whatever the arrival order: a
    scan earlier than the ticket's standing check-in for that day takes its place (same
    row, moved back to this scan's time, device and staff) and comes back `ok` with
    `superseded` (the replaced time and device), audited as `checkin.superseded`; the
    Scan rows already recorded stay as answered at the door. A scan at or after the
    standing check-in comes back `already_checked_in` (a duplicate), with its time and
    device. Re-sending a batch (same nonces) replays the first answers, changing nothing.

    Each scan is credited to the device that made it (its `device_id`) when that is one
    of this event's devices, even one revoked or expired since: the scan was made before,
    and the caller is entitled to this event's door. A device of another event (or none
    that exists) is never trusted: such a scan, like one naming no device, is credited to
    `device_id`, the device that syncs. Its `volunteer` is kept as typed on the tablet.
    """
    authorize(actor, "checkin.scan", event_id=event_id)
    own = set(await event_device_ids(event_id))
    ordered = sorted(enumerate(scans), key=lambda item: item[1]["scanned_at"])
    results: list[dict[str, Any] | None] = [None] * len(scans)
    for index, scan in ordered:
        outcome = await check_in(
            settings,
            actor,
            event_id=event_id,
            payload=scan.get("payload"),
            registration_id=scan.get("registration_id"),
            device_id=scan["device_id"] if scan.get("device_id") in own else device_id,
            at=scan["scanned_at"],
            nonce=scan.get("nonce"),
            method="sync",
            volunteer=scan.get("volunteer") or "",
        )
        results[index] = outcome.as_dict()
    return [r for r in results if r is not None]
