"""The event's own printable report: participation (registered against attended by
clientele and MRC, walk-ins, no-shows), evaluation in figures, certificates issued."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from evaluations import sending
from evaluations.answering import save_answers
from evaluations.models import Invitation
from events.models import Event
from registrations import attestations
from registrations.models import Registration
from tests.conftest import login
from tests.evaluations.factories import make_form, token_of
from tests.registrations.attestation_helpers import (
    certificate_event,
    check_in_on,
    move_to_past,
    register,
)
from tests.reports.dataset import SYSTEM, build

ROOT = Path(__file__).resolve().parents[2]


def _text(html: str) -> str:
    """The page's text, tags removed and white space collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _dd(html: str, dd_id: str) -> str:
    match = re.search(rf'<dd id="{dd_id}">(.*?)</dd>', html, re.S)
    assert match, dd_id
    return _text(match.group(1))


async def test_participation_by_clientele_and_mrc_with_walkins_and_no_shows(client, db):
    data = await build()
    event = data.events["E1"]
    await login(client, "reviewer")
    page = await client.get(f"/admin/events/{event.id}/report")
    assert page.status_code == 200
    html = page.text
    text = _text(html)
    assert "Rapport de l'événement" in text and event.title in text
    # registrations 6, heads 8, present 6, rate 75 %, 1 walk-in, 2 no-shows (tests/reports)
    totals = re.search(r'<dl class="facts report-totals" id="report-totals">(.*?)</dl>', html, re.S)
    assert totals
    assert _text(totals.group(1)).startswith(
        "Inscriptions confirmées 6 Personnes inscrites 8 Présences 6 Taux de présence 75 %"
    )
    assert _dd(html, "report-walkins") == "1"
    assert _dd(html, "report-no-shows") == "2"
    clienteles = re.search(
        r'<table class="report-table" id="report-by-clientele">.*?</table>', html, re.S
    )
    assert clienteles
    rows = {
        _text(m.group(1)): _text(m.group(2))
        for m in re.finditer(r'<th scope="row">(.*?)</th>(.*?)</tr>', clienteles.group(0), re.S)
    }
    # registrations, heads, present, rate, walk-ins, no-shows
    assert sorted(rows.values()) == sorted(
        ["2 2 1 50 % 0 1", "2 4 4 100 % 0 0", "1 1 0 0 % 0 1", "1 1 1 100 % 1 0"]
    )
    territories = re.search(r'id="report-by-territory">.*?</table>', html, re.S)
    assert territories
    assert len(re.findall(r'<th scope="row">', territories.group(0))) == 3
    assert "n'a pas de questionnaire d'évaluation" in text
    assert "ne remet pas d'attestation de participation" in text
    # Aggregates only: nobody's name.
    for person in data.people.values():
        assert person.last_name not in text


async def test_evaluation_summary_and_certificates(client, settings):
    event = await certificate_event(title="Atelier des partenaires")
    first = await register(settings, event, 1)
    second = await register(settings, event, 2)
    await register(settings, event, 3)  # no show
    event = await move_to_past(event, started=timedelta(hours=10))  # ended 3 hours ago
    await check_in_on(settings, event, first, 0)
    await check_in_on(settings, event, second, 0)
    await make_form(event)
    assert await sending.send_now(SYSTEM, settings, event.id) == 2
    for registration, (rating, nps) in ((first, (5, 10)), (second, (4, 9))):
        invitation = await Invitation.get(registration_id=registration.id)
        await save_answers(
            settings,
            token_of(settings, invitation),
            {"satisfaction": rating, "recommande": nps},
            complete=True,
        )
    for registration in (first, second):
        found = await Registration.get(id=registration.id)
        await attestations.issue(found, await Event.get(id=event.id))
    certificate = await attestations.Attestation.get(registration_id=second.id)
    await attestations.revoke(SYSTEM, event.id, certificate.id, "Erreur de saisie")

    await login(client, "organizer")
    page = await client.get(f"/admin/events/{event.id}/report")
    html = page.text
    evaluation = re.search(r'<dl class="facts" id="report-evaluation">(.*?)</dl>', html, re.S)
    assert evaluation
    assert _text(evaluation.group(1)) == (
        "Personnes invitées à répondre 2 Réponses 2 Taux de réponse 100 % "
        "Satisfaction moyenne (sur 5) 4,5 (2 réponses) "
        "Recommandation (NPS, de -100 à 100) 100"
    )
    assert _dd(html, "report-issued") == "2"
    assert _dd(html, "report-revoked") == "1"
    assert _dd(html, "report-no-shows") == "1"


async def test_only_once_over_linked_from_the_event_page_and_printable(client, settings):
    event = await certificate_event()
    await login(client, "organizer")
    page = await client.get(f"/admin/events/{event.id}/report")
    assert page.status_code == 200
    assert "sera disponible une fois l'événement terminé" in unescape(page.text)
    assert "report-totals" not in page.text
    assert (
        f"/admin/events/{event.id}/report"
        not in (await client.get(f"/admin/events/{event.id}")).text
    )

    event = await move_to_past(event)
    detail = await client.get(f"/admin/events/{event.id}")
    assert f'href="/admin/events/{event.id}/report"' in detail.text
    page = await client.get(f"/admin/events/{event.id}/report")
    assert 'class="event-report-page"' in page.text or "event-report-page" in page.text
    css = (ROOT / "static/css/app.css").read_text()
    rules = css[css.index("Rapport d'un événement") :]
    assert "@media print" in rules and ".event-report-page .site-header" in rules


async def test_who_may_read_it(client, settings):
    event = await move_to_past(await certificate_event())
    anonymous = await client.get(f"/admin/events/{event.id}/report")
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    await login(client, "checkin")
    assert (await client.get(f"/admin/events/{event.id}/report")).status_code == 403
    assert (await client.get("/admin/events/999999/report")).status_code in (403, 404)
