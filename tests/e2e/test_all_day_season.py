"""A first real season, in a real browser: an organizer creates an all-day two-day event
in an Estrie MRC that asks for a phone number; a participant registers from a 390 px
phone with one; the ticket's calendar entry is all-day for the strict `ical` parser;
axe-core finds no serious or critical violation on the pages on the way."""

from __future__ import annotations

import datetime as dt
import re

from ical.calendar_stream import IcsCalendarStream

from tests.e2e.test_events import _login
from tests.e2e.test_registration_walkthrough import VIEWPORT, _axe, _fits

TITLE = "Colloque estrien sur la conciliation études-travail Qzv"


def _days() -> tuple[dt.date, dt.date]:
    first = dt.date.today() + dt.timedelta(days=40)
    return first, first + dt.timedelta(days=1)


def test_all_day_event_in_estrie_with_a_phone_registration(live_server, browser):
    base = live_server["base"]
    first, last = _days()

    # The organizer, on a desktop.
    desk = browser.new_context(viewport={"width": 1200, "height": 900}, locale="fr-CA")
    page = desk.new_page()
    _login(page, live_server)
    page.goto(base + "/admin/events/new")
    page.get_by_label("Titre").fill(TITLE)
    page.get_by_label("Type d'événement").select_option("regional_event")
    page.get_by_label("Toute la journée").check()
    # The form's script turns the inputs into date inputs.
    page.wait_for_function("document.querySelector('#f-starts_at').type === 'date'")
    page.locator("#f-starts_at").fill(first.isoformat())
    page.locator("#f-ends_at").fill(last.isoformat())
    page.get_by_label("Nom du lieu").fill("Centre culturel de l'Université de Sherbrooke")
    page.get_by_label("Adresse", exact=True).fill("2500, boulevard de l'Université, Sherbrooke")
    page.get_by_label("Territoire (région ou MRC)").select_option("2430")  # Le Granit, Estrie
    page.get_by_label("Téléphone au formulaire d'inscription").select_option("required")
    page.get_by_label("Entreprises, société en général").check()
    page.get_by_label("Capacité (personnes)").fill("80")
    page.get_by_role("button", name="Créer le brouillon").click()
    page.wait_for_url(re.compile(r".*/admin/events/\d+$"))
    event_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="Publier").click()
    page.wait_for_url(f"**/admin/events/{event_id}")
    assert page.get_by_text("L'événement est publié.").is_visible()
    _axe(page, "fiche (back-office)")
    desk.close()

    # The participant, on a phone.
    phone = browser.new_context(viewport=VIEWPORT, locale="fr-CA", is_mobile=True)
    page = phone.new_page()
    page.goto(f"{base}/events/{event_id}")
    assert page.get_by_role("heading", level=1).inner_text().strip() == TITLE
    shown = page.locator("main").inner_text()
    assert not re.search(r"\b\d{1,2} h\b", shown), "an all-day event shows no hour"
    _fits(page, "fiche")
    page.get_by_role("link", name="S'inscrire").first.click()
    page.wait_for_url(f"**/events/{event_id}/register")
    assert page.get_by_label("Téléphone").get_attribute("type") == "tel"
    _axe(page, "formulaire")

    page.get_by_label("Prénom").fill("Marc-Antoine")
    page.get_by_label(re.compile(r"^Nom\b")).fill("Bouchard")
    page.get_by_label("Adresse courriel").fill("marc-antoine.bouchard@exemple.qc.ca")
    page.get_by_label("Téléphone").fill("819 555-0142")
    # The event targets one clientele: it is chosen already.
    assert page.get_by_label("Entreprises, société en général").is_checked()
    page.get_by_role("button", name="M'inscrire").click()
    page.wait_for_url(re.compile(r".*/manage/[A-Z2-7]+\.[\w-]+$"))
    assert page.get_by_text("Votre inscription est confirmée").first.is_visible()
    assert page.get_by_text("(819) 555-0142").first.is_visible()
    _fits(page, "billet")
    _axe(page, "billet")

    href = page.get_by_role("link", name="Ajouter à mon agenda").get_attribute("href")
    assert href
    response = page.request.get(base + href if href.startswith("/") else href)
    assert response.status == 200
    text = response.text()
    assert f"DTSTART;VALUE=DATE:{first:%Y%m%d}" in text
    assert f"DTEND;VALUE=DATE:{last + dt.timedelta(days=1):%Y%m%d}" in text  # exclusive
    (event,) = IcsCalendarStream.calendar_from_ics(text).events
    assert type(event.dtstart) is dt.date and event.dtstart == first
    assert type(event.dtend) is dt.date and event.dtend == last + dt.timedelta(days=1)
    phone.close()
