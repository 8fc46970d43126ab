"""The error summary at the top of the participant's forms names each field
("Prénom : ce champ est obligatoire."), not the same message four times."""

from __future__ import annotations

import re
from html import unescape

from registrations import manage_links, service
from registrations.models import Question
from tests.registrations.helpers import person, published_event
from tests.registrations.test_pages import register_through_form


def summary_items(html: str) -> list[str]:
    block = html[html.index('class="notice notice-error error-summary"') :]
    block = block[: block.index("</div>")]
    return [
        unescape(re.sub(r"<[^>]+>", "", item)).strip()
        for item in re.findall(r"<li>(.*?)</li>", block, re.S)
    ]


async def test_registration_form_summary_names_each_field(client):
    event = await published_event(capacity=20)
    question = await Question.create(
        event=event, kind="short_text", label="Allergies", required=True, position=1
    )
    response = await register_through_form(
        client, event, first_name="", last_name="", email="", clientele="", party_size="0"
    )
    assert response.status_code == 422
    items = summary_items(response.text)
    assert items == [
        "Prénom : ce champ est obligatoire.",
        "Nom : ce champ est obligatoire.",
        "Adresse courriel : ce champ est obligatoire.",
        "Vous êtes… : ce champ est obligatoire.",
        "Nombre de personnes : la valeur doit être d'au moins 1.",
        "Allergies : cette question est obligatoire.",
    ]
    assert f'href="#f-q-{question.id}"' in response.text


async def test_edit_form_summary_names_each_field(client, settings):
    event = await published_event(capacity=20)
    result = await service.register(event.id, person(1), settings=settings)
    token = manage_links.manage_token(settings, result.registration)
    page = await client.get(f"/manage/{token}/edit")
    from tests.conftest import csrf_from

    response = await client.post(
        f"/manage/{token}/edit", data={"csrf_token": csrf_from(page.text), "party_size": "abc"}
    )
    assert response.status_code == 422
    assert summary_items(response.text) == ["Nombre de personnes : un nombre entier est attendu."]
