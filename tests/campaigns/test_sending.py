"""Campaign sending through the outbox and a real SMTP server (aiosmtpd on loopback)."""

# ruff: noqa: F811 - the SMTP fixtures come from tests.mail
from __future__ import annotations

import re
from collections import Counter

import pytest

from campaigns import sending, service
from campaigns.audiences import create_audience
from campaigns.models import CampaignRecipient, CampaignStatus, RecipientStatus
from campaigns.schemas import AudienceIn, CampaignIn
from core.auth import Principal
from core.errors import Conflict
from core.mail.worker import MailWorker
from core.models import MessageStatus, OutboundMessage
from people.models import Consent
from tests.campaigns import factories as f
from tests.campaigns.factories import many_people
from tests.mail import SMTPServer, mail_settings, smtp_server  # noqa: F401

SYSTEM = Principal.system("tests")


async def invitation(event_id: int, audience_id: int) -> int:
    campaign = await service.create_campaign(
        SYSTEM,
        CampaignIn(
            kind="invitation",
            name="Lancement 2027",
            audience_id=audience_id,
            event_id=event_id,
            subject_fr="Invitation : {{ evenement }}, {{ prenom }}",
            body_fr="Bonjour {{ prenom }},\n\nVous êtes invité·e à **{{ evenement }}**, "
            "le {{ evenement_date }} ({{ evenement_lieu }}).",
            subject_en="Invitation: {{ evenement }}, {{ prenom }}",
            body_en="Hello {{ prenom }},\n\nYou are invited to **{{ evenement }}**.",
        ),
    )
    return campaign.id


async def drain(worker: MailWorker) -> int:
    total = 0
    while handled := await worker.run_once():
        total += handled
    return total


def _subject(message) -> str:
    return str(message["Subject"]).strip()  # decoded (folding may leave a leading space)


@pytest.mark.slow
async def test_500_invitations_delivered_once_each_personal_and_in_language(
    mail_settings, smtp_server
):
    people = await many_people(500)
    ev = await f.event("Lancement du portrait")
    audience = await create_audience(SYSTEM, AudienceIn(name="Tous"))
    campaign_id = await invitation(ev.id, audience.id)

    sent = await service.send(SYSTEM, campaign_id)
    assert sent.status == CampaignStatus.SENDING
    assert await OutboundMessage.all().count() == 0  # nothing queued in the request
    assert await sending.run_due_campaigns(mail_settings) == 500
    assert (await service.get_campaign(SYSTEM, campaign_id)).status == CampaignStatus.SENT
    # The upkeep again: nothing more.
    assert await sending.run_due_campaigns(mail_settings) == 0

    worker = MailWorker(mail_settings)
    try:
        assert await drain(worker) == 500
    finally:
        await worker.close()
    received = smtp_server.sink.received
    assert len(received) == 500
    recipients = [r.rcpt_tos[0] for r in received]
    assert len(set(recipients)) == 500
    language_of = {p.email: p.language for p in people}
    first_name_of = {p.email: p.first_name for p in people}
    links = set()
    for item in received:
        message = item.message
        to = item.rcpt_tos[0]
        header = message["List-Unsubscribe"]
        url = re.search(r"<(https?://[^>]+)>", header).group(1)
        assert "mailto:" in header
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        links.add(url)
        subject = _subject(message)
        if language_of[to] == "en":
            assert subject == f"Invitation: Lancement du portrait, {first_name_of[to]}"
        else:
            assert subject == f"Invitation : Lancement du portrait, {first_name_of[to]}"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert url in text and url in html
        assert "<strong>Lancement du portrait</strong>" in html
    assert len(links) == 500
    progress = await service.progress(campaign_id)
    assert (progress.recipients, progress.sent, progress.queued) == (500, 500, 0)


async def test_pause_then_resume_sends_nothing_twice(mail_settings, smtp_server, monkeypatch):
    monkeypatch.setattr(sending, "BATCH_SIZE", 10)
    await many_people(30, "pause")
    ev = await f.event()
    audience = await create_audience(SYSTEM, AudienceIn(name="Tous"))
    campaign_id = await invitation(ev.id, audience.id)
    await service.send(SYSTEM, campaign_id)
    assert await sending.process(mail_settings, campaign_id, max_batches=1) == 10

    worker = MailWorker(mail_settings.with_(mail_batch_size=4))
    try:
        assert await worker.run_once() == 4  # 4 delivered, 6 still waiting in the outbox
        paused = await service.pause(SYSTEM, campaign_id)
        assert paused.status == CampaignStatus.PAUSED
        # The 6 unsent messages were taken back; their recipients are pending again.
        assert await OutboundMessage.filter(status=MessageStatus.QUEUED).count() == 0
        assert await CampaignRecipient.filter(status=RecipientStatus.PENDING).count() == 26
        assert await sending.run_due_campaigns(mail_settings) == 0  # paused: nothing queued
        with pytest.raises(Conflict) as caught:
            await service.pause(SYSTEM, campaign_id)
        assert caught.value.code == "illegal_transition"
        assert "en pause" in caught.value.message

        await service.resume(SYSTEM, campaign_id)
        assert await sending.run_due_campaigns(mail_settings) == 26
        assert await drain(worker) == 26
    finally:
        await worker.close()
    counts = Counter(r.rcpt_tos[0] for r in smtp_server.sink.received)
    assert len(counts) == 30 and set(counts.values()) == {1}
    assert (await service.get_campaign(SYSTEM, campaign_id)).status == CampaignStatus.SENT


async def test_unsubscribe_between_batches_applies_at_once(settings, monkeypatch):
    monkeypatch.setattr(sending, "BATCH_SIZE", 5)
    people = await many_people(10, "unsub")
    ev = await f.event()
    audience = await create_audience(SYSTEM, AudienceIn(name="Tous"))
    campaign_id = await invitation(ev.id, audience.id)
    await service.send(SYSTEM, campaign_id)
    assert await sending.process(settings, campaign_id, max_batches=1) == 5
    queued = set(await OutboundMessage.all().values_list("person_id", flat=True))
    late = next(p for p in people if p.id not in queued)
    await Consent.create(
        person=late, purpose="event_communications", granted=False, source="unsubscribe"
    )
    await sending.process(settings, campaign_id)
    assert await OutboundMessage.all().count() == 9
    skipped = await CampaignRecipient.get(campaign_id=campaign_id, person_id=late.id)
    assert skipped.status == RecipientStatus.SKIPPED


async def test_cancel_takes_back_unsent_messages_and_is_final(settings):
    await many_people(3, "cancel")
    ev = await f.event()
    audience = await create_audience(SYSTEM, AudienceIn(name="Tous"))
    campaign_id = await invitation(ev.id, audience.id)
    await service.send(SYSTEM, campaign_id)
    assert await sending.process(settings, campaign_id, max_batches=1) == 3
    await service.cancel(SYSTEM, campaign_id)
    assert await OutboundMessage.all().count() == 0
    with pytest.raises(Conflict):
        await service.resume(SYSTEM, campaign_id)


async def test_resolution_and_queuing_run_again_add_nothing(settings, monkeypatch):
    """A worker killed after resolving, or between batches, resumes without duplicates."""
    monkeypatch.setattr(sending, "BATCH_SIZE", 7)
    await many_people(20, "crash")
    ev = await f.event()
    audience = await create_audience(SYSTEM, AudienceIn(name="Tous"))
    campaign_id = await invitation(ev.id, audience.id)
    await service.send(SYSTEM, campaign_id)
    campaign = await service.get_campaign(SYSTEM, campaign_id)
    assert await sending.resolve(campaign) == 20
    assert await sending.resolve(campaign) == 20  # again, as after a crash
    assert await CampaignRecipient.filter(campaign_id=campaign_id).count() == 20
    assert await sending.process(settings, campaign_id, max_batches=2) == 14
    # A second upkeep process takes over: only the remaining 6 are queued.
    assert await sending.run_due_campaigns(settings) == 6
    keys = await OutboundMessage.all().values_list("dedupe_key", flat=True)
    assert len(keys) == len(set(keys)) == 20
