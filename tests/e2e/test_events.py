"""Event pages in a real browser: a hostile title is shown as text and never runs; the
public list fits a 360 px phone screen."""

from __future__ import annotations

import re

TITLE = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'


def _login(page, live_server) -> None:
    page.goto(live_server["base"] + "/login")
    page.get_by_label("Adresse courriel").fill(live_server["email"])
    page.get_by_label("Mot de passe").fill(live_server["password"])
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/admin")


def _assert_safe(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    assert page.evaluate("window.__xss") is None, url
    shown = page.get_by_text(TITLE, exact=True).first
    assert shown.is_visible(), url
    assert shown.inner_text().strip() == TITLE, url
    assert page.locator("img[src='x']").count() == 0, url


def test_script_title_is_shown_literally_and_never_runs(live_server, browser):
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="fr-CA")
    page = context.new_page()
    _login(page, live_server)

    page.goto(live_server["base"] + "/admin/events/new")
    page.get_by_label("Titre").fill(TITLE)
    page.get_by_label("Type d'événement").select_option("regional_event")
    page.locator("#f-starts_at").fill("2027-02-16T09:00")
    page.locator("#f-ends_at").fill("2027-02-16T11:30")
    page.get_by_label("Nom du lieu").fill("Cégep régional de Lanaudière")
    page.get_by_label("Adresse", exact=True).fill("20, rue Saint-Charles-Borromée Sud, Joliette")
    page.get_by_label("Territoire (région ou MRC)").select_option("2461")
    page.get_by_label("Jeunes et adultes concernés").check()
    page.get_by_role("button", name="Créer le brouillon").click()
    page.wait_for_url(re.compile(r".*/admin/events/\d+$"))
    event_id = page.url.rsplit("/", 1)[1]
    assert page.evaluate("window.__xss") is None
    assert page.get_by_role("heading", level=1).inner_text().strip() == TITLE

    page.get_by_role("button", name="Publier").click()
    page.wait_for_url(f"**/admin/events/{event_id}")
    assert page.get_by_text("L'événement est publié.").is_visible()

    base = live_server["base"]
    for url in (
        f"{base}/events",
        f"{base}/events/{event_id}",
        f"{base}/admin/events",
        f"{base}/admin/events/{event_id}",
        f"{base}/admin/events/{event_id}/edit",
    ):
        if url.endswith("/edit"):
            page.goto(url)
            assert page.evaluate("window.__xss") is None
            assert page.get_by_label("Titre").input_value() == TITLE
            continue
        _assert_safe(page, url)
    # The public page, as an anonymous visitor too.
    anonymous = browser.new_context(viewport={"width": 1024, "height": 800})
    visitor = anonymous.new_page()
    _assert_safe(visitor, f"{base}/events/{event_id}")
    _assert_safe(visitor, f"{base}/events")
    anonymous.close()
    context.close()


def test_public_event_list_fits_a_phone_screen(live_server, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="fr-CA")
    page = context.new_page()
    page.goto(live_server["base"] + "/events")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Événements"
    page.get_by_text("Filtrer les événements").click()  # open the filters
    assert page.get_by_label("Territoire (région ou MRC)").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    page.goto(live_server["base"] + "/jps")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    context.close()
