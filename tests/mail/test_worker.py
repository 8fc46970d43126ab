"""Delivery over a real SMTP server (aiosmtpd on loopback): batches, retries, crashes."""

# ruff: noqa: F811 - the SMTP fixtures come from tests.mail
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
from tortoise.transactions import in_transaction

from core.mail.outbox import queue_mail
from core.mail.smtp import RateLimiter, parse_smtp_url
from core.mail.worker import MailWorker, run_worker, utcnow
from core.models import MessageStatus, OutboundMessage
from tests.mail import SMTPServer, mail_settings, smtp_server, wait_until  # noqa: F401

NOW = datetime(2027, 2, 16, 14, 0, tzinfo=UTC)


async def queue_many(settings, n, prefix="m", attachments=None):
    async with in_transaction():
        return [
            await queue_mail(
                to_address=f"{prefix}{i}@exemple.qc.ca",
                to_name=f"Élodie Gagnon {i}",
                template="test",
                context={"queued_at": NOW},
                dedupe_key=f"{prefix}:{i}",
                attachments=attachments,
                settings=settings,
            )
            for i in range(n)
        ]


async def drain(worker, rounds=1000):
    total = 0
    for _ in range(rounds):
        handled = await worker.run_once()
        if handled == 0:
            return total
        total += handled
    raise AssertionError("the worker never ran out of due messages")


def later(hours=2):
    return lambda: utcnow() + timedelta(hours=hours)


async def statuses():
    return Counter(await OutboundMessage.all().values_list("status", flat=True))


async def test_200_messages_delivered_once_with_headers_and_bodies(mail_settings, smtp_server):
    attachment = {"filename": "billet.ics", "content_type": "text/calendar", "data": b"BEGIN:VC"}
    queued = await queue_many(mail_settings, 200, attachments=[attachment])
    worker = MailWorker(mail_settings)
    try:
        assert await drain(worker) == 200
    finally:
        await worker.close()
    sink = smtp_server.sink
    assert sink.count() == 200
    by_id = {m.message_id: m for m in queued}
    assert sorted(sink.message_ids()) == sorted(by_id)
    peers = {r.peer for r in sink.received}
    assert len(peers) <= mail_settings.mail_pool_size  # connections are reused
    for received in sink.received:
        stored = by_id[received.message_id]
        assert received.rcpt_tos == [stored.to_address]
        assert received.mail_from == "no-reply@rassembleur.local"
        msg = received.message
        assert str(msg["From"]) == mail_settings.mail_from
        assert msg["To"].addresses[0].addr_spec == stored.to_address
        assert msg["To"].addresses[0].display_name == stored.to_name
        raw_subject = re.search(rb"\r\nSubject: (.*?)\r\n(?![ \t])", received.data, re.S)
        assert raw_subject is not None
        encoded = raw_subject.group(1).decode("ascii")  # non-ASCII subject is encoded
        assert "=?utf-8?" in encoded
        assert str(make_header(decode_header(encoded))).replace("\r\n", "") == stored.subject
        assert msg["Date"].datetime is not None
        assert msg.get_content_type() == "multipart/mixed"
        alternative = next(p for p in msg.walk() if p.get_content_type() == "multipart/alternative")
        parts = {p.get_content_type(): p for p in alternative.iter_parts()}
        text, html = parts["text/plain"].get_content(), parts["text/html"].get_content()
        assert text.replace("\r\n", "\n").strip() == stored.text_body.strip()
        assert mail_settings.mail_sender_address in text
        assert mail_settings.mail_sender_address in html
        assert f"Bonjour {stored.to_name}," in html
        files = [p for p in msg.walk() if p.get_filename() == "billet.ics"]
        assert len(files) == 1 and files[0].get_content_type() == "text/calendar"
    assert await statuses() == {MessageStatus.SENT: 200}
    sent = await OutboundMessage.all()
    assert all(m.attempts == 1 and m.sent_at is not None for m in sent)


async def test_smtp_down_messages_wait_untouched_then_go_out(settings, smtp_server):
    smtp_server.stop()
    mail_settings = settings.with_(smtp_url=smtp_server.url)
    due = {m.id: m.next_attempt_at for m in await queue_many(mail_settings, 5)}
    worker = MailWorker(mail_settings)
    try:
        assert await worker.run_once() == 5  # the batch finds the server down
        for message in await OutboundMessage.all():
            assert message.status == MessageStatus.QUEUED
            assert message.attempts == 0  # no answer from the server: no attempt
            assert message.next_attempt_at == due[message.id]  # keeps its place
            assert message.claimed_until is None and message.claim_token is None
            assert "Connect" in message.last_error
        assert worker.outage_since is not None
        assert await worker.run_once() == 0  # no claim until a probe gets through
        smtp_server.start()
        assert await worker.run_once() == 0  # the next probe is not due yet
        worker.clock = later()
        assert await drain(worker) == 5
        assert worker.outage_since is None
    finally:
        await worker.close()
    assert smtp_server.sink.count() == 5
    assert await statuses() == {MessageStatus.SENT: 5}
    assert set(await OutboundMessage.all().values_list("attempts", flat=True)) == {1}


async def test_smtp_restarted_between_batches_reconnects(mail_settings, smtp_server):
    await queue_many(mail_settings, 3, prefix="a")
    worker = MailWorker(mail_settings)
    try:
        assert await drain(worker) == 3
        smtp_server.stop()  # pooled connections are now dead
        smtp_server.start()
        await queue_many(mail_settings, 3, prefix="b")
        assert await drain(worker) == 3
    finally:
        await worker.close()
    assert smtp_server.sink.count() == 6
    assert await statuses() == {MessageStatus.SENT: 6}
    assert set(await OutboundMessage.all().values_list("attempts", flat=True)) == {1}


async def test_4xx_recipients_are_retried_later_and_delivered(mail_settings, smtp_server):
    await queue_many(mail_settings, 6)
    busy = {"m1@exemple.qc.ca", "m4@exemple.qc.ca"}
    smtp_server.sink.tempfail = set(busy)
    worker = MailWorker(mail_settings)
    try:
        assert await worker.run_once() == 6
        assert smtp_server.sink.count() == 4
        waiting = await OutboundMessage.filter(status=MessageStatus.QUEUED)
        assert {m.to_address for m in waiting} == busy
        for message in waiting:
            assert message.attempts == 1
            assert message.last_error.startswith("451")
            assert message.next_attempt_at > utcnow()
        assert await worker.run_once() == 0
        smtp_server.sink.tempfail.clear()
        worker.clock = later()
        assert await drain(worker) == 2
    finally:
        await worker.close()
    assert smtp_server.sink.count() == 6
    assert len(set(smtp_server.sink.message_ids())) == 6
    assert await statuses() == {MessageStatus.SENT: 6}


async def test_5xx_is_failed_and_never_retried(mail_settings, smtp_server):
    await queue_many(mail_settings, 3)
    smtp_server.sink.permfail = {"m2@exemple.qc.ca"}
    worker = MailWorker(mail_settings)
    try:
        assert await drain(worker) == 3
        worker.clock = later(hours=48)
        assert await worker.run_once() == 0
    finally:
        await worker.close()
    failed = await OutboundMessage.get(to_address="m2@exemple.qc.ca")
    assert failed.status == MessageStatus.FAILED
    assert failed.last_error.startswith("550")
    assert failed.attempts == 1
    assert smtp_server.sink.to("m2@exemple.qc.ca") == []
    assert await statuses() == {MessageStatus.SENT: 2, MessageStatus.FAILED: 1}


async def test_dead_after_max_attempts(settings, smtp_server):
    mail_settings = settings.with_(smtp_url=smtp_server.url, mail_max_attempts=3)
    await queue_many(mail_settings, 2)
    smtp_server.sink.tempfail = {"m0@exemple.qc.ca"}
    worker = MailWorker(mail_settings, backoff_base=0)
    try:
        await drain(worker)
        worker.clock = later(hours=48)
        assert await worker.run_once() == 0
    finally:
        await worker.close()
    dead = await OutboundMessage.get(to_address="m0@exemple.qc.ca")
    assert dead.status == MessageStatus.DEAD
    assert dead.attempts == 3
    assert dead.last_error.startswith("451")
    assert await statuses() == {MessageStatus.SENT: 1, MessageStatus.DEAD: 1}


async def test_backoff_grows_and_is_capped(settings):
    worker = MailWorker(settings, backoff_base=30, backoff_cap=3600)
    assert timedelta(seconds=30) <= worker.backoff(1) <= timedelta(seconds=33)
    assert timedelta(seconds=120) <= worker.backoff(3) <= timedelta(seconds=132)
    assert worker.backoff(20) <= timedelta(seconds=3960)
    assert MailWorker(settings, backoff_base=0).backoff(5) == timedelta(0)


async def test_worker_cancelled_mid_run_then_restarted_delivers_all(mail_settings, smtp_server):
    total = 1000
    await queue_many(mail_settings, total)
    sink = smtp_server.sink

    async def sent_at_least(n):
        return sink.count() >= n

    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(mail_settings, stop, lease_seconds=0.5))
    await wait_until(lambda: sent_at_least(300))
    task.cancel()  # like a kill: no clean shutdown
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert sink.count() < total, "the worker finished before it could be interrupted"

    async def all_sent():
        return await OutboundMessage.filter(status=MessageStatus.SENT).count() == total

    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(mail_settings, stop, lease_seconds=0.5))
    try:
        await wait_until(all_sent)
    finally:
        stop.set()
        await task
    ids = Counter(sink.message_ids())
    stored = set(await OutboundMessage.all().values_list("message_id", flat=True))
    assert set(ids) == stored and len(stored) == total  # none lost
    duplicates = sum(ids.values()) - total
    assert duplicates <= mail_settings.mail_batch_size  # only the in-flight batch


async def test_without_smtp_url_nothing_is_sent(settings, caplog):
    await queue_many(settings, 2)
    worker = MailWorker(settings)
    assert not worker.enabled
    assert await worker.run_once() == 0
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="rassembleur.mail"):
        task = asyncio.create_task(run_worker(settings, stop))
        await asyncio.sleep(0.1)
        stop.set()
        await task
    assert sum("SMTP_URL" in r.getMessage() for r in caplog.records) == 1
    assert await statuses() == {MessageStatus.QUEUED: 2}


async def test_rate_limit_spaces_sends():
    slept = []

    async def fake_sleep(seconds):
        slept.append(round(seconds, 6))

    limiter = RateLimiter(10, clock=lambda: 100.0, sleep=fake_sleep)
    for _ in range(3):
        await limiter.acquire()
    assert slept == [0.1, 0.2]
    slept.clear()
    await RateLimiter(0, sleep=fake_sleep).acquire()
    assert slept == []


async def test_rate_limited_worker_still_delivers(settings, smtp_server):
    mail_settings = settings.with_(smtp_url=smtp_server.url, mail_rate_per_second=200)
    await queue_many(mail_settings, 10)
    worker = MailWorker(mail_settings)
    try:
        assert await drain(worker) == 10
    finally:
        await worker.close()
    assert smtp_server.sink.count() == 10


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:1025", ("127.0.0.1", 1025, False, False, None, None)),
        ("smtp://mail.exemple.qc.ca", ("mail.exemple.qc.ca", 25, False, False, None, None)),
        (
            "smtp+starttls://user%40exemple.qc.ca:p%3Ass%2Fw@mail.exemple.qc.ca",
            ("mail.exemple.qc.ca", 587, False, True, "user@exemple.qc.ca", "p:ss/w"),
        ),
        (
            "smtps://u:p@mail.exemple.qc.ca:2465",
            ("mail.exemple.qc.ca", 2465, True, False, "u", "p"),
        ),
    ],
)
def test_smtp_url_forms(url, expected):
    cfg = parse_smtp_url(url)
    assert (cfg.hostname, cfg.port, cfg.use_tls, cfg.start_tls, cfg.username, cfg.password) == (
        expected
    )


def test_smtp_url_bad_scheme():
    with pytest.raises(ValueError, match="SMTP_URL"):
        parse_smtp_url("http://mail.exemple.qc.ca")


async def test_two_workers_share_the_queue_without_duplicates(mail_settings, smtp_server):
    await queue_many(mail_settings, 300)
    settings = mail_settings.with_(mail_batch_size=20)
    workers = [MailWorker(settings), MailWorker(settings)]

    async def run(worker):
        return await drain(worker)

    try:
        counts = await asyncio.gather(*(run(w) for w in workers))
    finally:
        for w in workers:
            await w.close()
    assert sum(counts) == 300
    assert len(smtp_server.sink.message_ids()) == 300
    assert len(set(smtp_server.sink.message_ids())) == 300
