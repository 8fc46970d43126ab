"""Check-in devices: pairing a tablet to one event, revoking it, finding the device behind
a scoped token (cached a minute, recording when it was last seen)."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import NotFound
from core.i18n import _
from events.models import Event
from registrations.models import CheckinDevice

# token id -> (expiry on the monotonic clock, device id or None)
_devices: dict[int, tuple[float, int | None]] = {}
DEVICE_CACHE_SECONDS = 60.0


def forget_cached_devices() -> None:
    _devices.clear()


async def device_id_for(principal: Principal) -> int | None:
    """The paired device behind a scoped token (cached a minute).

    Each cache miss — at most once a minute per device and process — also records the
    device's `last_seen_at`, so that the back office shows which tablets are in use."""
    token_id = principal.extra.get("token_id")
    if token_id is None or not principal.scope:
        return None
    cached = _devices.get(token_id)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    device = await CheckinDevice.get_or_none(token_id=token_id)
    value = device.id if device else None
    if device is not None:
        await CheckinDevice.filter(id=device.id).update(last_seen_at=datetime.now(UTC))
    _devices[token_id] = (time.monotonic() + DEVICE_CACHE_SECONDS, value)
    return value


async def device_name(device_id: int | None) -> str:
    if device_id is None:
        return ""
    device = await CheckinDevice.get_or_none(id=device_id)
    return device.name if device else ""


async def event_devices(event_id: int) -> list[CheckinDevice]:
    """The devices paired to an event, newest first (revoked ones included)."""
    return await CheckinDevice.filter(event_id=event_id).order_by("-created_at", "-id")


async def event_device_ids(event_id: int) -> list[int]:
    """The ids of every device ever paired to an event (revoked and expired ones included)."""
    ids: list[int] = await CheckinDevice.filter(event_id=event_id).values_list("id", flat=True)  # type: ignore[assignment]
    return ids


async def device_summary(device_id: int | None) -> dict[str, Any] | None:
    """What a tablet learns about itself (its roster): the device it is, to record in
    its offline queue."""
    if device_id is None:
        return None
    return {"id": device_id, "name": await device_name(device_id)}


async def event_device(event_id: int, device_id: int) -> CheckinDevice:
    """One device of this event (NotFound for another event's)."""
    device = await CheckinDevice.get_or_none(id=device_id, event_id=event_id)
    if device is None:
        raise NotFound()
    return device


async def pair_device(
    actor: Principal, event_id: int, name: str, *, hours: int = 48
) -> tuple[CheckinDevice, str]:
    """A device token scoped to one event (expiring, revocable), shown once as a QR link."""
    from core.accounts import create_token
    from core.models import User

    authorize(actor, "registrations.manage", event_id=event_id)
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound()
    name = name.strip()[:100] or _("Tablette %(n)s", n=secrets.randbelow(900) + 100)
    hours = max(1, min(hours, 24 * 14))
    user = await User.get(id=actor.user_id)
    async with in_transaction():
        token, raw = await create_token(
            actor,
            user,
            f"Accueil — {name}",
            scope=f"checkin:{event_id}",
            expires_in=timedelta(hours=hours),
        )
        device = await CheckinDevice.create(
            event=event,
            name=name,
            token=token,
            created_by=user,
            expires_at=token.expires_at,
        )
        await audit(actor, "checkin.device_paired", device, {"event": event_id, "hours": hours})
    return device, raw


async def revoke_device(actor: Principal, device_id: int) -> None:
    from core.models import ApiToken

    device = await CheckinDevice.get_or_none(id=device_id)
    if device is None:
        raise NotFound()
    authorize(actor, "registrations.manage", event_id=device.event_id)
    now = datetime.now(UTC)
    async with in_transaction():
        device.revoked_at = now
        await device.save(update_fields=["revoked_at"])
        if device.token_id is not None:
            await ApiToken.filter(id=device.token_id).update(revoked_at=now)
        from core.auth import forget_token_cache

        forget_token_cache()
        await audit(actor, "checkin.device_revoked", device)
