"""A participant registers on a phone (390 px wide), in a real browser: find the event,
open it, register (a failed submit first), see the ticket with its QR code, fetch the
calendar entry, cancel through the confirmation step. axe-core checks the form (blank and
with errors) and the ticket page: no serious or critical violation.

The event is seeded by running this module as a script with the served instance's
environment: `python -m tests.e2e.test_registration_walkthrough` prints the event id.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
TITLE = "Forum régional sur la persévérance — atelier Pwbx"
SEARCH = "atelier Pwbx"
QUESTION = "Avez-vous des restrictions alimentaires?"
VIEWPORT = {"width": 390, "height": 844}
BLOCKING = {"serious", "critical"}


async def _seed() -> dict[str, object]:
    """A published public event (capacity 40, waitlist) with a required custom question."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from core.auth import Principal
    from core.db import close_orm, init_orm
    from core.settings import load_settings
    from events import service as events
    from events.schemas import EventIn
    from registrations import questions

    system = Principal.system("tests e2e")
    await init_orm(load_settings())
    try:
        start = (datetime.now(ZoneInfo("America/Toronto")) + timedelta(days=30)).replace(
            hour=9, minute=0, second=0, microsecond=0
        )
        event = await events.create_event(
            system,
            EventIn.model_validate(
                {
                    "title": TITLE,
                    "kind": "regional_event",
                    "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                    "ends_at": (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
                    "description": "Une matinée d'ateliers pour les partenaires de la région.",
                    "venue_name": "Cégep régional de Lanaudière",
                    "address": "20, rue Saint-Charles-Borromée Sud, Joliette",
                    "territory": "2461",
                    "capacity": 40,
                    "waitlist": True,
                    "clienteles": ["youth", "schools", "society"],
                }
            ),
        )
        await questions.create_question(
            system,
            event.id,
            {
                "kind": "short_text",
                "label": QUESTION,
                "help_text": "Allergies, végétarisme…",
                "required": True,
                "choices": [],
            },
        )
        await events.publish_event(system, event.id)
        return {"event_id": event.id}
    finally:
        await close_orm()


def _axe(page, label: str) -> None:
    """Run axe-core on the page; fail on serious/critical violations, print the others."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Not add_script_tag: the app's Content-Security-Policy (script-src 'self') rightly
        # refuses inline scripts, and the test keeps it on. Evaluated code is not subject
        # to it.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return {
                rules: r.passes.length + r.violations.length,
                violations: r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 5).map(
                        n => n.target.join(' ') + ' — ' + n.failureSummary),
                })),
            };
        }"""
    )
    assert result["rules"] > 20, result  # axe really ran its rules on this page
    violations = result["violations"]
    print(f"[axe {label}] {result['rules']} règles, {len(violations)} violation(s)")
    for violation in violations:
        if violation["impact"] not in BLOCKING:
            print(f"[axe {label}] {violation['impact']}: {violation['id']} — {violation['help']}")
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{label}: " + json.dumps(blocking, ensure_ascii=False, indent=1)


def _fits(page, label: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"{label}: {width} px"


@pytest.fixture(scope="module")
def seeded(live_server) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.test_registration_walkthrough"],
        cwd=live_server["root"],
        env=live_server["env"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_register_on_a_phone_then_cancel(live_server, browser, seeded):
    base = live_server["base"]
    event_id = seeded["event_id"]
    context = browser.new_context(viewport=VIEWPORT, locale="fr-CA", is_mobile=True)
    page = context.new_page()

    # Find the event: the public list, filtered by keywords.
    page.goto(base + "/events")
    page.get_by_text("Filtrer les événements").click()
    page.get_by_label("Mots-clés").fill(SEARCH)
    page.get_by_label("Mots-clés").press("Enter")
    page.wait_for_url(re.compile(r".*/events\?.*q=.*"))
    page.get_by_role("link", name=TITLE).first.click()
    page.wait_for_url(f"**/events/{event_id}")
    assert page.get_by_role("heading", level=1).inner_text().strip() == TITLE
    _fits(page, "fiche")

    # The form.
    page.get_by_role("link", name="S'inscrire").first.click()
    page.wait_for_url(f"**/events/{event_id}/register")
    _fits(page, "formulaire")
    _axe(page, "formulaire")

    # A failed submit first: the errors are summarized and each field is marked.
    page.get_by_label("Prénom").fill("Léa")
    page.get_by_role("button", name="M'inscrire").click()
    page.wait_for_load_state("load")
    summary = page.locator("#erreurs")
    assert summary.is_visible()
    assert "n'a pas été enregistrée" in summary.inner_text()
    assert page.locator("#f-last_name").get_attribute("aria-invalid") == "true"
    assert page.locator("#f-email").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Prénom").input_value() == "Léa"  # kept
    _fits(page, "formulaire avec erreurs")
    _axe(page, "formulaire avec erreurs")

    # Then the real registration.
    page.get_by_label(re.compile(r"^Nom\b")).fill("Tremblay")
    page.get_by_label("Adresse courriel").fill("lea.tremblay@exemple.qc.ca")
    page.get_by_label("Institutions scolaires, organismes de soutien et communautaires").check()
    page.get_by_label("MRC").select_option("2461")
    page.get_by_label(QUESTION).fill("Végétarienne")
    page.locator("input[name=consents]").first.check()
    page.get_by_role("button", name="M'inscrire").click()
    page.wait_for_url(re.compile(r".*/manage/[A-Z2-7]+\.[\w-]+$"))
    manage_url = page.url

    # The ticket: status, QR image loaded, 8-character code.
    assert page.get_by_text("Votre inscription est confirmée").first.is_visible()
    assert page.get_by_role("heading", name="Votre billet").is_visible()
    qr = page.locator("img.reg-qr")
    qr.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('img.reg-qr').complete")
    assert qr.evaluate("img => img.naturalWidth") > 0
    code = page.locator(".ticket-code").inner_text().strip()
    assert re.fullmatch(r"[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{8}", code), code
    assert page.locator(".ticket-code").is_visible()
    assert page.get_by_text("Végétarienne").is_visible()
    _fits(page, "billet")
    _axe(page, "billet")

    # "Add to my calendar": a text/calendar document for this event.
    link = page.get_by_role("link", name="Ajouter à mon agenda")
    href = link.get_attribute("href")
    assert href and href.endswith("/event.ics")
    response = page.request.get(base + href if href.startswith("/") else href)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    body = response.text()
    assert body.startswith("BEGIN:VCALENDAR")
    assert "BEGIN:VEVENT" in body and "Pwbx" in body

    # Cancel: a confirmation step first, then the cancelled state.
    page.get_by_role("link", name="Annuler mon inscription").click()
    page.wait_for_url("**/cancel")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Êtes-vous certain·e?"
    _axe(page, "confirmation d'annulation")
    page.get_by_role("button", name="Oui, annuler mon inscription").click()
    page.wait_for_url(manage_url)
    assert page.get_by_text("Votre inscription est annulée.").first.is_visible()
    assert page.locator(".badge").first.inner_text().strip() == "Inscription annulée"
    assert page.locator("img.reg-qr").count() == 0
    assert page.get_by_role("link", name="Ajouter à mon agenda").count() == 0
    assert page.get_by_role("link", name="Annuler mon inscription").count() == 0
    _axe(page, "inscription annulée")
    # The place is given back on the public page.
    page.goto(f"{base}/events/{event_id}")
    assert page.get_by_text("40 places restantes").first.is_visible()
    context.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_seed())))
