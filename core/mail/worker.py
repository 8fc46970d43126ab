"""The mail worker: claims due messages from the outbox and delivers them over SMTP.

Claiming. A batch of `settings.mail_batch_size` due messages is claimed: status `queued`
with `next_attempt_at <= now`, or status `sending` whose lease (`claimed_until`) expired,
which are the messages of a worker that crashed or was killed. A claim sets status
`sending`, `claimed_until = now + lease` and counts one attempt.

- PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` then `UPDATE` in one transaction, so
  several workers (processes or hosts) share the queue without taking the same rows.
- SQLite: no row locks, so the claim is three short autocommit statements: pick ids,
  conditional `UPDATE` that re-checks the due condition (atomic in SQLite, even across
  processes), then read back the rows that carry this claim's own lease timestamp (unique
  per claim), so two claimers can never both get one message.

Sending goes over a small pool (`settings.mail_pool_size`) of reused aiosmtplib
connections, one lane per connection, spaced by `settings.mail_rate_per_second`.

Outcomes, written back in one transaction per batch:
- sent: status `sent`, `sent_at`;
- temporary failure (4xx, connection refused or lost, timeout): back to `queued` with
  `next_attempt_at = now + backoff_base * 2**(attempts - 1)` (capped, plus up to 10 %
  jitter); after `settings.mail_max_attempts` attempts: `dead`;
- permanent failure (5xx): `failed`, never retried (an organizer may retry it by hand).

Crash safety: nothing is held in memory between batches. A killed worker leaves at most
its current batch in `sending`; those messages are claimed again when their lease
expires, so only in-flight messages can go twice, each with its stable Message-ID.

Without `settings.smtp_url` the worker sends nothing (messages stay queued and readable
in the back office) and says so once in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from core.db import dialect
from core.mail.outbox import build_mime, envelope_sender, mime_bytes
from core.mail.smtp import Envelope, Outcome, RateLimiter, Result, SMTPPool, parse_smtp_url
from core.models import MessageStatus, OutboundMessage
from core.settings import Settings

log = logging.getLogger("rassembleur.mail")

DEFAULT_BACKOFF_BASE = 30.0  # seconds before the first retry, doubled each time
DEFAULT_BACKOFF_CAP = 3600.0  # never wait more than an hour between attempts
DEFAULT_LEASE_SECONDS = 300.0  # a claimed batch is taken back after this long


def utcnow() -> datetime:
    return datetime.now(UTC)


class MailWorker:
    """Processes the outbox one batch at a time (`run_once`); `run_worker` loops on it."""

    def __init__(
        self,
        settings: Settings,
        *,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_cap: float = DEFAULT_BACKOFF_CAP,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.batch_size = max(1, settings.mail_batch_size)
        self.max_attempts = max(1, settings.mail_max_attempts)
        self.backoff_base = max(0.0, backoff_base)
        self.backoff_cap = max(0.0, backoff_cap)
        self.lease = timedelta(seconds=max(0.001, lease_seconds))
        self.clock = clock
        self.sender = envelope_sender(settings)
        self.pool: SMTPPool | None = None
        if settings.smtp_url:
            local = urlsplit(settings.base_url).hostname or "localhost"
            self.pool = SMTPPool(
                parse_smtp_url(settings.smtp_url, local_hostname=local),
                settings.mail_pool_size,
                RateLimiter(settings.mail_rate_per_second),
            )

    @property
    def enabled(self) -> bool:
        return self.pool is not None

    def backoff(self, attempts: int) -> timedelta:
        delay = min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=delay * (1 + random.uniform(0, 0.1)))

    async def claim(self) -> list[OutboundMessage]:
        now = self.clock()
        # The lease end doubles as this claim's token: make it unique to this claim.
        token = now + self.lease + timedelta(microseconds=random.randrange(1, 1_000_000))
        stale = Q(status=MessageStatus.SENDING, claimed_until__lt=now)
        fresh = Q(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
        claimed = {
            "status": MessageStatus.SENDING,
            "claimed_until": token,
            "attempts": F("attempts") + 1,
        }
        if dialect() == "postgres":
            async with in_transaction():
                rows = await self._due(stale, fresh, lock=True)
                ids = [m.id for m in rows]
                if ids:
                    await OutboundMessage.filter(id__in=ids).update(**claimed)
            for m in rows:
                m.status, m.claimed_until, m.attempts = MessageStatus.SENDING, token, m.attempts + 1
            return rows
        ids = [m.id for m in await self._due(stale, fresh, lock=False, only_ids=True)]
        if not ids:
            return []
        await OutboundMessage.filter(Q(id__in=ids) & (stale | fresh)).update(**claimed)
        return await OutboundMessage.filter(
            id__in=ids, status=MessageStatus.SENDING, claimed_until=token
        ).order_by("id")

    async def _due(
        self, stale: Q, fresh: Q, *, lock: bool, only_ids: bool = False
    ) -> list[OutboundMessage]:
        """Expired claims first (oldest work), then queued messages by due time.

        Two simple queries rather than one OR: each follows the (status, next_attempt_at)
        index, so a table full of sent messages is never scanned.
        """
        found: list[OutboundMessage] = []
        for condition in (stale, fresh):
            query = OutboundMessage.filter(condition).order_by("next_attempt_at", "id")
            query = query.limit(self.batch_size - len(found))
            if lock:
                query = query.select_for_update(skip_locked=True)
            if only_ids:
                query = query.only("id")
            found.extend(await query)
            if len(found) >= self.batch_size:
                break
        return found

    async def run_once(self) -> int:
        """Claim and process one batch; the number of messages handled (0 = nothing due)."""
        if self.pool is None:
            return 0
        batch = await self.claim()
        if not batch:
            return 0
        envelopes: list[Envelope] = []
        results: dict[int, Result] = {}
        for message in batch:
            try:
                data = mime_bytes(build_mime(message, self.settings))
            except Exception as exc:  # noqa: BLE001 - a message that cannot be built is refused
                log.exception("message %s cannot be built", message.id)
                results[message.id] = Result(Outcome.PERMANENT, f"{type(exc).__name__}: {exc}")
                continue
            envelopes.append(Envelope(message.id, self.sender, message.to_address, data))
        if envelopes:
            results.update(await self.pool.send_many(envelopes))
        await self.record(batch, results)
        return len(batch)

    async def record(self, batch: list[OutboundMessage], results: dict[int, Result]) -> None:
        now = self.clock()
        sent: list[int] = []
        failed: dict[str, list[int]] = defaultdict(list)
        dead: dict[str, list[int]] = defaultdict(list)
        retry: dict[tuple[int, str], list[int]] = defaultdict(list)
        for message in batch:
            result = results.get(message.id) or Result(Outcome.TEMPORARY, "non envoyé")
            if result.outcome is Outcome.SENT:
                sent.append(message.id)
            elif result.outcome is Outcome.PERMANENT:
                failed[result.error].append(message.id)
            elif message.attempts >= self.max_attempts:
                dead[result.error].append(message.id)
            else:
                retry[(message.attempts, result.error)].append(message.id)
        async with in_transaction():
            if sent:
                await OutboundMessage.filter(id__in=sent).update(
                    status=MessageStatus.SENT, sent_at=now, claimed_until=None, last_error=""
                )
            for error, ids in failed.items():
                await OutboundMessage.filter(id__in=ids).update(
                    status=MessageStatus.FAILED, claimed_until=None, last_error=error
                )
            for error, ids in dead.items():
                await OutboundMessage.filter(id__in=ids).update(
                    status=MessageStatus.DEAD, claimed_until=None, last_error=error
                )
            for (attempts, error), ids in retry.items():
                await OutboundMessage.filter(id__in=ids).update(
                    status=MessageStatus.QUEUED,
                    claimed_until=None,
                    next_attempt_at=now + self.backoff(attempts),
                    last_error=error,
                )
        if failed or dead or retry:
            log.warning(
                "courriels : %d envoyés, %d refusés, %d abandonnés, %d à réessayer",
                len(sent),
                sum(map(len, failed.values())),
                sum(map(len, dead.values())),
                sum(map(len, retry.values())),
            )

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()


async def run_worker(
    settings: Settings,
    stop: asyncio.Event,
    *,
    backoff_base: float = DEFAULT_BACKOFF_BASE,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> None:
    """Deliver queued mail until `stop` is set (in the server or `rassembleur worker`)."""
    worker = MailWorker(settings, backoff_base=backoff_base, lease_seconds=lease_seconds)
    if not worker.enabled:
        log.info(
            "SMTP_URL n'est pas défini : les courriels restent dans la boîte d'envoi "
            "(visible dans /admin/outbox) et ne sont pas envoyés."
        )
        await stop.wait()
        return
    last_error = ""
    try:
        while not stop.is_set():
            try:
                handled = await worker.run_once()
                last_error = ""
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any failure
                if repr(exc) != last_error:
                    log.exception("échec du travailleur d'envoi; nouvel essai sous peu")
                last_error = repr(exc)
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=settings.mail_poll_interval)
    finally:
        await worker.close()
