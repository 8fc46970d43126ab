"""Employer certification in a real browser: an employer applies from the public form on
a 390 px phone and submits; a reviewer starts the review and certifies at Argent in the
back office; a visitor on a phone finds it in the public directory under its MRC and opens
its verification page and certificate. axe-core finds no serious or critical violation on
the pages on the way."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys

from tests.e2e.test_registration_walkthrough import VIEWPORT, _axe, _fits

REVIEWER = "examinatrice.e2e@exemple.qc.ca"
PASSWORD = "mot-de-passe-examen-2027"
EMPLOYER = "Boulangerie Saint-Charles-Borromée"


async def _seed() -> dict[str, object]:
    """A certification program (Bronze 50, Argent 70, Or 90) and a reviewer account."""
    from campaigns.certification import programs
    from campaigns.certification.schemas import ProgramIn
    from core.auth import Principal
    from core.db import close_orm, init_orm
    from core.models import Role, User
    from core.security import hash_password
    from core.settings import load_settings
    from tests.certification.factories import PROGRAM

    await init_orm(load_settings())
    try:
        program = await programs.create_program(
            Principal.system("tests e2e"), ProgramIn.model_validate(PROGRAM)
        )
        await User.create(
            email=REVIEWER,
            password_hash=hash_password(PASSWORD),
            role=Role.REVIEWER,
            full_name="Examinatrice",
        )
        return {"program_id": program.id}
    finally:
        await close_orm()


def _by_id(page, element_id: str):
    return page.locator(f'[id="{element_id}"]')


def test_employer_applies_on_a_phone_and_reviewer_certifies_at_argent(live_server, browser):
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.test_certification"],
        cwd=live_server["root"],
        env=live_server["env"],
        check=True,
        capture_output=True,
        text=True,
    )
    program_id = json.loads(done.stdout.strip().splitlines()[-1])["program_id"]
    base = live_server["base"]

    phone = browser.new_context(viewport=VIEWPORT, locale="fr-CA", is_mobile=True)
    page = phone.new_page()
    page.goto(f"{base}/certification/programs/{program_id}/apply")
    _fits(page, "formulaire")
    _axe(page, "formulaire de demande")
    page.get_by_label("Raison sociale").fill(EMPLOYER)
    page.get_by_label("NEQ (numéro d'entreprise du Québec)").fill("1170 000 001")
    page.get_by_label("Secteur d'activité").select_option("food_service")
    page.get_by_label("Adresse", exact=True).fill(
        "12, rue de la Visitation, Saint-Charles-Borromée"
    )
    _by_id(page, "f-employer.territory").select_option("2461")
    page.get_by_label("Nombre d'employés").fill("18")
    page.get_by_label("Dont employés aux études").fill("7")
    page.get_by_label("Prénom").fill("Élodie")
    _by_id(page, "f-contact.last_name").fill("Brassard")
    page.get_by_label("Adresse courriel").fill("elodie@boulangerie.exemple.qc.ca")
    page.get_by_label("J'accepte que ces coordonnées servent").check()
    for code, answer in (
        ("heures", "oui"),
        ("horaire", "oui"),
        ("examens", "oui"),
        ("diplome", "non"),
        ("initiatives", "non"),
    ):
        _by_id(page, f"f-answers.{code}.met-{answer}").check()
    _by_id(page, "f-answers.examens.evidence").fill("Horaire allégé pendant les examens de juin.")
    page.get_by_label("J'accepte que le nom de l'entreprise").check()
    # First a mistake: the NEQ has 11 digits; the page says so and keeps the answers.
    page.get_by_label("NEQ (numéro d'entreprise du Québec)").fill("11700000012")
    page.get_by_role("button", name="Soumettre la demande").click()
    page.wait_for_load_state("load")
    assert "Le NEQ compte exactement 10 chiffres" in page.content()
    assert _by_id(page, "f-answers.heures.met-oui").is_checked()
    _fits(page, "erreurs")
    _axe(page, "formulaire avec erreurs")
    page.get_by_label("NEQ (numéro d'entreprise du Québec)").fill("1170000001")
    page.get_by_role("button", name="Soumettre la demande").click()
    page.wait_for_url(re.compile(r".*/certification/applications/\d+\..+"))
    assert "Votre demande est soumise" in page.content()
    assert "soumise" in page.locator("#statut").inner_text()
    _fits(page, "demande soumise")
    _axe(page, "demande soumise")
    phone.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-CA")
    admin = desk.new_page()
    admin.goto(base + "/login")
    admin.get_by_label("Adresse courriel").fill(REVIEWER)
    admin.get_by_label("Mot de passe").fill(PASSWORD)
    admin.get_by_role("button", name="Se connecter").click()
    admin.wait_for_url("**/admin")
    admin.get_by_role("link", name="Certification").first.click()
    admin.wait_for_url("**/admin/certification")
    _axe(admin, "file des demandes")
    admin.get_by_role("link", name=EMPLOYER).click()
    admin.wait_for_url(re.compile(r".*/admin/certification/applications/\d+$"))
    assert admin.locator("#niveau-suggere").inner_text().strip() == "Argent"
    _axe(admin, "demande")
    admin.get_by_role("button", name="Commencer l'étude").click()
    admin.wait_for_load_state("load")
    assert admin.locator("#etat").inner_text().strip() == "à l'étude"
    admin.get_by_label("Niveau (pour certifier)").select_option("argent")
    admin.get_by_label("Message à l'employeur").fill("Félicitations à toute l'équipe!")
    admin.get_by_role("button", name="Certifier").click()
    admin.wait_for_load_state("load")
    assert admin.locator("#etat").inner_text().strip() == "certifiée"
    certificate = admin.locator("#t-certificate + p").inner_text()
    assert "niveau Argent" in certificate
    _axe(admin, "demande certifiée")
    desk.close()

    # The public: the employer now appears in the directory under its MRC (Joliette), on a
    # phone; its verification page says the certificate is valid.
    visitor = browser.new_context(viewport=VIEWPORT, locale="fr-CA", is_mobile=True)
    page = visitor.new_page()
    page.goto(f"{base}/certification/repertoire")
    _fits(page, "répertoire")
    _axe(page, "répertoire")
    page.get_by_text("Filtrer le répertoire").click()
    page.get_by_label("MRC ou territoire").select_option(label="Joliette")
    page.get_by_label("Niveau", exact=True).select_option(label="Argent")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(re.compile(r".*/certification/repertoire\?.*territory=2461"))
    entry = page.locator(".event-item", has_text=EMPLOYER)
    assert entry.count() == 1
    assert "Joliette" in entry.inner_text()
    assert "Niveau Argent" in entry.inner_text()
    _fits(page, "répertoire filtré")
    _axe(page, "répertoire filtré")
    entry.get_by_role("link", name=re.compile("Vérifier le certificat")).click()
    page.wait_for_url(re.compile(r".*/certification/verify/[A-Z0-9]+$"))
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Certificat valide"
    _fits(page, "vérification")
    _axe(page, "vérification")
    page.get_by_role("link", name="Voir le certificat").click()
    page.wait_for_url(re.compile(r".*/certification/certificat/[A-Z0-9]+$"))
    assert page.locator("img.reg-qr").evaluate("img => img.naturalWidth") > 0
    _fits(page, "certificat")
    _axe(page, "certificat")
    visitor.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_seed())))
