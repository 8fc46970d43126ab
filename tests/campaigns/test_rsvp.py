"""Invitations with RSVP: personal signed links, yes → registration, no → decline,
reminder only to those who did not answer."""

from __future__ import annotations

import re

from campaigns import rsvp, sending, service
from campaigns.audiences import create_audience
from campaigns.models import CampaignRecipient, Rsvp
from campaigns.schemas import AudienceIn, CampaignIn
from core.auth import Principal
from core.models import OutboundMessage
from events.models import Event, Visibility
from registrations.models import Registration, RegistrationSource, RegistrationStatus
from tests.campaigns import factories as f
from tests.conftest import csrf_from

SYSTEM = Principal.system("tests")


async def _invite(settings, people, ev) -> int:
    audience = await create_audience(SYSTEM, AudienceIn(name="Invités"))
    campaign = await service.create_campaign(
        SYSTEM,
        CampaignIn(
            kind="invitation",
            name="Lancement",
            audience_id=audience.id,
            event_id=ev.id,
            subject_fr="Invitation",
            body_fr="Bonjour {{ prenom }}, répondez ici : {{ lien_rsvp }}",
        ),
    )
    await service.send(SYSTEM, campaign.id)
    await sending.run_due_campaigns(settings)
    return campaign.id


async def _link(person) -> str:
    message = await OutboundMessage.get(person_id=person.id, cause_type="campaign")
    links = set(re.findall(r"http://testserver(/rsvp/[A-Za-z0-9._-]+)", message.text_body))
    assert len(links) == 1, message.text_body
    return links.pop()


async def test_yes_registers_no_declines_and_reminder_goes_to_the_others(client, settings):
    ana, bob, cleo, dan = [await f.person(n) for n in ("Ana", "Bob", "Cléo", "Dan")]
    ev = await f.event("Lancement privé")
    await Event.filter(id=ev.id).update(visibility=Visibility.PRIVATE)  # invitation only
    campaign_id = await _invite(settings, [ana, bob, cleo, dan], ev)

    link = await _link(ana)
    page = await client.get(link)
    assert page.status_code == 200 and "J'y serai" in page.text
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
    assert (await client.get(tampered)).status_code == 404
    assert (await client.get("/rsvp/999.abc")).status_code == 404

    token = csrf_from(page.text)
    form = await client.post(link, data={"csrf_token": token, "answer": "yes"})
    assert form.status_code == 200 and "Confirmer mon inscription" in form.text
    done = await client.post(f"{link}/register", data={"csrf_token": token, "clientele": "schools"})
    assert done.status_code == 303 and done.headers["location"].startswith("/manage/")
    registration = await Registration.get(person_id=ana.id, event_id=ev.id)
    assert registration.source == RegistrationSource.INVITATION
    assert registration.status == RegistrationStatus.CONFIRMED
    recipient = await CampaignRecipient.get(campaign_id=campaign_id, person_id=ana.id)
    assert (recipient.rsvp, recipient.registration_id) == (Rsvp.YES, registration.id)

    declined = await client.post(await _link(bob), data={"csrf_token": token, "answer": "no"})
    assert declined.status_code == 200 and "Merci" in declined.text
    assert (await CampaignRecipient.get(campaign_id=campaign_id, person_id=bob.id)).rsvp == Rsvp.NO
    assert await Registration.filter(person_id=bob.id).count() == 0
    assert await rsvp.answers(campaign_id) == {
        "invited": 4,
        "accepted": 1,
        "declined": 1,
        "no_answer": 2,
    }

    reminder = await service.create_campaign(
        SYSTEM,
        CampaignIn(
            kind="reminder",
            name="Rappel",
            follows_id=campaign_id,
            event_id=ev.id,
            subject_fr="Rappel",
            body_fr="Toujours partant·e? {{ lien_rsvp }}",
        ),
    )
    await service.send(SYSTEM, reminder.id)
    assert await sending.run_due_campaigns(settings) == 2
    reminded = await OutboundMessage.filter(
        cause_type="campaign", cause_id=str(reminder.id)
    ).values_list("person_id", flat=True)
    assert sorted(reminded) == sorted([cleo.id, dan.id])
    # The reminder carries the invitation's own RSVP link.
    text = (
        await OutboundMessage.get(
            cause_type="campaign", cause_id=str(reminder.id), person_id=cleo.id
        )
    ).text_body
    first = (
        await OutboundMessage.get(
            cause_type="campaign", cause_id=str(campaign_id), person_id=cleo.id
        )
    ).text_body
    assert re.search(r"/rsvp/\S+", text).group(0) == re.search(r"/rsvp/\S+", first).group(0)


async def test_event_page_shows_invitation_answers(client, settings):
    from core.models import Role
    from tests.conftest import login

    ana, bob = await f.person("Ana"), await f.person("Bob")
    ev = await f.event("Colloque")
    campaign_id = await _invite(settings, [ana, bob], ev)
    await rsvp.answer(settings, (await _link(bob)).rsplit("/", 1)[1], Rsvp.NO)
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/events/{ev.id}")
    assert page.status_code == 200
    assert "2 invité(s) · 0 oui · 1 non · 1 sans réponse" in page.text
    assert f"/admin/campaigns/{campaign_id}" in page.text
