"""Mail under faults, over a real SMTP server (aiosmtpd on loopback): the server down for
an hour or lost mid-batch, a slow server and a second worker, a worker stopped or killed
with SIGKILL in the middle of a batch."""

# ruff: noqa: F811 - the SMTP fixtures come from tests.mail
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from core.mail.worker import MailWorker, run_worker, utcnow
from core.models import MessageStatus, OutboundMessage
from tests.mail import SMTPServer, mail_settings, smtp_server, wait_until  # noqa: F401
from tests.mail.test_worker import drain, queue_many, statuses

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """The worker's clock, moved by the test (the outbox's due times are real times)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class CountedProbes:
    """Records when the worker's pool probes the server (the real probe still runs)."""

    def __init__(self, worker: MailWorker, clock: Clock) -> None:
        assert worker.pool is not None
        self.at: list = []
        probe = worker.pool.probe

        async def counted() -> str:
            self.at.append(clock.now)
            return await probe()

        worker.pool.probe = counted  # type: ignore[method-assign]


async def attempts() -> set[int]:
    return set(await OutboundMessage.all().values_list("attempts", flat=True))


async def test_an_hour_of_outage_burns_no_attempt_and_kills_nothing(settings, smtp_server):
    smtp_server.stop()
    mail_settings = settings.with_(smtp_url=smtp_server.url, mail_max_attempts=3)
    await queue_many(mail_settings, 20)
    clock = Clock()
    worker = MailWorker(mail_settings, backoff_base=1, clock=clock)
    probes = CountedProbes(worker, clock)
    try:
        handled = 0
        for _ in range(3600):  # an hour, the worker polling every second
            handled += await worker.run_once()
            clock.advance(1)
        # One batch found the server down; after that, only probes (no claim).
        assert handled == 20
        assert await statuses() == {MessageStatus.QUEUED: 20}
        assert await attempts() == {0}
        gaps = [(b - a).total_seconds() for a, b in zip(probes.at, probes.at[1:], strict=False)]
        assert gaps[:5] == sorted(gaps[:5]) and gaps[0] <= 3  # 1 s, 2 s, 4 s, ...
        assert 30 <= max(gaps) <= 34  # ... then every 30 s (+ jitter, + the poll step)
        assert len(probes.at) >= 3600 / 34
        smtp_server.start()
        clock.advance(34)  # past the next probe
        assert await drain(worker) == 20
    finally:
        await worker.close()
    assert await statuses() == {MessageStatus.SENT: 20}
    assert await attempts() == {1}
    assert Counter(smtp_server.sink.message_ids()).most_common(1)[0][1] == 1
    assert smtp_server.sink.count() == 20


async def test_server_lost_mid_batch_gives_back_the_rest(settings, smtp_server):
    smtp_server.sink.delay = 0.05
    mail_settings = settings.with_(smtp_url=smtp_server.url, mail_pool_size=1)
    await queue_many(mail_settings, 30)
    clock = Clock()
    worker = MailWorker(mail_settings, clock=clock)
    try:
        task = asyncio.create_task(worker.run_once())

        async def some_received():
            return smtp_server.sink.count() >= 5

        await wait_until(some_received)
        smtp_server.stop()
        assert await task == 30
        received = smtp_server.sink.count()
        assert 5 <= received < 30
        # Those the server accepted are sent; the others are back in the queue, with no
        # attempt counted (the server said nothing about them).
        counts = await statuses()
        assert counts[MessageStatus.SENT] >= received - 1
        assert counts[MessageStatus.SENT] + counts[MessageStatus.QUEUED] == 30
        waiting = await OutboundMessage.filter(status=MessageStatus.QUEUED)
        assert {m.attempts for m in waiting} == {0}
        assert all(m.claim_token is None for m in waiting)
        assert worker.outage_since is not None
        smtp_server.start()
        clock.advance(60)
        await drain(worker)
    finally:
        await worker.close()
    ids = Counter(smtp_server.sink.message_ids())
    assert len(ids) == 30 and sum(ids.values()) - 30 <= 1
    assert await statuses() == {MessageStatus.SENT: 30}
    assert await attempts() == {1}


async def test_4xx_and_5xx_answers_count_but_outages_between_them_do_not(settings, smtp_server):
    mail_settings = settings.with_(smtp_url=smtp_server.url, mail_max_attempts=3)
    await queue_many(mail_settings, 3)
    smtp_server.sink.tempfail = {"m0@exemple.qc.ca"}
    smtp_server.sink.permfail = {"m1@exemple.qc.ca"}
    clock = Clock()
    worker = MailWorker(mail_settings, backoff_base=1, clock=clock)
    try:
        assert await worker.run_once() == 3  # one sent, one 451, one 550
        for _ in range(4):
            smtp_server.stop()
            clock.advance(5)
            await worker.run_once()  # finds the server down, gives the message back
            smtp_server.start()
            clock.advance(60)
            await worker.run_once()  # probe, then a 451 again (until dead)
    finally:
        await worker.close()
    busy = await OutboundMessage.get(to_address="m0@exemple.qc.ca")
    assert busy.status == MessageStatus.DEAD
    assert busy.attempts == 3
    assert smtp_server.sink.tempfailed == ["m0@exemple.qc.ca"] * 3  # dead after 3 answers
    assert busy.last_error.startswith("451")
    refused = await OutboundMessage.get(to_address="m1@exemple.qc.ca")
    assert refused.attempts == 1 and refused.last_error.startswith("550")
    assert await statuses() == {
        MessageStatus.SENT: 1,
        MessageStatus.DEAD: 1,
        MessageStatus.FAILED: 1,
    }


async def test_heartbeat_keeps_a_long_batch_from_a_second_worker(settings, smtp_server):
    smtp_server.sink.delay = 0.3  # a slow server: the batch outlasts three leases
    mail_settings = settings.with_(smtp_url=smtp_server.url, mail_pool_size=1, mail_batch_size=10)
    await queue_many(mail_settings, 10)
    first = MailWorker(mail_settings, lease_seconds=1)
    second = MailWorker(mail_settings, lease_seconds=1)
    try:
        task = asyncio.create_task(first.run_once())

        async def first_has_claimed():
            return await OutboundMessage.filter(status=MessageStatus.SENDING).count() == 10

        await wait_until(first_has_claimed)
        taken_by_second = 0
        while not task.done():
            taken_by_second += await second.run_once()
            await asyncio.sleep(0.05)
        assert await task == 10
    finally:
        await first.close()
        await second.close()
    assert taken_by_second == 0
    assert smtp_server.sink.count() == 10
    assert len(set(smtp_server.sink.message_ids())) == 10
    assert await statuses() == {MessageStatus.SENT: 10}


async def test_a_claim_taken_over_is_not_sent_by_the_stalled_worker(mail_settings, smtp_server):
    from core.mail.worker import Batch

    await queue_many(mail_settings, 4)
    stalled = MailWorker(mail_settings, lease_seconds=5)
    messages = await stalled.claim()
    # The stalled worker missed its heartbeats: its claims lapsed and another took them.
    other = MailWorker(mail_settings, clock=lambda: utcnow() + timedelta(seconds=6))
    try:
        taken = await other.claim()
        assert {m.id for m in taken} == {m.id for m in messages}
        batch = Batch(str(messages[0].claim_token), messages)
        await stalled.extend_claims(batch)
        assert batch.lost == {m.id for m in messages}
        await stalled.deliver(batch)
        assert smtp_server.sink.count() == 0
        await other.deliver(Batch(str(taken[0].claim_token), taken))
    finally:
        await stalled.close()
        await other.close()
    assert smtp_server.sink.count() == 4
    assert await statuses() == {MessageStatus.SENT: 4}


async def test_stop_during_a_batch_gives_back_the_rest_at_once(mail_settings, smtp_server):
    smtp_server.sink.delay = 0.05
    settings = mail_settings.with_(mail_pool_size=1, mail_lease_seconds=600)
    await queue_many(settings, 40)
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop))

    async def some_received():
        return smtp_server.sink.count() >= 3

    await wait_until(some_received)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    received = smtp_server.sink.count()
    assert received < 40
    counts = await statuses()
    assert counts[MessageStatus.SENT] == received
    assert counts[MessageStatus.QUEUED] == 40 - received  # not left "sending" for 10 min
    waiting = await OutboundMessage.filter(status=MessageStatus.QUEUED)
    assert {m.attempts for m in waiting} == {0}
    assert all(m.claimed_until is None for m in waiting)


async def test_worker_killed_mid_batch_sends_at_most_one_twice(settings, smtp_server):
    """A real worker process (`python -m cli worker`) killed with SIGKILL in the middle of
    a batch: the server had accepted 20 messages of the batch and was taking the 21st.
    The 20 are recorded as sent; a second worker sends the rest, and only the 21st (the
    server kept it; the killed worker never learned) goes twice."""
    sink = smtp_server.sink
    sink.hold_after = 20
    mail_settings = settings.with_(smtp_url=smtp_server.url)
    await queue_many(mail_settings, 60)
    env = dict(
        os.environ,
        DATABASE_URL=settings.database_url,
        SMTP_URL=smtp_server.url,
        MAIL_BATCH_SIZE="50",
        MAIL_POOL_SIZE="2",
        MAIL_LEASE_SECONDS="2",
        MAIL_POLL_INTERVAL="0.05",
        ENV="test",
        SECRET_KEY=settings.secret_key,
        BASE_URL=settings.base_url,
        VAR_DIR=str(settings.var_dir),
    )
    worker = subprocess.Popen(  # noqa: S603, ASYNC220 - a real process, to kill
        [sys.executable, "-m", "cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        async def holding():
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            return sink.holding >= 1

        async def accepted_recorded():
            return await OutboundMessage.filter(status=MessageStatus.SENT).count() >= 20

        await wait_until(holding)
        await wait_until(accepted_recorded, within=20)
        worker.send_signal(signal.SIGKILL)
        await asyncio.to_thread(worker.wait, 30)
    finally:
        if worker.poll() is None:
            worker.kill()
        if worker.stderr:
            worker.stderr.close()
    sink.release()
    assert await OutboundMessage.filter(status=MessageStatus.SENT).count() == 20

    async def all_sent():
        return await OutboundMessage.filter(status=MessageStatus.SENT).count() == 60

    stop = asyncio.Event()
    second = asyncio.create_task(run_worker(mail_settings, stop))
    try:
        await wait_until(all_sent)
    finally:
        stop.set()
        await second
    ids = Counter(sink.message_ids())
    assert len(ids) == 60  # none lost
    assert sum(ids.values()) - 60 <= 1  # at most the one in flight, twice
    assert await statuses() == {MessageStatus.SENT: 60}
