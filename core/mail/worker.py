"""The mail worker: claims due messages from the outbox and delivers them over SMTP.

Claiming. A batch of `settings.mail_batch_size` due messages is claimed: status `queued`
with `next_attempt_at <= now`, or status `sending` whose claim lapsed (`claimed_until` in
the past: the worker that held it crashed or was killed). A claim sets status `sending`,
a token unique to the batch (`claim_token`), `claimed_until = now + lease`
(`settings.mail_lease_seconds`) and counts one attempt.

- PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` then `UPDATE` in one transaction, so
  several workers (processes or hosts) share the queue without taking the same rows.
- SQLite: no row locks, so the claim is three short autocommit statements: pick ids,
  conditional `UPDATE` that re-checks the due condition (atomic in SQLite, even across
  processes), then read back the rows that carry this claim's token, so two claimers can
  never both get one message.

Heartbeat. While a batch is in flight the worker pushes back the lease of its messages
not yet recorded, every quarter lease: a long batch (a slow server) keeps its claims, and
the batch of a killed worker is taken over within one lease. A message whose claim was
taken over anyway (a worker stalled past its lease) is not sent by the stalled worker.

Sending goes over a small pool (`settings.mail_pool_size`) of reused aiosmtplib
connections, one lane per connection, spaced by `settings.mail_rate_per_second`.

Recording. Each outcome is written as soon as the server has answered (the outcomes that
arrive while one write runs go together in the next one), not at the end of the batch,
so a worker killed with `kill -9` sends again only what the server accepted in the last
instant before it died:
- sent: status `sent`, `sent_at`;
- temporary failure (the server answered 4xx about the message, or the connection broke
  twice during it): back to `queued` with
  `next_attempt_at = now + backoff_base * 2**(attempts - 1)` (capped, plus up to 10 %
  jitter); after `settings.mail_max_attempts` attempts: `dead`;
- permanent failure (5xx): `failed`, never retried (an organizer may retry it by hand);
- server unreachable (no session could be opened): the claim is undone (back to
  `queued`, the attempt not counted, the due time unchanged).

Outages. When a batch finds the server unreachable the worker stops claiming and probes
it with one connection at a time, after 1 s, 2 s, 4 s, ... at most 30 s apart; the
messages wait untouched and go out as soon as a probe succeeds. Only the server's answers
about a message count toward `MAIL_MAX_ATTEMPTS`, so an outage of any length makes
nothing dead.

Stopping. When `stop` is set during a batch, the messages not yet handed to the server
are given back at once (queued, attempt not counted) instead of waiting for their lease.

Without `settings.smtp_url` the worker sends nothing (messages stay queued and readable
in the back office) and says so once in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.db import dialect, execute
from core.mail.outbox import build_mime, envelope_sender, mime_bytes
from core.mail.smtp import Envelope, Outcome, RateLimiter, Result, SMTPPool, parse_smtp_url
from core.models import MessageStatus, OutboundMessage
from core.settings import Settings

log = logging.getLogger("rassembleur.mail")

DEFAULT_BACKOFF_BASE = 30.0  # seconds before the first retry, doubled each time
DEFAULT_BACKOFF_CAP = 3600.0  # never wait more than an hour between attempts
DEFAULT_PROBE_BASE = 1.0  # first probe of an unreachable server after this long, doubled
DEFAULT_PROBE_CAP = 30.0  # then at most this long between probes
WRITE_TRIES = 4  # a failed write of outcomes is tried again, 0.2 s, 0.4 s, 0.8 s later
# Not handed to the server (the worker is stopping): given back, no attempt counted.
NOT_SENT = Result(Outcome.UNREACHABLE, "")


# What a claimed message is loaded with: what sending and recording it need.
SEND_FIELDS = (
    "id",
    "attempts",
    "claim_token",
    "created_at",
    "message_id",
    "to_address",
    "to_name",
    "subject",
    "text_body",
    "html_body",
    "headers",
    "attachments",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _doubling(base: float, cap: float, step: int) -> float:
    """base, 2 x base, 4 x base, ... never more than cap (plus up to 10 % jitter)."""
    delay = min(cap, base * 2 ** min(max(0, step - 1), 40))
    return delay * (1 + random.uniform(0, 0.1))


async def mark_sent(ids: list[int], now: datetime) -> None:
    """Record messages as sent: hand-written SQL, as it runs once per server answer or
    so (the ORM's query building cost more than the statement)."""
    if not ids:
        return
    marks = ", ".join("?" * len(ids))
    sql = (
        f"UPDATE {OutboundMessage._meta.db_table} SET status = ?, sent_at = ?, "  # noqa: S608 - no input in the text
        f"last_error = '', claimed_until = NULL, claim_token = NULL WHERE id IN ({marks})"
    )
    await execute(OutboundMessage, sql, [MessageStatus.SENT.value, now, *ids])


class Batch:
    """One claimed batch in flight: its claim token, its messages, the outcomes known but
    not yet written, and the claims it no longer holds."""

    def __init__(self, token: str, messages: list[OutboundMessage]) -> None:
        self.token = token
        self.messages = {m.id: m for m in messages}
        self.unwritten: set[int] = set(self.messages)  # claimed here, no outcome stored
        self.answered: set[int] = set()
        self.pending: list[tuple[int, Result]] = []  # for the next write
        self.lost: set[int] = set()  # claims another worker took over: not sent here
        self.unreachable = ""  # why no session could be opened, if so
        self.wake = asyncio.Event()
        self.closed = False
        self.lock = asyncio.Lock()  # one write at a time: outcomes or heartbeat

    def add(self, key: int, result: Result) -> None:
        self.answered.add(key)
        self.pending.append((key, result))
        if result.outcome is Outcome.UNREACHABLE and result.error and not self.unreachable:
            self.unreachable = result.error
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()


class MailWorker:
    """Processes the outbox one batch at a time (`run_once`); `run_worker` loops on it."""

    def __init__(
        self,
        settings: Settings,
        *,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_cap: float = DEFAULT_BACKOFF_CAP,
        lease_seconds: float | None = None,
        probe_base: float = DEFAULT_PROBE_BASE,
        probe_cap: float = DEFAULT_PROBE_CAP,
        clock: Callable[[], datetime] = utcnow,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.settings = settings
        self.batch_size = max(1, settings.mail_batch_size)
        self.max_attempts = max(1, settings.mail_max_attempts)
        self.backoff_base = max(0.0, backoff_base)
        self.backoff_cap = max(0.0, backoff_cap)
        lease = settings.mail_lease_seconds if lease_seconds is None else lease_seconds
        self.lease = timedelta(seconds=max(0.001, lease))
        self.heartbeat_every = self.lease.total_seconds() / 4
        self.probe_base = max(0.0, probe_base)
        self.probe_cap = max(0.0, probe_cap)
        self.clock = clock
        self.stop = stop
        # While the server is unreachable: since when, probes failed, next probe.
        self.outage_since: datetime | None = None
        self.failed_probes = 0
        self.next_probe_at: datetime | None = None
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
        return timedelta(seconds=_doubling(self.backoff_base, self.backoff_cap, attempts))

    # ------------------------------------------------------------------ claiming

    async def claim(self) -> list[OutboundMessage]:
        now = self.clock()
        token = uuid.uuid4().hex
        stale = Q(status=MessageStatus.SENDING, claimed_until__lt=now)
        fresh = Q(status=MessageStatus.QUEUED, next_attempt_at__lte=now)
        until = now + self.lease
        claimed = {
            "status": MessageStatus.SENDING,
            "claim_token": token,
            "claimed_until": until,
            "attempts": F("attempts") + 1,
        }
        if dialect() == "postgres":
            async with in_transaction():
                rows = await self._due(stale, fresh, lock=True)
                ids = [m.id for m in rows]
                if ids:
                    await OutboundMessage.filter(id__in=ids).update(**claimed)
            for m in rows:
                m.status, m.claim_token, m.claimed_until = MessageStatus.SENDING, token, until
                m.attempts += 1
            return rows
        ids = [m.id for m in await self._due(stale, fresh, lock=False, only_ids=True)]
        if not ids:
            return []
        await OutboundMessage.filter(Q(id__in=ids) & (stale | fresh)).update(**claimed)
        claimed_rows = OutboundMessage.filter(id__in=ids, claim_token=token).only(*SEND_FIELDS)
        return await claimed_rows.order_by("id")

    async def _due(
        self, stale: Q, fresh: Q, *, lock: bool, only_ids: bool = False
    ) -> list[OutboundMessage]:
        """Lapsed claims first (oldest work), then queued messages by due time.

        Two simple queries rather than one OR: each follows the (status, next_attempt_at)
        index, so a table full of sent messages is never scanned.
        """
        found: list[OutboundMessage] = []
        for condition in (stale, fresh):
            query = OutboundMessage.filter(condition).order_by("next_attempt_at", "id")
            query = query.limit(self.batch_size - len(found))
            if lock:
                query = query.select_for_update(skip_locked=True)
            query = query.only("id") if only_ids else query.only(*SEND_FIELDS)
            found.extend(await query)
            if len(found) >= self.batch_size:
                break
        return found

    # ------------------------------------------------------------------ outages

    async def server_reachable(self) -> bool:
        """True unless the server is known unreachable; then one probe when it is due."""
        if self.outage_since is None or self.pool is None:
            return True
        now = self.clock()
        if self.next_probe_at is not None and now < self.next_probe_at:
            return False
        error = await self.pool.probe()
        if error:
            self._unreachable(error)
            return False
        log.warning(
            "serveur d'envoi de nouveau joignable (injoignable pendant %d s) : l'envoi reprend",
            (now - self.outage_since).total_seconds(),
        )
        self.outage_since = self.next_probe_at = None
        self.failed_probes = 0
        return True

    def _unreachable(self, error: str) -> None:
        now = self.clock()
        if self.outage_since is None:
            self.outage_since = now
            self.failed_probes = 0
            log.warning(
                "serveur d'envoi injoignable (%s) : l'envoi est suspendu, sans tentative "
                "comptée; nouvel essai d'une connexion à la fois, au plus toutes les %d s",
                error,
                self.probe_cap,
            )
        self.failed_probes += 1
        delay = _doubling(self.probe_base, self.probe_cap, self.failed_probes)
        self.next_probe_at = now + timedelta(seconds=delay)

    # ------------------------------------------------------------------ one batch

    async def run_once(self) -> int:
        """Claim and process one batch; the number of messages handled (0 = nothing due,
        or the server is unreachable and its next probe is not due yet)."""
        if self.pool is None or not await self.server_reachable():
            return 0
        messages = await self.claim()
        if not messages:
            return 0
        await self.deliver(Batch(str(messages[0].claim_token), messages))
        return len(messages)

    async def deliver(self, batch: Batch) -> None:
        assert self.pool is not None
        recorder = asyncio.create_task(self._record(batch))
        heartbeat = asyncio.create_task(self._heartbeat(batch))
        try:
            envelopes: list[Envelope] = []
            for message in batch.messages.values():
                try:
                    data = mime_bytes(build_mime(message, self.settings))
                except Exception as exc:  # noqa: BLE001 - a message that cannot be built is refused
                    log.exception("message %s cannot be built", message.id)
                    batch.add(message.id, Result(Outcome.PERMANENT, f"{type(exc).__name__}: {exc}"))
                    continue
                envelopes.append(Envelope(message.id, self.sender, message.to_address, data))

            def skip(key: int) -> bool:
                return key in batch.lost or (self.stop is not None and self.stop.is_set())

            if envelopes:
                await self.pool.send_many(envelopes, on_result=batch.add, skip=skip)
            for key in batch.messages.keys() - batch.answered - batch.lost:
                batch.add(key, NOT_SENT)
            batch.close()
            await recorder
        finally:
            for task in (heartbeat, recorder):
                task.cancel()
            await asyncio.gather(heartbeat, recorder, return_exceptions=True)
        if batch.unreachable:
            self._unreachable(batch.unreachable)

    async def _record(self, batch: Batch) -> None:
        """Write outcomes as they come: whatever arrived during one write goes in the next."""
        while True:
            await batch.wake.wait()
            batch.wake.clear()
            while batch.pending:
                items, batch.pending = batch.pending, []
                await self._write_with_retries(batch, items)
            if batch.closed and not batch.pending:
                return

    async def _write_with_retries(self, batch: Batch, items: list[tuple[int, Result]]) -> None:
        for attempt in range(WRITE_TRIES):
            try:
                await self.record(batch, items)
                return
            except Exception:  # noqa: BLE001 - the database may come back in a moment
                if attempt == WRITE_TRIES - 1:
                    # The claims lapse and the messages are taken again (sent ones twice).
                    log.exception("résultats d'envoi non enregistrés : %d courriels", len(items))
                    return
                await asyncio.sleep(0.2 * 2**attempt)

    async def record(self, batch: Batch, items: list[tuple[int, Result]]) -> None:
        now = self.clock()
        sent: list[int] = []
        failed: dict[str, list[int]] = defaultdict(list)
        dead: dict[str, list[int]] = defaultdict(list)
        retry: dict[tuple[int, str], list[int]] = defaultdict(list)
        given_back: dict[str, list[int]] = defaultdict(list)
        for key, result in items:
            message = batch.messages[key]
            if result.outcome is Outcome.SENT:
                sent.append(key)
            elif result.outcome is Outcome.PERMANENT:
                failed[result.error].append(key)
            elif result.outcome is Outcome.UNREACHABLE:
                given_back[result.error].append(key)
            elif message.attempts >= self.max_attempts:
                dead[result.error].append(key)
            else:
                retry[(message.attempts, result.error)].append(key)
        released = {"claimed_until": None, "claim_token": None}

        def ours(ids: list[int]) -> QuerySet[OutboundMessage]:
            # Only while this batch still holds the claim (a message another worker took
            # over is left to it); a sent message is recorded as sent in any case.
            return OutboundMessage.filter(id__in=ids, claim_token=batch.token)

        if not (failed or dead or retry or given_back):
            async with batch.lock:  # the usual case: one statement, no transaction
                await mark_sent(sent, now)
            batch.unwritten.difference_update(sent)
            return
        async with batch.lock, in_transaction():
            if sent:
                await mark_sent(sent, now)
            for error, ids in failed.items():
                await ours(ids).update(status=MessageStatus.FAILED, last_error=error, **released)
            for error, ids in dead.items():
                await ours(ids).update(status=MessageStatus.DEAD, last_error=error, **released)
            for (attempts, error), ids in retry.items():
                await ours(ids).update(
                    status=MessageStatus.QUEUED,
                    next_attempt_at=now + self.backoff(attempts),
                    last_error=error,
                    **released,
                )
            for error, ids in given_back.items():
                # The server said nothing about these messages: the claim's attempt is
                # taken back and they keep their place in the queue.
                changes = {"last_error": error} if error else {}
                await ours(ids).update(
                    status=MessageStatus.QUEUED,
                    attempts=F("attempts") - 1,
                    **changes,
                    **released,
                )
        batch.unwritten.difference_update(key for key, _result in items)
        if failed or dead or retry:
            log.warning(
                "courriels : %d envoyés, %d refusés, %d abandonnés, %d à réessayer",
                len(sent),
                sum(map(len, failed.values())),
                sum(map(len, dead.values())),
                sum(map(len, retry.values())),
            )

    async def _heartbeat(self, batch: Batch) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_every)
            try:
                await self.extend_claims(batch)
            except Exception:  # noqa: BLE001 - a missed beat is not fatal, the next may pass
                log.exception("prolongation des réservations de courriels en échec")

    async def extend_claims(self, batch: Batch) -> None:
        """Push back the lease of the batch's messages not yet recorded."""
        async with batch.lock:
            ids = sorted(batch.unwritten - batch.lost)
            if not ids:
                return
            held = OutboundMessage.filter(
                id__in=ids, claim_token=batch.token, status=MessageStatus.SENDING
            )
            kept = await held.update(claimed_until=self.clock() + self.lease)
            if kept == len(ids):
                return
            still = set(await held.values_list("id", flat=True))
            lost = set(ids) - still
            batch.lost |= lost
        log.warning(
            "%d courriels repris par un autre travailleur : ils ne partent pas d'ici", len(lost)
        )

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()


async def run_worker(
    settings: Settings,
    stop: asyncio.Event,
    *,
    backoff_base: float = DEFAULT_BACKOFF_BASE,
    lease_seconds: float | None = None,
) -> None:
    """Deliver queued mail until `stop` is set (in the server or `rassembleur worker`)."""
    worker = MailWorker(settings, backoff_base=backoff_base, lease_seconds=lease_seconds, stop=stop)
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
