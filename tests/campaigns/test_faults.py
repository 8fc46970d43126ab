"""A 2,000-recipient campaign sent by a real worker process (`python -m cli worker`: the
upkeep resolves and queues the campaign, the mail worker delivers it) to a real SMTP
server (aiosmtpd on loopback), the worker killed with SIGKILL and started again:

(a) while the campaign is being queued (some batches of recipients queued, not all);
(b) in the middle of delivery (the server holding a message when the worker dies).

Every recipient gets the message once; only the message the server was taking when the
worker died (accepted by the server, never recorded) may go twice. The campaign ends
`sent`, every recipient `queued`, nothing dead."""

# ruff: noqa: F811 - the SMTP fixtures come from tests.mail
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from campaigns import service
from campaigns.audiences import create_audience
from campaigns.models import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus
from campaigns.schemas import AudienceIn
from core.models import MessageStatus, OutboundMessage
from core.settings import Settings
from tests.campaigns import factories as f
from tests.campaigns.test_sending import SYSTEM, invitation
from tests.mail import Sink, SMTPServer, smtp_server, wait_until  # noqa: F401
from tests.mail.test_worker import statuses

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 2000
QUEUING_BATCH = 250  # campaigns.sending.BATCH_SIZE, the worker's own


def start_worker(settings: Settings, smtp_url: str) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DATABASE_URL=settings.database_url,
        SMTP_URL=smtp_url,
        MAIL_BATCH_SIZE="50",
        MAIL_POOL_SIZE="2",
        MAIL_LEASE_SECONDS="2",
        MAIL_POLL_INTERVAL="0.05",
        ENV="test",
        SECRET_KEY=settings.secret_key,
        BASE_URL=settings.base_url,
        VAR_DIR=str(settings.var_dir),
    )
    return subprocess.Popen(  # noqa: S603 - a real process, to kill
        [sys.executable, "-m", "cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def alive(worker: subprocess.Popen[bytes]) -> None:
    assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""


async def end(worker: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        if worker.poll() is None:
            worker.send_signal(sig)
            await asyncio.to_thread(worker.wait, 30)
    finally:
        if worker.poll() is None:
            worker.kill()
        if worker.stderr:
            worker.stderr.close()


async def sending_campaign() -> tuple[int, set[str]]:
    people = await f.many_people(RECIPIENTS, "faute")
    ev = await f.event("Lancement du portrait")
    audience = await create_audience(SYSTEM, AudienceIn(name="Tous"))
    campaign_id = await invitation(ev.id, audience.id)
    assert (await service.send(SYSTEM, campaign_id)).status == CampaignStatus.SENDING
    return campaign_id, {str(p.email) for p in people}


async def queued(campaign_id: int) -> int:
    return await CampaignRecipient.filter(
        campaign_id=campaign_id, status=RecipientStatus.QUEUED
    ).count()


async def sent() -> int:
    return await OutboundMessage.filter(status=MessageStatus.SENT).count()


def hold(sink: Sink, after: int) -> None:
    """Hold every message after the first `after` (again, after a release)."""
    with sink.lock:
        sink.released.clear()
        sink.holding = 0
        sink.hold_after = after


async def finish_with_a_new_worker(
    settings: Settings, smtp_server: SMTPServer, campaign_id: int
) -> None:
    worker = start_worker(settings, smtp_server.url)
    try:

        async def all_sent() -> bool:
            alive(worker)
            return await sent() == RECIPIENTS

        await wait_until(all_sent, within=120, step=0.1)
    finally:
        await end(worker, signal.SIGTERM)
    campaign = await Campaign.get(id=campaign_id)
    assert campaign.status == CampaignStatus.SENT


async def check_delivered_once(
    smtp_server: SMTPServer, campaign_id: int, addresses: set[str], kills: int
) -> None:
    received = list(smtp_server.sink.received)
    per_address = Counter(r.rcpt_tos[0] for r in received)
    per_message_id = Counter(r.message_id for r in received)
    assert set(per_address) == addresses  # none lost, nobody else
    assert len(per_message_id) == RECIPIENTS
    # At most the message in flight at each kill went twice; never a third time.
    assert sum(per_address.values()) - RECIPIENTS <= kills
    assert sum(per_message_id.values()) - RECIPIENTS <= kills
    assert max(per_address.values()) <= 2
    assert await statuses() == {MessageStatus.SENT: RECIPIENTS}
    assert await queued(campaign_id) == RECIPIENTS
    progress = await service.progress(campaign_id)
    assert (progress.recipients, progress.sent, progress.queued) == (RECIPIENTS, RECIPIENTS, 0)


async def test_worker_killed_while_the_campaign_is_queued(settings, smtp_server):
    campaign_id, addresses = await sending_campaign()
    # The server holds the first message: delivery waits while the campaign is queued.
    hold(smtp_server.sink, 0)
    worker = start_worker(settings, smtp_server.url)
    try:

        async def some_batches_queued() -> bool:
            alive(worker)
            return await queued(campaign_id) >= 2 * QUEUING_BATCH

        await wait_until(some_batches_queued, within=120)
    finally:
        await end(worker, signal.SIGKILL)
    # Killed between two batches of the queuing (or in one: its transaction is lost).
    done = await queued(campaign_id)
    assert 2 * QUEUING_BATCH <= done < RECIPIENTS
    assert done % QUEUING_BATCH == 0
    assert await OutboundMessage.all().count() == done
    campaign = await Campaign.get(id=campaign_id)
    assert campaign.status == CampaignStatus.SENDING
    assert campaign.resolved_at is not None
    assert await CampaignRecipient.filter(campaign_id=campaign_id).count() == RECIPIENTS
    assert smtp_server.sink.count() == 0
    smtp_server.sink.release()

    await finish_with_a_new_worker(settings, smtp_server, campaign_id)
    await check_delivered_once(smtp_server, campaign_id, addresses, kills=1)


async def test_worker_killed_in_the_middle_of_delivery(settings, smtp_server):
    campaign_id, addresses = await sending_campaign()
    sink = smtp_server.sink
    hold(sink, 700)
    worker = start_worker(settings, smtp_server.url)
    try:

        async def held_and_queued() -> bool:
            alive(worker)
            if sink.holding < 1:
                return False
            return (await Campaign.get(id=campaign_id)).status == CampaignStatus.SENT

        async def accepted_recorded() -> bool:
            return await sent() >= 700

        await wait_until(held_and_queued, within=120)
        await wait_until(accepted_recorded, within=20)
    finally:
        await end(worker, signal.SIGKILL)
    sink.release()
    assert await sent() == 700
    assert await queued(campaign_id) == RECIPIENTS
    assert await OutboundMessage.filter(status=MessageStatus.SENDING).count() > 0

    await finish_with_a_new_worker(settings, smtp_server, campaign_id)
    await check_delivered_once(smtp_server, campaign_id, addresses, kills=1)
