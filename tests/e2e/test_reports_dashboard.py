"""The participation dashboard and the back-office home in a real browser: no console
error (the CSP refuses inline styles and scripts: the SVG charts use neither), the charts
have text alternatives (a named image, or a group of named links), the numbers are in
tables, the filters go into the URL, and axe-core finds no serious or critical violation.

The data (tests/reports/dataset.py) is seeded by running this module as a script with the
served instance's environment: `python -m tests.e2e.test_reports_dashboard`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from tests.e2e.test_checkin_tablet import _watch
from tests.e2e.test_registration_walkthrough import _axe

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


async def _seed() -> dict[str, object]:
    from core.db import close_orm, init_orm
    from core.settings import load_settings
    from tests.reports.dataset import build

    await init_orm(load_settings())
    try:
        data = await build()
        return {"edition_id": data.events["ED"].id}
    finally:
        await close_orm()


@pytest.fixture(scope="module")
def seeded(live_server) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.test_reports_dashboard"],
        cwd=live_server["root"],
        env=live_server["env"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _login(page, live_server, target: str) -> None:
    page.goto(live_server["base"] + target)
    if "/login" in page.url:
        page.get_by_label("Adresse courriel").fill(live_server["email"])
        page.get_by_label("Mot de passe").fill(live_server["password"])
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**" + target)


def test_dashboard_charts_tables_filters_and_accessibility(live_server, browser, seeded):
    context = browser.new_context(viewport=DESKTOP, locale="fr-CA")
    page = context.new_page()
    errors = _watch(page)
    # The data set's 2026 events are in February and March; other browser tests share the
    # served database and add events of today: the view is bounded to the first half-year.
    _login(page, live_server, "/admin/rapports?from=2026-01-01&to=2026-06-30")
    assert page.get_by_role("heading", level=1).inner_text() == "Rapports de participation"
    # Every chart has a text alternative: named by its title, described by its description.
    charts = page.locator("svg.chart")
    assert charts.count() == 3
    names = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart')].map(svg => ({
            role: svg.getAttribute('role'),
            name: document.getElementById(svg.getAttribute('aria-labelledby')).textContent
                + ' | ' + document.getElementById(svg.getAttribute('aria-describedby')).textContent,
        }))"""
    )
    for chart in names:
        assert chart["role"] in {"img", "group"}
        title, desc = chart["name"].split(" | ")
        assert title and desc, chart
    # The clientele and MRC bars are links (role group); the timeline is an image.
    assert page.get_by_role("group", name="Présences par clientèle cible").is_visible()
    assert page.get_by_role("img", name="Présences par mois", exact=True).is_visible()
    # The MRC bars are links, each named with its MRC and value; one filters the view.
    joliette = page.get_by_role("link", name="Joliette 10", exact=True)
    assert joliette.count() == 1
    # The numbers are in real tables, one under each chart, plus the comparison.
    assert page.locator("table caption").count() == 4
    _axe(page, "tableau de bord des rapports")
    # The filters go into the URL (a GET form): a view can be bookmarked.
    page.get_by_label("Clientèle cible", exact=True).select_option("family")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url("**clientele=family**")
    card = page.locator(".report-card", has_text="Présences").first
    assert card.locator(".report-card-value").inner_text().strip() == "11"
    joliette = page.get_by_role("link", name="Joliette 9", exact=True)
    joliette.click()
    page.wait_for_url("**territory=2461**")
    assert "clientele=family" in page.url
    _axe(page, "tableau de bord filtré")
    assert errors == [], errors
    context.close()


def test_dashboard_fits_a_phone_and_the_home_links_to_it(live_server, browser, seeded):
    context = browser.new_context(viewport=PHONE, locale="fr-CA")
    page = context.new_page()
    errors = _watch(page)
    _login(page, live_server, "/admin")
    assert page.get_by_role("heading", name="Événements à venir").is_visible()
    _axe(page, "accueil du back-office")
    page.get_by_role("link", name="Tableau de bord de la participation").click()
    page.wait_for_url("**/admin/rapports")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    _axe(page, "tableau de bord (téléphone)")
    assert errors == [], errors
    context.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_seed())))
