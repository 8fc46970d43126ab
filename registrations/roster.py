"""The roster a tablet caches to work offline, synced incrementally.

The first pull (no cursor) gives everything the door needs: the event, the public key, the
counts, the clienteles, and one compact row per registration (`fields` names the columns
of `rows`). It also gives a `cursor`. A later pull with `?since=<cursor>` gives the same
header but only the rows that changed since that cursor, and the public ids of the rows
that left the roster (`removed`, tombstones: a registration whose status the door no
longer shows). A new event day (the day's check-ins are part of a row), a cursor of
another form or one older than `CURSOR_MAX_AGE` give the full roster again (`full: true`).

Why a time cursor with an overlap, not a change sequence
--------------------------------------------------------
A row is written (and stamped: `Registration.updated_at`, `Person.updated_at`,
`Organization.updated_at`, `CheckIn.changed_at`, all set by the writing process just
before its INSERT or UPDATE) inside a transaction and becomes visible at commit. Two
transactions may commit in the other order than they stamped, so "everything stamped
after the last row I saw" can skip a row committed late. A monotonic change sequence has
the same hole (its numbers are also taken before commit: on PostgreSQL a transaction with
number 10 may commit after one with 11 was read), would need a counter row that every
write to a registration, a person or a check-in serializes on, and cannot be read
consistently on both SQLite and PostgreSQL without backend-specific snapshot functions.

So the cursor is the server's clock read *before* the pull's queries, and a later pull
asks for every row stamped at or after `cursor - CURSOR_OVERLAP`. A write is then missed
only if its transaction committed more than `CURSOR_OVERLAP` after it stamped the row (or
if two server processes' clocks differ by that much); this service's transactions last
milliseconds. The price is that the rows changed during the last `CURSOR_OVERLAP` before
a pull come again in the next one; the tablet merges by public id, so a row received
twice changes nothing. A tablet also starts with a full pull each time the app opens.

Reads only; the door decisions are made in `registrations.checkin`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.auth import Principal
from core.settings import Settings
from events.models import Event
from people import reference as people_reference
from people.models import Clientele, Organization, Person
from registrations import tickets
from registrations.attendance import counts, door_event
from registrations.devices import device_summary
from registrations.door import CheckinWindow, local_day
from registrations.models import ACTIVE_STATUSES, CheckIn, Registration, RegistrationStatus

# The statuses a tablet keeps (to answer "cancelled" or "waitlisted" offline too).
ROSTER_STATUSES = (*ACTIVE_STATUSES, RegistrationStatus.CANCELLED, RegistrationStatus.DECLINED)
# The columns of a compact row, in order.
ROW_FIELDS = (
    "id",
    "name",
    "clientele",
    "organization",
    "party_size",
    "status",
    "ticket_code",
    "checked_in_at",
)
CURSOR_OVERLAP = timedelta(seconds=30)
CURSOR_MAX_AGE = timedelta(hours=12)
CURSOR_VERSION = "r1"


@dataclass(frozen=True)
class Cursor:
    """Where a tablet's copy stands: the event day it holds and the server time its last
    pull started at. Its text form is opaque to clients: `r1.<day>.<microseconds>`."""

    day: date
    at: datetime

    def text(self) -> str:
        micros = int(self.at.timestamp() * 1_000_000)
        return f"{CURSOR_VERSION}.{self.day.isoformat()}.{micros}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """The cursor, or None for anything else (the tablet then gets the full roster)."""
        parts = (text or "").strip()[:64].split(".")
        if len(parts) != 3 or parts[0] != CURSOR_VERSION or not parts[2].isdigit():
            return None
        try:
            day = date.fromisoformat(parts[1])
            at = datetime.fromtimestamp(int(parts[2]) / 1_000_000, UTC)
        except (ValueError, OverflowError, OSError):
            return None
        return cls(day, at)


async def _ids(query: Any, column: str = "id") -> list[int]:
    values: list[int] = await query.values_list(column, flat=True)
    return values


async def _changed_ids(event_id: int, since: datetime) -> set[int]:
    """The event's registrations whose roster row may have changed since `since`: the
    registration itself, its person or organization (names), or its check-ins.

    Each part is an indexed lookup of what changed ((event_id, updated_at), people's
    updated_at then (person_id, event_id), check-ins' (event_id, changed_at)), so a pull
    costs what changed, not the size of the event."""
    ids = set(await _ids(Registration.filter(event_id=event_id, updated_at__gte=since)))
    # Ordered by updated_at: the default order (names) made SQLite walk every person.
    people = await _ids(Person.filter(updated_at__gte=since).order_by("updated_at"))
    if people:
        ids.update(await _ids(Registration.filter(person_id__in=people, event_id=event_id)))
    organizations = await _ids(Organization.filter(updated_at__gte=since))
    if organizations:
        ids.update(
            await _ids(Registration.filter(organization_id__in=organizations, event_id=event_id))
        )
    ids.update(
        await _ids(
            CheckIn.filter(event_id=event_id, changed_at__gte=since), column="registration_id"
        )
    )
    return ids


async def _rows(
    event: Event, day: date, since: datetime | None
) -> tuple[list[list[Any]], list[str]]:
    """The compact rows (all of them, or those changed since `since`) and the public ids
    of the changed registrations the roster no longer shows."""
    if since is None:
        query = Registration.filter(event_id=event.id, status__in=ROSTER_STATUSES)
    else:
        changed = await _changed_ids(event.id, since)
        if not changed:
            return [], []
        # By id only (they are this event's): with event_id too, SQLite walked every
        # registration of the event and kept those in the list.
        query = Registration.filter(id__in=sorted(changed))
    found = await query.order_by("id").values(
        "id",
        "public_id",
        "status",
        "party_size",
        "ticket_code",
        "person__first_name",
        "person__last_name",
        "clientele__code",
        "organization__name",
    )
    if since is None:
        present_query = CheckIn.filter(event_id=event.id, day=day, active_key__isnull=False)
    else:
        # By registration only (they are this event's): with event_id too, SQLite chose the
        # (event_id, day) index and walked every check-in of the day.
        present_query = CheckIn.filter(
            registration_id__in=[r["id"] for r in found], day=day, active_key__isnull=False
        )
    present = (
        dict(await present_query.values_list("registration_id", "checked_in_at")) if found else {}
    )
    shown = {status.value for status in ROSTER_STATUSES}
    rows: list[list[Any]] = []
    removed: list[str] = []
    for row in found:
        status = str(getattr(row["status"], "value", row["status"]))
        if status not in shown:
            removed.append(row["public_id"])
            continue
        name = f"{row['person__first_name'] or ''} {row['person__last_name'] or ''}".strip()
        rows.append(
            [
                row["public_id"],
                name,
                row["clientele__code"],
                row["organization__name"] or "",
                row["party_size"],
                status,
                row["ticket_code"],
                event.local_iso(present.get(row["id"])),
            ]
        )
    return rows, removed


async def roster(
    settings: Settings,
    actor: Principal,
    event_id: int,
    device_id: int | None = None,
    since: str | None = None,
) -> dict[str, Any]:
    """What a tablet caches to work offline (see the module's docstring): the full roster
    without a usable cursor, the changes since it otherwise."""
    started = datetime.now(UTC)  # before any read: the next cursor
    event = await door_event(actor, event_id)
    day = local_day(event, started)
    cursor = Cursor.parse(since)
    usable = cursor is not None and cursor.day == day
    changed_from: datetime | None = None
    if cursor is not None and usable and started - CURSOR_MAX_AGE <= cursor.at <= started:
        changed_from = cursor.at - CURSOR_OVERLAP
    rows, removed = await _rows(event, day, changed_from)
    signer = await tickets.get_signer(settings.secret_key)
    offered = await people_reference.offered_clienteles(await event.clienteles.all())
    return {
        "event": {
            "id": event.id,
            "title": event.title,
            "starts_at": event.local_iso(event.starts_at),
            "ends_at": event.local_iso(event.ends_at),
            "checkin_opens_at": event.local_iso(CheckinWindow.of_event(event).opens),
            "timezone": event.timezone,
            "allow_walkins_over_capacity": event.allow_walkins_over_capacity,
        },
        "day": day.isoformat(),
        "device": await device_summary(device_id),
        "walkin_clienteles": [
            {"code": c.code, "name_fr": c.name_fr, "name_en": c.name_en} for c in offered
        ],
        "clienteles": {c.code: c.name_fr for c in await Clientele.all()},
        "public_key": signer.public_key_b64,
        "payload_prefix": tickets.PREFIX,
        "generated_at": event.local_iso(started),
        "cursor": Cursor(day, started).text(),
        "full": changed_from is None,
        "fields": list(ROW_FIELDS),
        "rows": rows,
        "removed": removed,
        "counts": await counts(event, day),
    }


def rows_as_dicts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A roster answer's compact rows as dictionaries (what the tablet makes of them)."""
    fields = body["fields"]
    return [dict(zip(fields, row, strict=True)) for row in body["rows"]]
