"""Answering an evaluation in a real browser on a 390 px phone: the participant opens the
personal link of the message the upkeep queued, answers (each answer saved as it is
given, through the page's small script), submits, comes back and finds the answers;
axe-core finds no serious or critical violation on the way."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

from tests.e2e.test_registration_walkthrough import VIEWPORT, _axe, _fits

TITLE = "Journée de partage des partenaires Qzw"


def _run(live_server, command: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.test_evaluation", command],
        cwd=live_server["root"],
        env=live_server["env"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


async def _seed() -> dict[str, object]:
    """An event that ended three hours ago, with a form; one attendee checked in; then the
    upkeep's evaluation task (what the worker does) and the link of the queued message."""
    import secrets
    from datetime import UTC, datetime, timedelta

    from core.auth import Principal
    from core.db import close_orm, init_orm, load_packages
    from core.models import OutboundMessage
    from core.settings import load_settings
    from evaluations import forms, sending
    from evaluations.schemas import FormIn
    from events.models import Event, EventKind, EventStatus
    from people.models import Clientele, Person
    from registrations.models import CheckIn, Registration, RegistrationStatus

    settings = load_settings()
    load_packages(settings)
    await init_orm(settings)
    try:
        ends = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        event = await Event.create(
            uid=secrets.token_hex(8),
            kind=EventKind.REGIONAL_EVENT,
            title=TITLE,
            starts_at=ends - timedelta(hours=3),
            ends_at=ends,
            venue_name="Cégep régional de Lanaudière",
            status=EventStatus.PUBLISHED,
        )
        await forms.save_form(
            Principal.system("tests e2e"),
            event.id,
            FormIn.model_validate(
                {
                    "anonymous": True,
                    "questions": [
                        {
                            "code": "satisfaction",
                            "kind": "rating",
                            "label_fr": "Dans l'ensemble, êtes-vous satisfait·e de la journée?",
                            "required": True,
                        },
                        {
                            "code": "format",
                            "kind": "choice",
                            "label_fr": "Quel format préférez-vous?",
                            "options": ["En personne", "En ligne"],
                        },
                        {
                            "code": "themes",
                            "kind": "multi",
                            "label_fr": "Quels thèmes vous ont été utiles?",
                            "options": [
                                "Portrait régional",
                                "Mobilisation",
                                "Conciliation études-travail",
                            ],
                        },
                        {
                            "code": "recommande",
                            "kind": "nps",
                            "label_fr": "Recommanderiez-vous cette journée à un collègue?",
                        },
                        {"code": "commentaire", "kind": "long_text", "label_fr": "Un commentaire?"},
                    ],
                }
            ),
        )
        person = await Person.create(
            first_name="Maëlle",
            last_name="Gagnon",
            email="maelle.eval@exemple.qc.ca",
            email_key="maelle.eval@exemple.qc.ca",
            clientele=await Clientele.get(code="schools"),
        )
        registration = await Registration.create(
            public_id=secrets.token_hex(8),
            ticket_code="EVAL0001",
            event=event,
            person=person,
            status=RegistrationStatus.CONFIRMED,
            clientele_id=person.clientele_id,
            active_key=f"{event.id}:{person.id}",
        )
        now = datetime.now(UTC)
        await CheckIn.create(
            event_id=event.id,
            registration=registration,
            day=(ends - timedelta(hours=1)).date(),
            active_key=f"{registration.id}:eval",
            checked_in_at=ends - timedelta(hours=2),
        )
        queued = await sending.send_due(settings, now)
        message = await OutboundMessage.get(to_address="maelle.eval@exemple.qc.ca")
        link = re.search(r"https?://\S+/evaluation/[0-9]+\.[A-Za-z0-9_-]+", message.text_body)
        assert link is not None
        return {
            "queued": queued,
            "link": link.group(0),
            "subject": message.subject,
            "event_id": event.id,
        }
    finally:
        await close_orm()


async def _stored() -> dict[str, object]:
    from core.db import close_orm, init_orm
    from core.settings import load_settings
    from evaluations.models import Answer, Response

    await init_orm(load_settings())
    try:
        answers = await Answer.all().order_by("question_id", "number")
        return {
            "responses": await Response.all().count(),
            "numbers": [a.number for a in answers if a.number is not None],
            "texts": [a.text for a in answers if a.text],
            "linked": await Response.filter(registration_id__not_isnull=True).count(),
        }
    finally:
        await close_orm()


def test_participant_answers_the_evaluation_from_the_mail_link_on_a_phone(live_server, browser):
    seeded = _run(live_server, "seed")
    assert seeded["queued"] == 1
    assert TITLE in str(seeded["subject"])
    link = str(seeded["link"])
    assert link.startswith(live_server["base"])

    phone = browser.new_context(viewport=VIEWPORT, locale="fr-CA", is_mobile=True)
    page = phone.new_page()
    page.goto(link)
    assert TITLE in page.get_by_role("heading", level=1).inner_text()
    assert "anonyme" in page.locator("#privacy-note").inner_text()
    _fits(page, "évaluation")
    _axe(page, "évaluation")

    satisfaction = page.locator("#q-satisfaction")
    satisfaction.get_by_role("radio", name="4").check()
    satisfaction.get_by_text("Réponse enregistrée.").wait_for()  # saved as one goes (fetch)
    page.get_by_role("group", name="Quel format préférez-vous?").get_by_label("En ligne").check()
    page.locator("#q-format").get_by_text("Réponse enregistrée.").wait_for()
    themes = page.get_by_role("group", name="Quels thèmes vous ont été utiles?")
    themes.get_by_label("Portrait régional").check()
    # Keyboard: Tab to the next box, Space to check it.
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.locator("#q-themes").get_by_text("Réponse enregistrée.").wait_for()
    assert themes.get_by_label("Mobilisation").is_checked()
    page.locator("#q-recommande").get_by_role("radio", name="9").check()
    page.get_by_role("textbox", name="Un commentaire?").fill("<b>Très</b> utile, merci!")
    stored = _run(live_server, "stored")
    assert stored["responses"] == 1 and stored["linked"] == 0  # anonymous: no link
    _axe(page, "évaluation en cours")

    page.get_by_role("button", name="Envoyer mes réponses").click()
    page.wait_for_load_state("load")
    assert "Vos réponses sont enregistrées" in page.locator("#saved-message").inner_text()
    _fits(page, "évaluation envoyée")
    _axe(page, "évaluation envoyée")
    stored = _run(live_server, "stored")
    assert stored["responses"] == 1
    assert sorted(stored["numbers"]) == [0, 1, 1, 4, 9]
    assert stored["texts"] == ["<b>Très</b> utile, merci!"]

    # A second visit finds the answers and may change them (one response per link).
    page.goto(link)
    assert "Vous avez déjà répondu" in page.content()
    assert page.locator("#q-satisfaction").get_by_role("radio", name="4").is_checked()
    assert page.get_by_role("textbox", name="Un commentaire?").input_value() == (
        "<b>Très</b> utile, merci!"
    )
    # One character changed in the link: not found.
    changed = link[:-1] + ("A" if link[-1] != "A" else "B")
    assert page.goto(changed).status == 404
    phone.close()

    # The organizer reads the results (bars and tables) and the editor, on a desk.
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-CA")
    staff = desk.new_page()
    base = live_server["base"]
    staff.goto(base + "/login")
    staff.get_by_label("Adresse courriel").fill(live_server["email"])
    staff.get_by_label("Mot de passe").fill(live_server["password"])
    staff.get_by_role("button", name="Se connecter").click()
    staff.wait_for_url("**/admin")
    staff.goto(f"{base}/admin/events/{seeded['event_id']}/evaluation/results")
    assert "1 réponse(s) sur 1 invitation(s)" in staff.locator("[data-rate]").inner_text()
    assert staff.locator("svg").count() >= 4
    assert "<b>Très</b> utile, merci!" in staff.locator(".evaluation-texts").inner_text()
    _axe(staff, "résultats de l'évaluation")
    staff.goto(f"{base}/admin/events/{seeded['event_id']}/evaluation")
    _axe(staff, "questionnaire (éditeur)")
    desk.close()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "seed"
    print(json.dumps(asyncio.run(_seed() if command == "seed" else _stored())))
