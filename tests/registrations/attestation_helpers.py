"""Set-up for the attendance-certificate tests: an event that gives certificates, its
registrants checked in through the real door path, then the event moved into the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.settings import Settings
from events.models import Event
from registrations import checkin, notices, service
from registrations import service as registrations_service
from registrations.manage_links import manage_token
from registrations.models import Registration
from tests.registrations.helpers import SYSTEM, person, published_event

ZONE = ZoneInfo("America/Toronto")


async def certificate_event(days: int = 1, **overrides: Any) -> Event:
    """A published event starting tomorrow 9 h (local), `days` days long, ending 16 h,
    giving certificates."""
    first = datetime.now(ZONE).date() + timedelta(days=1)
    last = first + timedelta(days=days - 1)
    values: dict[str, Any] = {
        "starts_at": f"{first.isoformat()}T09:00",
        "ends_at": f"{last.isoformat()}T16:00",
        "gives_attestation": True,
    }
    values.update(overrides)
    return await published_event(**values)


async def register(settings: Settings, event: Event, n: int, **kw: Any) -> Registration:
    return (await service.register(event.id, person(n, **kw), settings=settings)).registration


async def move_to_past(event: Event, weeks: int = 1, *, started: timedelta | None = None) -> Event:
    """Shift the event (and nothing else) `weeks` weeks back: it is over. With `started`:
    so that it started that long ago (under way when it lasts longer)."""
    shift = timedelta(weeks=weeks)
    if started is not None:
        shift = event.starts_at - (datetime.now(UTC) - started)
    await Event.filter(id=event.id).update(
        starts_at=event.starts_at - shift, ends_at=event.ends_at - shift
    )
    checkin.forget_cached_events()
    registrations_service.forget_cached_events()
    return await Event.get(id=event.id)


async def check_in_on(
    settings: Settings, event: Event, registration: Registration, day_index: int
) -> None:
    """Check `registration` in half an hour after the start time on day `day_index`
    (0-based) of the event, as the door does for a tablet scan synchronized later."""
    moment = event.starts_at + timedelta(days=day_index, minutes=30)
    outcome = await checkin.check_in(
        settings,
        SYSTEM,
        event_id=event.id,
        payload=await notices.ticket_payload(settings, registration),
        at=moment.astimezone(UTC),
    )
    assert outcome.result == "ok", outcome.result


def manage_path(settings: Settings, registration: Registration) -> str:
    return f"/manage/{manage_token(settings, registration)}"
