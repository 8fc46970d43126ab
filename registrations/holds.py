""" "Confirmer par courriel": a public registration to an event with `confirm_by_email`
holds its places as `pending_email` for EMAIL_HOLD_MINUTES; the link mailed to it
(`manage_links.confirm_url`) confirms it and sends the usual confirmation with the
ticket. An expired hold is cancelled and its places go back, the waitlist promoted in the
same transaction: by the periodic upkeep (`expire_holds`, idempotent) or at once when its
link is followed too late.

A held registration counts against the capacity (its heads are in `Event.seats_taken`),
has no ticket and cannot check in; only a party that got places is held (a waitlisted
one or a group request to approve holds nothing, so it is not).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from core import db
from core.audit import audit
from core.errors import Conflict, NotFound
from core.i18n import _
from core.settings import Settings
from registrations import capacity
from registrations.capacity import SYSTEM
from registrations.limits import Channel
from registrations.models import Registration, RegistrationStatus
from registrations.notices import notify


class HoldExpired(Conflict):
    code = "hold_expired"

    def default_message(self) -> str:
        return _(
            "Le délai pour confirmer cette inscription est dépassé et les places ont été "
            "libérées. Vous pouvez vous inscrire de nouveau."
        )


class HoldGone(Conflict):
    code = "not_pending_email"

    def default_message(self) -> str:
        return _("Cette inscription n'attend plus de confirmation par courriel.")


def held_status(
    settings: Settings, channel: Channel, status: RegistrationStatus, now: datetime
) -> tuple[RegistrationStatus, datetime | None]:
    """The status a new registration gets and, when held, until when."""
    if channel.email_hold and status == RegistrationStatus.CONFIRMED:
        return RegistrationStatus.PENDING_EMAIL, now + timedelta(
            minutes=settings.email_hold_minutes
        )
    return status, None


def is_expired(registration: Registration, now: datetime | None = None) -> bool:
    hold = registration.hold_expires_at
    return hold is None or hold <= (now or datetime.now(UTC))


async def _locked(registration_id: int) -> Registration:
    query = Registration.filter(id=registration_id)
    if db.dialect() == "postgres":
        query = query.select_for_update()
    registration = await query.first()
    if registration is None:
        raise NotFound()
    return registration


async def _release(settings: Settings, registration: Registration, now: datetime) -> None:
    """Cancel an expired hold and give its places back (caller's transaction)."""
    registration.status = RegistrationStatus.CANCELLED
    registration.active_key = None
    registration.cancelled_at = now
    registration.hold_expires_at = None
    await registration.save(
        update_fields=["status", "active_key", "cancelled_at", "hold_expires_at", "updated_at"]
    )
    await capacity.release(
        settings, registration.event_id, RegistrationStatus.PENDING_EMAIL, registration.party_size
    )
    await audit(
        SYSTEM,
        "registration.hold_expired",
        registration,
        {"from": RegistrationStatus.PENDING_EMAIL.value, "to": "cancelled"},
    )


async def confirm(settings: Settings, registration_id: int) -> Registration:
    """Follow the confirmation link: a held registration is confirmed (and mailed its
    ticket); one already confirmed stays so; an expired hold is released (HoldExpired);
    any other status is HoldGone."""
    now = datetime.now(UTC)
    async with in_transaction():
        registration = await _locked(registration_id)
        if registration.status == RegistrationStatus.CONFIRMED:
            return registration
        if registration.status != RegistrationStatus.PENDING_EMAIL:
            raise HoldGone()
        expired = is_expired(registration, now)
        if expired:
            await _release(settings, registration, now)
        else:
            registration.status = RegistrationStatus.CONFIRMED
            registration.confirmed_at = now
            registration.hold_expires_at = None
            await registration.save(
                update_fields=["status", "confirmed_at", "hold_expires_at", "updated_at"]
            )
            await audit(
                SYSTEM,
                "registration.email_confirmed",
                registration,
                {"from": RegistrationStatus.PENDING_EMAIL.value, "to": "confirmed"},
            )
            await notify(settings, registration, "registration_confirmed")
    if expired:  # after the commit: the release stands
        raise HoldExpired()
    return registration


async def expire_holds(settings: Settings, now: datetime | None = None) -> int:
    """Release every hold past its time (the periodic upkeep); returns how many. Each in
    its own transaction, re-read under lock, so a confirmation or another worker racing
    it changes nothing twice."""
    now = now or datetime.now(UTC)
    ids = await Registration.filter(
        status=RegistrationStatus.PENDING_EMAIL, hold_expires_at__lte=now
    ).values_list("id", flat=True)
    released = 0
    for registration_id in ids:
        async with in_transaction():
            try:
                registration = await _locked(int(registration_id))  # type: ignore[call-overload]
            except NotFound:
                continue
            if (
                registration.status != RegistrationStatus.PENDING_EMAIL
                or registration.hold_expires_at is None
                or registration.hold_expires_at > now
            ):
                continue
            await _release(settings, registration, now)
            released += 1
    return released
