"""Campaigns back office: audience builder, editor, preview, actions, history, tags."""

from __future__ import annotations

import re

import pytest

from campaigns import sending
from campaigns.models import Audience, Campaign
from core.models import OutboundMessage, Role
from people.models import PersonTag
from tests.campaigns import factories as f
from tests.conftest import csrf_for, login


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def test_organizer_builds_audience_writes_previews_and_sends(client, settings):
    user = await login(client, Role.ORGANIZER)
    ana = await f.person("Ana", territory="2461", language="en")
    await f.person("Bob", territory="2463")
    ev = await f.event("Colloque régional")
    token = await csrf_for(client)

    page = await client.get("/admin/audiences/new")
    assert page.status_code == 200
    counted = await client.post(
        "/admin/audiences/new",
        data={"csrf_token": token, "name": "Joliette", "territories": "2461", "action": "count"},
    )
    assert counted.status_code == 200
    assert re.search(r"data-count>1<", counted.text)
    assert "Ana" in counted.text and "Bob" not in counted.text
    saved = await client.post(
        "/admin/audiences/new",
        data={"csrf_token": token, "name": "Joliette", "territories": "2461", "action": "save"},
    )
    assert saved.status_code == 303
    audience = await Audience.get(name="Joliette")
    assert audience.filters == {"territories": ["2461"]}

    bad = await client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": token,
            "kind": "invitation",
            "name": "Invitation",
            "audience_id": audience.id,
            "event_id": ev.id,
            "subject_fr": "Bonjour {{ ''.__class__ }}",
            "body_fr": "x",
        },
    )
    assert bad.status_code == 422 and "Gabarit invalide" in bad.text
    created = await client.post(
        "/admin/campaigns/new",
        data={
            "csrf_token": token,
            "kind": "invitation",
            "name": "Invitation",
            "audience_id": audience.id,
            "event_id": ev.id,
            "subject_fr": "Bonjour {{ prenom }}",
            "body_fr": "Venez à **{{ evenement }}**",
            "subject_en": "Hello {{ prenom }}",
            "body_en": "Come to **{{ evenement }}**",
        },
    )
    assert created.status_code == 303, created.text
    campaign = await Campaign.get(name="Invitation")
    detail = await client.get(f"/admin/campaigns/{campaign.id}?person={ana.id}")
    assert detail.status_code == 200
    assert "Hello Ana" in detail.text  # previewed as a real recipient, in her language
    preview = await client.get(f"/admin/campaigns/{campaign.id}/preview?person={ana.id}")
    assert "<strong>Colloque régional</strong>" in preview.text
    assert "sandbox" in preview.headers["content-security-policy"]

    test = await client.post(f"/admin/campaigns/{campaign.id}/test", data={"csrf_token": token})
    assert test.status_code == 303
    trial = await OutboundMessage.get(to_address=user.email)
    assert trial.subject.startswith("[Essai] ") and trial.person_id is None

    sent = await client.post(f"/admin/campaigns/{campaign.id}/send", data={"csrf_token": token})
    assert sent.status_code == 303
    await sending.run_due_campaigns(settings)
    detail = await client.get(f"/admin/campaigns/{campaign.id}")
    assert "ana" in detail.text.lower() and "envoyée" in detail.text
    refused = await client.post(f"/admin/campaigns/{campaign.id}/pause", data={"csrf_token": token})
    assert refused.status_code == 303
    follow = await client.get(f"/admin/campaigns/{campaign.id}")
    assert "Impossible de passer une campagne « envoyée » à « en pause »." in follow.text

    history = await client.get(f"/admin/people/{ana.id}/messages")
    assert history.status_code == 200 and "Hello Ana" in history.text
    assert (await client.get("/admin/campaigns")).status_code == 200


async def test_tags_on_person_and_organization_pages(client):
    await login(client, Role.ORGANIZER)
    token = await csrf_for(client)
    person = await f.person("Tag")
    org = await f.organization("Cégep régional")
    response = await client.post(
        f"/admin/people/{person.id}/tags", data={"csrf_token": token, "tags": "JPS, jps ,Comité"}
    )
    assert response.status_code == 303
    assert await PersonTag.filter(person_id=person.id).count() == 2
    page = await client.get(f"/admin/people/{person.id}")
    assert "Comité" in page.text
    response = await client.post(
        f"/admin/organizations/{org.id}/tags", data={"csrf_token": token, "tags": "Partenaire"}
    )
    assert response.status_code == 303
    assert "Partenaire" in (await client.get(f"/admin/organizations/{org.id}")).text


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.CHECKIN])
async def test_back_office_refuses_reviewers_and_checkin_staff(client, role):
    await login(client, role)
    for path in ("/admin/campaigns", "/admin/audiences/new", "/admin/campaigns/new"):
        assert (await client.get(path)).status_code == 403, path
