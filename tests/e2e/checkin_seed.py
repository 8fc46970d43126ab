"""Seed data for the tablet check-in browser tests.

Run as `python -m tests.e2e.checkin_seed <organizer e-mail>` with the served instance's
environment (DATABASE_URL, VAR_DIR, …): creates an event starting 30 minutes from now,
a few registrations and three paired devices, then prints JSON (event id, device tokens,
each person's name, public id, ticket code and QR payload); and a second event for one
clientele only, with its own device (`single_event_id`, `single_token`).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.auth import Principal
from core.db import close_orm, init_orm
from core.models import User
from core.settings import load_settings
from events import service as events
from events.schemas import EventIn
from registrations import devices, notices, service
from registrations.manage_links import manage_token
from registrations.schemas import RegistrationIn

SYSTEM = Principal.system("tests e2e")

PEOPLE = {
    "camera": ("Léa", "Tremblay", "youth", 1),
    "search": ("Samuel", "Gagnon", "schools", 2),
    "offline": ("Chloé", "Bouchard", "family", 3),
    "duplicate": ("Olivier", "Côté", "society", 1),
    "cancelled": ("Mathis", "Roy", "schools", 1),
    "spare": ("Florence", "Pelletier", "youth", 1),
    "staff": ("Gabriel", "Lavoie", "family", 1),
    "repaired": ("Zoé", "Morin", "youth", 1),
    "delta_in": ("Noah", "Gauthier", "youth", 1),
    "delta_gone": ("Alice", "Ouellet", "family", 1),
}


async def seed(organizer_email: str) -> dict[str, object]:
    settings = load_settings()
    await init_orm(settings)
    try:
        start = datetime.now(ZoneInfo("America/Toronto")) + timedelta(minutes=30)
        end = start + timedelta(hours=3)
        event = await events.create_event(
            SYSTEM,
            EventIn.model_validate(
                {
                    "title": "Journée de partage — accueil",
                    "kind": "regional_event",
                    "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                    "ends_at": end.strftime("%Y-%m-%dT%H:%M"),
                    "venue_name": "Centre communautaire de Joliette",
                    "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
                    "territory": "2462",
                    "capacity": 200,
                }
            ),
        )
        await events.publish_event(SYSTEM, event.id)
        people: dict[str, dict[str, object]] = {}
        for n, (key, (first, last, clientele, party)) in enumerate(PEOPLE.items(), start=1):
            data = RegistrationIn.model_validate(
                {
                    "first_name": first,
                    "last_name": last,
                    "email": f"{key}.{event.id}.{n}@exemple.qc.ca",
                    "clientele": clientele,
                    "party_size": party,
                }
            )
            registration = (await service.register(event.id, data, settings=settings)).registration
            if key == "cancelled":
                await service.cancel(settings, registration.id)
            people[key] = {
                "name": f"{first} {last}",
                "public_id": registration.public_id,
                "ticket_code": registration.ticket_code,
                "payload": await notices.ticket_payload(settings, registration),
                "party_size": party,
                "manage_token": manage_token(settings, registration),
            }
        user = await User.get(email=organizer_email)
        organizer = Principal.for_user(user)
        tokens = []
        for name in ("Tablette porte A", "Tablette porte B", "Tablette porte C"):
            _device, raw = await devices.pair_device(organizer, event.id, name)
            tokens.append(raw)
        single = await events.create_event(
            SYSTEM,
            EventIn.model_validate(
                {
                    "title": "Soirée des familles",
                    "kind": "regional_event",
                    "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                    "ends_at": end.strftime("%Y-%m-%dT%H:%M"),
                    "venue_name": "Bibliothèque de Joliette",
                    "address": "1, rue Saint-Paul, Joliette",
                    "territory": "2462",
                    "clienteles": ["family"],
                }
            ),
        )
        await events.publish_event(SYSTEM, single.id)
        _device, single_token = await devices.pair_device(organizer, single.id, "Tablette")
        return {
            "event_id": event.id,
            "tokens": tokens,
            "people": people,
            "single_event_id": single.id,
            "single_token": single_token,
        }
    finally:
        await close_orm()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(seed(sys.argv[1]))))
