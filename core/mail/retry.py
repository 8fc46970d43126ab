"""Putting mail back in the queue from the back office: one refused (`failed`) or
abandoned (`dead`) message, or every abandoned message at once (after an outage that
outlasted the retries, or a fixed server configuration). Audited; permission
`outbox.retry`, checked here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import authorize
from core.errors import NotFound, ValidationFailed
from core.i18n import _
from core.models import MessageStatus, OutboundMessage

if TYPE_CHECKING:
    from core.auth import Principal

RETRYABLE = (MessageStatus.FAILED, MessageStatus.DEAD)
# What a message put back in the queue starts from: no attempt, due now, no claim.
_REQUEUED = {
    "status": MessageStatus.QUEUED,
    "attempts": 0,
    "claimed_until": None,
    "claim_token": None,
}


async def retry_message(actor: Principal, message_id: int) -> OutboundMessage:
    """Put a refused (failed) or abandoned (dead) message back in the queue, audited."""
    authorize(actor, "outbox.retry")
    async with in_transaction():
        message = await OutboundMessage.get_or_none(id=message_id)
        if message is None:
            raise NotFound()
        previous = MessageStatus(message.status)
        updated = await OutboundMessage.filter(id=message_id, status__in=RETRYABLE).update(
            next_attempt_at=datetime.now(UTC), **_REQUEUED
        )
        if not updated:
            raise ValidationFailed(
                _("Seuls les messages refusés ou abandonnés peuvent être renvoyés.")
            )
        await audit(
            actor,
            "outbox.retry",
            message,
            {"previous_status": previous.value, "last_error": message.last_error[:500]},
        )
    await message.refresh_from_db()
    return message


async def retry_dead_messages(actor: Principal) -> int:
    """Put every abandoned (dead) message back in the queue; how many. Audited once,
    with the count. Refused (failed) messages stay: the server refused them for good."""
    authorize(actor, "outbox.retry")
    async with in_transaction():
        count = await OutboundMessage.filter(status=MessageStatus.DEAD).update(
            next_attempt_at=datetime.now(UTC), **_REQUEUED
        )
        if count:
            await audit(actor, "outbox.retry_dead", ("core.OutboundMessage", "*"), {"count": count})
    return count
