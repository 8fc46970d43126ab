"""An edition's launches planned on one page: the grid and "publish the ready ones".

After `editions.create_territorial_children` an edition has one draft per MRC, all alike.
`plan_launches` saves the grid (date, hours, venue, address, capacity, contact of each
child) as one operation: every row is checked first and every error reported on its row;
nothing is written unless all rows are valid, then each changed child goes through
`service.update_event` in one transaction. `publish_ready_launches` publishes the drafts
that `service.publish_event` accepts and says what the others miss.

Beside `editions` rather than in it: it calls `events.service`, which imports `editions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from pydantic import ValidationError as PydanticValidationError
from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import AppError, Conflict, NotFound, ValidationFailed
from core.http import field_errors
from core.i18n import _
from events import service
from events.editions import children_of
from events.forms import form_errors
from events.models import Event, EventStatus
from events.schemas import EventIn

# The grid's columns, in order (the input of row N is named "N-<column>").
LAUNCH_FIELDS = (
    "date",
    "start",
    "end",
    "venue_name",
    "address",
    "capacity",
    "contact_name",
    "contact_email",
    "contact_phone",
)
# EventIn fields the grid shows under another name; any other error goes on the row ("row").
_GRID_NAMES = {"starts_at": "start", "ends_at": "end"}
MAX_ROWS = 200


def _nothing_saved() -> str:
    return _("Corrigez les lignes signalées : rien n'a été enregistré.")


def launch_values(event: Event) -> dict[str, str]:
    """A child's grid row as the inputs show it (dates and hours in the event's own zone)."""
    zone = ZoneInfo(event.timezone)
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    return {
        "date": start.date().isoformat(),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "venue_name": event.venue_name,
        "address": event.address,
        "capacity": "" if event.capacity is None else str(event.capacity),
        "contact_name": event.contact_name,
        "contact_email": event.contact_email,
        "contact_phone": event.contact_phone,
    }


async def edition_launches(actor: Principal, edition_id: int) -> tuple[Event, list[Event]]:
    """An edition and the children the grid plans (cancelled ones left out)."""
    authorize(actor, "events.edit")
    edition = await Event.get_or_none(id=edition_id)
    if edition is None or edition.parent_id is not None:
        raise NotFound()
    children = [c for c in await children_of(edition) if c.status != EventStatus.CANCELLED]
    return edition, children


def _parse_time(value: str) -> time | None:
    value = value.strip().lower().replace("h", ":")
    if value.endswith(":"):
        value += "00"
    try:
        return time.fromisoformat(value)
    except ValueError:
        return None


def _fold(child_id: int, fields: dict[str, str], errors: dict[str, str]) -> None:
    """Service/pydantic field errors onto the row's inputs ("N-end"), else on the row."""
    for field_name, message in form_errors(fields).items():
        name = _GRID_NAMES.get(field_name, field_name)
        column = name if name in LAUNCH_FIELDS else "row"
        errors.setdefault(f"{child_id}-{column}", message)


async def _row_input(
    child: Event, raw: Mapping[str, str], errors: dict[str, str]
) -> EventIn | None:
    """The child's whole input with the row's values over it (None if the row is invalid;
    its errors land in `errors`)."""
    key = f"{child.id}-"
    zone = ZoneInfo(child.timezone)
    day: date | None = None
    try:
        day = date.fromisoformat(raw.get("date", "").strip())
    except ValueError:
        errors[key + "date"] = _("Date invalide (format attendu : 2027-02-16).")
    start, end = _parse_time(raw.get("start", "")), _parse_time(raw.get("end", ""))
    for name, value in (("start", start), ("end", end)):
        if value is None:
            errors[key + name] = _("Heure invalide (format attendu : 18:30).")
    current = (await service.event_input(child)).model_dump()
    merged = current | {name: raw.get(name, "").strip() for name in LAUNCH_FIELDS[3:]}
    merged["capacity"] = merged["capacity"] or None
    if day is not None and start is not None and end is not None:
        # A launch spanning several days keeps its span; hours are read in its own zone.
        span = child.ends_at.astimezone(zone).date() - child.starts_at.astimezone(zone).date()
        merged["starts_at"] = datetime.combine(day, start)
        merged["ends_at"] = datetime.combine(day + span, end)
    try:
        data = EventIn.model_validate(merged)
    except PydanticValidationError as exc:
        _fold(child.id, field_errors(exc), errors)
        return None
    if any(k.startswith(key) for k in errors):
        return None
    try:
        await service.validate_event(data, event=child)
    except ValidationFailed as error:
        _fold(child.id, error.fields, errors)
        return None
    return data


async def plan_launches(
    actor: Principal, edition_id: int, rows: Mapping[int, Mapping[str, str]]
) -> int:
    """Save the grid: {child id: {column: typed value}}. Returns how many launches changed.

    All or nothing: any invalid row raises ValidationFailed with every error keyed by its
    input ("N-end", "N-contact_email"; "N-row" for the rest) and nothing is saved.
    """
    edition, children = await edition_launches(actor, edition_id)
    by_id = {c.id: c for c in children}
    if len(rows) > MAX_ROWS or any(child_id not in by_id for child_id in rows):
        raise ValidationFailed(_("Ce lancement n'appartient pas à cette édition."))
    errors: dict[str, str] = {}
    changes: list[tuple[Event, EventIn]] = []
    for child_id, raw in rows.items():
        child = by_id[child_id]
        current = launch_values(child)
        typed = {name: raw.get(name, "").strip() for name in LAUNCH_FIELDS}
        if typed == current:
            continue
        data = await _row_input(child, typed, errors)
        if data is not None:
            changes.append((child, data))
    if errors:
        raise ValidationFailed(_nothing_saved(), fields=errors)
    async with in_transaction():
        for child, data in changes:
            try:
                await service.update_event(actor, child.id, data)
            except (ValidationFailed, Conflict) as error:
                _fold(child.id, error.fields or {"row": error.message}, errors)
                raise ValidationFailed(_nothing_saved(), fields=errors) from None
        if changes:
            await audit(
                actor,
                "edition.launches_planned",
                edition,
                {"changed": [child.id for child, _data in changes]},
            )
    return len(changes)


@dataclass
class PublishReport:
    published: list[Event] = field(default_factory=list)
    # (draft, what it misses: the messages of the publish rule)
    missing: list[tuple[Event, list[str]]] = field(default_factory=list)


async def publish_ready_launches(actor: Principal, edition_id: int) -> PublishReport:
    """Publish every draft child the publish rule accepts; list what the others miss."""
    edition, children = await edition_launches(actor, edition_id)
    report = PublishReport()
    async with in_transaction():
        for child in children:
            if child.status != EventStatus.DRAFT:
                continue
            try:
                report.published.append(await service.publish_event(actor, child.id))
            except AppError as error:
                report.missing.append((child, list(error.fields.values()) or [error.message]))
        if report.published:
            await audit(
                actor,
                "edition.launches_published",
                edition,
                {"published": [e.id for e in report.published], "not_ready": len(report.missing)},
            )
    return report


def row_inputs(
    children: list[Event], typed: Mapping[int, Mapping[str, str]] | None = None
) -> list[tuple[Event, dict[str, str]]]:
    """Each child with the values its inputs show: what was typed, else its own."""
    typed = typed or {}
    return [(c, dict(typed[c.id]) if c.id in typed else launch_values(c)) for c in children]
