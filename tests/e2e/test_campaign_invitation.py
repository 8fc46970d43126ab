"""An invitation campaign in a real browser: the organizer builds an audience (live count),
writes the invitation, previews it, sends it; the upkeep queues it; the invitee opens the
link of their message on a 390 px phone, says "J'y serai" and confirms. axe-core finds no
serious or critical violation on the pages on the way."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

from tests.e2e.test_registration_walkthrough import VIEWPORT, _axe, _fits

TITLE = "Lancement du portrait régional — Joliette Qzv"


def _run(live_server, command: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.test_campaign_invitation", command],
        cwd=live_server["root"],
        env=live_server["env"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


async def _seed() -> dict[str, object]:
    """A published event and three consenting people in Joliette (MRC 2461), one elsewhere."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from core.auth import Principal
    from core.db import close_orm, init_orm
    from core.settings import load_settings
    from events import service as events
    from events.schemas import EventIn
    from people.models import Clientele, Consent, Person, Territory

    system = Principal.system("tests e2e")
    await init_orm(load_settings())
    try:
        start = (datetime.now(ZoneInfo("America/Toronto")) + timedelta(days=20)).replace(
            hour=14, minute=0, second=0, microsecond=0
        )
        event = await events.create_event(
            system,
            EventIn.model_validate(
                {
                    "title": TITLE,
                    "kind": "annual_launch",
                    "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                    "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
                    "venue_name": "Salle Rolland-Brunelle",
                    "address": "1000, boul. Manseau, Joliette",
                    "territory": "2461",
                    "visibility": "private",
                }
            ),
        )
        await events.publish_event(system, event.id)
        schools = await Clientele.get(code="schools")
        joliette = await Territory.get(code="2461")
        montcalm = await Territory.get(code="2463")
        people = []
        for first, territory in (("Maëlle", joliette), ("Jacob", joliette), ("Zoé", montcalm)):
            person = await Person.create(
                first_name=first,
                last_name="Gagnon",
                email=f"{first.lower()}.e2e@exemple.qc.ca",
                email_key=f"{first.lower()}.e2e@exemple.qc.ca",
                clientele=schools,
                territory=territory,
            )
            await Consent.create(
                person=person, purpose="event_communications", granted=True, source="e2e"
            )
            people.append(person.id)
        return {"event_id": event.id, "people": people}
    finally:
        await close_orm()


async def _send() -> dict[str, object]:
    """Run the upkeep's campaign task (what the worker does), then read Maëlle's link."""
    from campaigns.sending import run_due_campaigns
    from core.db import close_orm, init_orm, load_packages
    from core.models import OutboundMessage
    from core.settings import load_settings

    settings = load_settings()
    load_packages(settings)
    await init_orm(settings)
    try:
        queued = await run_due_campaigns(settings)
        message = await OutboundMessage.get(
            to_address="maëlle.e2e@exemple.qc.ca", cause_type="campaign"
        )
        link = re.search(r"/rsvp/[A-Za-z0-9._-]+", message.text_body).group(0)
        return {"queued": queued, "rsvp": link, "subject": message.subject}
    finally:
        await close_orm()


def test_organizer_invites_and_invitee_accepts_on_a_phone(live_server, browser):
    seeded = _run(live_server, "seed")
    base = live_server["base"]
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-CA")
    page = desk.new_page()
    page.goto(base + "/login")
    page.get_by_label("Adresse courriel").fill(live_server["email"])
    page.get_by_label("Mot de passe").fill(live_server["password"])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/admin")

    # Audience: MRC de Joliette; the count follows the form (live, through the API).
    page.goto(base + "/admin/audiences/new")
    page.locator("#f-name").fill("Partenaires de Joliette")
    page.get_by_role("button", name="Compter").click()
    page.wait_for_load_state("load")
    page.locator("#f-territories").select_option("2461")
    count = page.locator("[data-count]")
    for _ in range(100):  # the live count (fetch) updates the figure without a reload
        if count.inner_text().strip() == "2":
            break
        page.wait_for_timeout(100)
    assert count.inner_text().strip() == "2"
    assert "Zoé" not in page.locator("[data-preview]").inner_text()
    _axe(page, "audience")
    page.get_by_role("button", name="Enregistrer l'audience").click()
    page.wait_for_url(re.compile(r".*/admin/audiences/\d+$"))
    page.get_by_role("link", name="Créer une campagne pour cette audience").click()

    # The invitation, previewed, then sent.
    page.locator("#f-name").fill("Invitation au lancement")
    page.locator("#f-event_id").select_option(str(seeded["event_id"]))
    page.locator("#f-subject_fr").fill("{{ prenom }}, vous êtes invité·e : {{ evenement }}")
    page.locator("#f-body_fr").fill(
        "Bonjour {{ prenom }},\n\nLe **{{ evenement_date }}**, {{ evenement_lieu }}."
    )
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(r".*/admin/campaigns/\d+$"))
    assert "Jacob, vous êtes invité·e" in page.content()  # previewed as a real recipient
    _axe(page, "campagne (brouillon)")
    page.get_by_role("button", name="Envoyer maintenant").click()
    page.wait_for_load_state("load")
    assert "en cours d'envoi" in page.content()

    sent = _run(live_server, "send")
    assert sent["queued"] == 2
    assert sent["subject"].startswith("Maëlle, vous êtes invité·e")

    # The invitee, on a phone, from the link of the message.
    phone = browser.new_context(viewport=VIEWPORT, locale="fr-CA", is_mobile=True)
    invitee = phone.new_page()
    invitee.goto(base + str(sent["rsvp"]))
    assert invitee.get_by_role("heading", level=1).inner_text().strip() == TITLE
    _fits(invitee, "invitation")
    _axe(invitee, "invitation")
    invitee.get_by_role("button", name="J'y serai").click()
    invitee.wait_for_load_state("load")
    _axe(invitee, "confirmation")
    assert invitee.get_by_label("Vous êtes").input_value() == "schools"  # pre-filled
    invitee.get_by_role("button", name="Confirmer mon inscription").click()
    invitee.wait_for_url(re.compile(r".*/manage/.+"))
    _fits(invitee, "billet")
    phone.close()
    desk.close()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "seed"
    print(json.dumps(asyncio.run(_seed() if command == "seed" else _send())))
