"""Tracking: open pixel (approximate), click redirect only to the campaign's own links."""

from __future__ import annotations

import html
import re

from campaigns import sending, service
from campaigns.audiences import create_audience
from campaigns.models import CampaignRecipient
from campaigns.schemas import AudienceIn, CampaignIn
from core.auth import Principal
from core.models import OutboundMessage
from tests.campaigns import factories as f

SYSTEM = Principal.system("tests")


async def test_open_and_click_are_counted_and_no_open_redirect(client, settings):
    person = await f.person("Léa")
    audience = await create_audience(SYSTEM, AudienceIn(name="Tous"))
    campaign = await service.create_campaign(
        SYSTEM,
        CampaignIn(
            kind="newsletter",
            name="Bulletin",
            audience_id=audience.id,
            subject_fr="Bulletin",
            body_fr="Lisez [le portrait](https://exemple.qc.ca/portrait?a=1&b=2).",
        ),
    )
    # A newsletter needs the newsletter consent.
    from people.models import Consent

    await Consent.create(person=person, purpose="newsletter", granted=True, source="test")
    await service.send(SYSTEM, campaign.id)
    await sending.run_due_campaigns(settings)
    message = await OutboundMessage.get(person_id=person.id, cause_type="campaign")
    pixel = re.search(r'src="http://testserver(/t/o/[^"]+)"', message.html_body).group(1)
    click = html.unescape(
        re.search(r'href="http://testserver(/t/c/[^"]+)"', message.html_body).group(1)
    )
    # The text part keeps the plain link; unsubscribe links are not rewritten.
    assert "https://exemple.qc.ca/portrait?a=1&b=2" in message.text_body
    assert "/unsubscribe/" in message.html_body

    response = await client.get(pixel)
    assert response.status_code == 200 and response.headers["content-type"] == "image/gif"
    response = await client.get(click)
    assert response.status_code == 302
    assert response.headers["location"] == "https://exemple.qc.ca/portrait?a=1&b=2"
    recipient = await CampaignRecipient.get(person_id=person.id)
    assert recipient.opened_at is not None and recipient.clicks == 1

    forged = click.split("?u=")[0] + "?u=https%3A%2F%2Fevil.example"
    assert (await client.get(forged)).status_code == 404
    tampered = pixel.replace(".gif", "").rstrip("A") + "B.gif"
    assert (await client.get(tampered)).status_code == 404
    funnel = (await client.get(f"/api/v1/campaigns/{campaign.id}")).status_code
    assert funnel in (401, 403)  # the figures need a staff account
    figures = await service.progress(campaign.id)
    assert (figures.opened, figures.clicked) == (1, 1)
