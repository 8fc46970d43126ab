"""Walk-ins: someone registered at the door (tablet or staff) and checked in at once, by
the device and volunteer at the door, through the same door decision as a scan."""

from __future__ import annotations

from typing import Any

from core.auth import Principal, authorize
from core.errors import Conflict, NotFound
from core.i18n import _
from core.settings import Settings
from events.models import Event
from registrations.checkin import ScanOutcome, check_in, replay
from registrations.models import RegistrationSource, RegistrationStatus
from registrations.schemas import RegistrationIn, WalkinIn
from registrations.service import register


async def walk_in(
    settings: Settings,
    actor: Principal,
    event_id: int,
    data: Any,
    *,
    device_id: int | None = None,
    volunteer: str = "",
) -> ScanOutcome:
    """Register someone at the door and check them in at once, credited to the device and
    volunteer at the door."""
    authorize(actor, "checkin.scan", event_id=event_id)
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    nonce = getattr(data, "nonce", None)
    # A retried walk-in (e.g. after a timeout) at this door, by this device: same answer.
    first = await replay(event_id, device_id, nonce)
    if first is not None:
        return first
    if isinstance(data, WalkinIn):
        data = RegistrationIn.model_construct(
            first_name=data.first_name,
            last_name=data.last_name,
            email=data.email,
            clientele=data.clientele,
            organization=data.organization,
            territory=data.territory,
            phone="",
            language=data.language,
            party_size=data.party_size,
            answers={},
            consents=[],
            under_14=False,
            guardian_consent=False,
        )
    result = await register(
        event_id,
        data,
        settings=settings,
        source=RegistrationSource.WALKIN,
        actor=Principal.system("accueil") if actor.scope else actor,
        force_confirm=event.allow_walkins_over_capacity,
    )
    registration = result.registration
    if registration.status != RegistrationStatus.CONFIRMED:
        raise Conflict(_("L'inscription sur place n'a pas pu être confirmée."), code="event_full")
    return await check_in(
        settings,
        actor,
        event_id=event_id,
        registration_id=registration.public_id,
        device_id=device_id,
        method="walkin",
        nonce=nonce,
        volunteer=volunteer,
    )
