"""Shared set-up for registration tests."""

from __future__ import annotations

from typing import Any

from core.auth import Principal
from events import service as events
from events.models import Event
from events.schemas import EventIn
from registrations.schemas import RegistrationIn

SYSTEM = Principal.system("tests")


async def published_event(**overrides: Any) -> Event:
    values: dict[str, Any] = {
        "title": "Colloque régional",
        "kind": "regional_event",
        "starts_at": "2030-02-16T09:00",
        "ends_at": "2030-02-16T11:30",
        "venue_name": "Cégep régional de Lanaudière",
        "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
        "territory": "2462",
    }
    values.update(overrides)
    event = await events.create_event(SYSTEM, EventIn.model_validate(values))
    await events.publish_event(SYSTEM, event.id)
    return await Event.get(id=event.id)


def person(n: int, **overrides: Any) -> RegistrationIn:
    values: dict[str, Any] = {
        "first_name": f"Prénom{n}",
        "last_name": f"Nom{n}",
        "email": f"personne{n}@exemple.qc.ca",
        "clientele": "schools",
    }
    values.update(overrides)
    return RegistrationIn.model_validate(values)
