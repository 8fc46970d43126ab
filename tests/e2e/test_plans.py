"""Action plans in a real browser: the organizer creates a plan, imports seed 004's CSV
(a malformed file first: refused line by line, nothing imported), edits an item inline,
then reads the accountability report; no console error, axe-core finds no serious or
critical violation on these pages."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.test_registration_walkthrough import _axe

DATA = Path(__file__).resolve().parents[1] / "reports" / "data"


def test_plan_import_edit_and_report(live_server, browser):
    base = live_server["base"]
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-CA")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on(
        "console", lambda m: errors.append(f"{m.location} {m.text}") if m.type == "error" else None
    )
    page.goto(base + "/login")
    page.get_by_label("Adresse courriel").fill(live_server["email"])
    page.get_by_label("Mot de passe").fill(live_server["password"])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/admin")

    page.goto(base + "/admin/plans")
    _axe(page, "plans")
    page.locator("#f-name").fill("Plan de travail du chantier 2024-2026")
    page.locator("#f-period_start").fill("2024")
    page.locator("#f-period_end").fill("2026")
    page.get_by_role("button", name="Créer le plan").click()
    page.wait_for_url(re.compile(r".*/admin/plans/\d+$"))
    plan_url = page.url

    page.get_by_role("link", name="Importer un CSV").click()
    page.locator("#f-file").set_input_files(str(DATA / "plan_003_malformed.csv"))
    page.get_by_role("button", name="Importer").click()
    page.wait_for_load_state("load")
    assert "Fichier refusé : rien n'a été importé" in page.content()
    assert page.get_by_role("row", name=re.compile(r"^5 Parent inconnu : 1\.9\.")).count() == 1
    _axe(page, "import refusé")
    page.locator("#f-file").set_input_files(str(DATA / "plan_004_lanaudiere.csv"))
    page.get_by_role("button", name="Importer").click()
    page.wait_for_load_state("load")
    assert "11 éléments créés, 0 mis à jour, 0 inchangés." in page.content()

    page.goto(plan_url)
    page.get_by_text("Modifier 1.3", exact=True).click()
    item = page.locator("li", has=page.get_by_text("Modifier 1.3", exact=True))
    item.get_by_label("Titre", exact=True).fill("Organiser le colloque régional annuel")
    item.get_by_label("Cible", exact=True).fill("200")
    item.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state("load")
    assert "Organiser le colloque régional annuel" in page.content()
    _axe(page, "arbre du plan")

    page.goto(base + "/admin/rapports/reddition")
    assert "Organiser le colloque régional annuel" in page.content()
    assert page.get_by_role("button", name="Imprimer").is_visible()
    _axe(page, "reddition de comptes")
    expected = ("favicon.ico", "/import")  # no icon; the refused file's answer is a 422
    unexpected = [e for e in errors if not any(part in e for part in expected)]
    assert unexpected == [], unexpected
    context.close()
