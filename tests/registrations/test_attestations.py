"""Attendance certificates: who gets one, what it states, its QR and verification link,
revocation, and mailing them all at once (idempotent)."""

# ruff: noqa: F811 - the SMTP fixtures come from tests.mail
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import zxingcpp

from core.audit import ACTION_LABELS
from core.mail.worker import MailWorker
from core.models import AuditEntry, OutboundMessage
from events import editions
from events.models import Event
from people.models import Person
from registrations import attestation_mailing, attestations, checkin
from registrations.models import Attestation, CheckIn
from registrations.retention import anonymize_registrations
from tests import pdf_reading
from tests.conftest import csrf_for, login, token_for
from tests.mail import mail_settings, smtp_server  # noqa: F401
from tests.registrations.attestation_helpers import (
    certificate_event,
    check_in_on,
    manage_path,
    move_to_past,
    register,
)
from tests.registrations.helpers import SYSTEM


async def _pdf(client, settings, registration) -> bytes:
    response = await client.get(manage_path(settings, registration) + "/attestation.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-")
    return response.content


def _verify_url(pdf: bytes) -> str:
    (image,) = pdf_reading.images(pdf)
    (decoded,) = zxingcpp.read_barcodes(image)
    return decoded.text


async def test_only_an_attendee_gets_one_once_the_event_is_over(client, settings):
    event = await certificate_event(title="Formation sur la persévérance")
    came = await register(settings, event, 1, first_name="Marie-Ève", last_name="Côté")
    absent = await register(settings, event, 2)
    undone = await register(settings, event, 3)
    event = await move_to_past(event)
    await check_in_on(settings, event, came, 0)
    await check_in_on(settings, event, undone, 0)
    wrong = await CheckIn.get(registration_id=undone.id)
    await checkin.undo_checkin(SYSTEM, wrong.id)

    page = await client.get(manage_path(settings, came))
    assert "Télécharger mon attestation (PDF)" in page.text
    assert 'href="' + manage_path(settings, came) + '/attestation.pdf"' in page.text
    text = pdf_reading.text(await _pdf(client, settings, came))
    assert "Marie-Ève Côté" in text
    assert "Formation sur la persévérance" in text
    assert settings.mail_sender_address in text

    for registration in (absent, undone):  # no button, no certificate
        page = await client.get(manage_path(settings, registration))
        assert page.status_code == 200
        assert "Attestation de participation" not in page.text
        response = await client.get(manage_path(settings, registration) + "/attestation.pdf")
        assert response.status_code == 404
    assert await Attestation.filter(registration_id__in=[absent.id, undone.id]).count() == 0
    # A forged manage link opens nothing.
    forged = manage_path(settings, came)[:-1] + "A" + "/attestation.pdf"
    assert (await client.get(forged)).status_code == 404


async def test_not_before_the_end_nor_for_an_event_without_certificates(client, settings):
    event = await certificate_event()
    plain = await certificate_event(title="Sans attestation", gives_attestation=False)
    early = await register(settings, event, 1)
    other = await register(settings, plain, 2)
    event = await move_to_past(event, started=timedelta(hours=1))  # under way
    await checkin.check_in(settings, SYSTEM, event_id=event.id, registration_id=early.public_id)
    assert datetime.now(UTC) < event.ends_at
    page = await client.get(manage_path(settings, early))
    assert "sera disponible ici après l'événement" in unescape(page.text)
    assert "attestation.pdf" not in page.text
    response = await client.get(manage_path(settings, early) + "/attestation.pdf")
    assert response.status_code == 403

    plain = await move_to_past(plain)
    await check_in_on(settings, plain, other, 0)
    assert (
        "Attestation de participation" not in (await client.get(manage_path(settings, other))).text
    )
    assert (await client.get(manage_path(settings, other) + "/attestation.pdf")).status_code == 404


async def test_multi_day_event_states_the_days_attended_and_their_hours(client, settings):
    event = await certificate_event(days=3, attestation_hours=3.5, attestation_hours_per_day=True)
    two_days = await register(settings, event, 1)
    every_day = await register(settings, event, 2)
    event = await move_to_past(event)
    await check_in_on(settings, event, two_days, 0)
    await check_in_on(settings, event, two_days, 2)
    for day in range(3):
        await check_in_on(settings, event, every_day, day)

    text = pdf_reading.text(await _pdf(client, settings, two_days))
    assert "Jours de présence (2) :" in text
    assert "Durée de la formation : 7 h" in text
    first, last = event.days
    assert str(first.day) in text and str(last.day) in text
    certificate = await Attestation.get(registration_id=two_days.id)
    assert certificate.days == [first.isoformat(), last.isoformat()]
    assert certificate.minutes == 420

    text = pdf_reading.text(await _pdf(client, settings, every_day))
    assert "Jours de présence (3) :" in text
    assert "Durée de la formation : 10 h 30" in text


async def test_hours_for_the_whole_event_are_shared_by_days_attended(settings):
    event = await certificate_event(days=2, attestation_hours=12)
    assert attestations.stated_minutes(event, 2) == 720
    assert attestations.stated_minutes(event, 1) == 360
    one_day = await certificate_event(attestation_hours=2.25)
    assert attestations.stated_minutes(one_day, 1) == 135
    assert attestations.format_minutes(135) == "2 h 15"
    none = await certificate_event()
    assert attestations.stated_minutes(none, 1) is None
    # An evening session past midnight is one session, not two days.
    evening = await certificate_event(
        starts_at=f"{one_day.starts_at.date().isoformat()}T21:00",
        ends_at=f"{(one_day.starts_at + timedelta(days=1)).date().isoformat()}T00:30",
        attestation_hours=3.5,
    )
    assert attestations.event_day_count(evening) == 1
    assert attestations.stated_minutes(evening, 1) == 210


async def test_qr_leads_to_the_verification_page_valid_then_410_once_revoked(client, settings):
    event = await certificate_event(title="Colloque des partenaires")
    registration = await register(
        settings, event, 1, first_name="Jean", last_name="Roy", phone="514 555-0199"
    )
    event = await move_to_past(event)
    await check_in_on(settings, event, registration, 0)
    url = _verify_url(await _pdf(client, settings, registration))
    certificate = await Attestation.get(registration_id=registration.id)
    assert url == f"{settings.base_url}/attestations/verifier/{certificate.code}"
    path = url.removeprefix(settings.base_url)

    valid = await client.get(path)
    assert valid.status_code == 200
    assert "Attestation valide" in valid.text
    assert "Colloque des partenaires" in valid.text
    assert "Jean Roy" in valid.text
    for private in ("personne1@exemple.qc.ca", "555-0199", registration.ticket_code):
        assert private not in valid.text
    # Typed by hand: case and dashes forgiven.
    typed = "/attestations/verifier/" + attestations.display_code(certificate.code).lower()
    assert (await client.get(typed)).status_code == 200

    # One character changed: unknown.
    code = certificate.code
    changed = code[:5] + ("B" if code[5] != "B" else "C") + code[6:]
    assert (await client.get(f"/attestations/verifier/{changed}")).status_code == 404
    assert (await client.get("/attestations/verifier/<script>")).status_code == 404

    await login(client, "organizer")
    listing = await client.get(f"/admin/events/{event.id}/attestations")
    assert listing.status_code == 200 and "Jean Roy" in listing.text
    refused = await client.post(
        f"/admin/events/{event.id}/attestations/{certificate.id}/revoke",
        data={"csrf_token": await csrf_for(client), "reason": "  "},
    )
    assert refused.status_code == 303
    assert (await Attestation.get(id=certificate.id)).revoked_at is None
    response = await client.post(
        f"/admin/events/{event.id}/attestations/{certificate.id}/revoke",
        data={"csrf_token": await csrf_for(client), "reason": "Présence saisie par erreur"},
    )
    assert response.status_code == 303
    entry = await AuditEntry.get(action="attestation.revoked")
    assert entry.target_id == str(certificate.id)
    assert "attestation.revoked" in ACTION_LABELS

    revoked = await client.get(path)
    assert revoked.status_code == 410
    assert "Attestation révoquée" in revoked.text
    assert "n'est plus valide" in unescape(revoked.text)
    assert "Jean Roy" not in revoked.text
    # The attendee can no longer download it.
    response = await client.get(manage_path(settings, registration) + "/attestation.pdf")
    assert response.status_code == 410
    assert "révoquée" in (await client.get(manage_path(settings, registration))).text


async def test_without_a_name_once_the_registration_is_anonymized(client, settings):
    event = await certificate_event()
    registration = await register(settings, event, 1, first_name="Zoé", last_name="Gagnon")
    event = await move_to_past(event)
    await check_in_on(settings, event, registration, 0)
    url = _verify_url(await _pdf(client, settings, registration))
    await anonymize_registrations([registration.id])
    page = await client.get(url.removeprefix(settings.base_url))
    assert page.status_code == 200
    assert "Zoé" not in page.text and "Gagnon" not in page.text
    assert "Nom retiré" in page.text


async def _deliver(settings) -> None:
    worker = MailWorker(settings)
    try:
        while await worker.run_once():
            pass
    finally:
        await worker.close()


async def test_mailing_them_all_is_idempotent_and_the_pdf_arrives(
    client, mail_settings, smtp_server
):
    settings = mail_settings
    event = await certificate_event(title="Journée régionale")
    came = [await register(settings, event, n) for n in range(1, 4)]
    absent = await register(settings, event, 4)
    late = await register(settings, event, 5)
    event = await move_to_past(event)
    for registration in came:
        await check_in_on(settings, event, registration, 0)
    token = await token_for("organizer")
    auth = {"Authorization": f"Bearer {token}"}

    response = await client.post(f"/api/v1/events/{event.id}/attestations/send", headers=auth)
    assert response.status_code == 202, response.text
    assert response.json()["to_mail"] == 3 and response.json()["running"] is True
    assert await attestation_mailing.run_mailings(settings) == 3
    again = await client.post(f"/api/v1/events/{event.id}/attestations/send", headers=auth)
    assert again.status_code == 202 and again.json()["to_mail"] == 0
    assert await attestation_mailing.run_mailings(settings) == 0
    messages = await OutboundMessage.filter(dedupe_key__startswith="attestation:")
    assert len(messages) == 3
    assert {m.person_id for m in messages} == {r.person_id for r in came}
    assert absent.person_id not in {m.person_id for m in messages}
    entries = await AuditEntry.filter(action="attestation.mailing_requested").count()
    assert entries == 2

    # One more attendee (a late check-in entered afterwards): only they are mailed.
    await check_in_on(settings, event, late, 0)
    await client.post(f"/api/v1/events/{event.id}/attestations/send", headers=auth)
    assert await attestation_mailing.run_mailings(settings) == 1
    assert await OutboundMessage.filter(dedupe_key__startswith="attestation:").count() == 4

    await _deliver(settings)
    status = (await client.get(f"/api/v1/events/{event.id}/attestations", headers=auth)).json()
    assert status == status | {"attendees": 4, "issued": 4, "mailed": 4, "sent": 4, "to_mail": 0}
    received = [
        r.message
        for r in smtp_server.sink.to("personne1@exemple.qc.ca")
        if "attestation" in str(r.message["Subject"]).lower()
    ]
    assert len(received) == 1  # once, whatever the number of requests
    message = received[0]
    (pdf_part,) = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
    pdf = pdf_part.get_content()
    assert "Prénom1 Nom1" in pdf_reading.text(pdf)
    certificate = await Attestation.get(registration_id=came[0].id)
    assert _verify_url(pdf).endswith(f"/attestations/verifier/{certificate.code}")
    assert pdf_part.get_filename() == f"attestation-{certificate.code}.pdf"

    # Anonymizing a registration forgets its certificate's message (the PDF names them).
    await anonymize_registrations([came[1].id])
    forgotten = await OutboundMessage.get(dedupe_key=f"attestation:{event.id}:{came[1].id}")
    assert forgotten.attachments == []
    kept = await OutboundMessage.get(dedupe_key=f"attestation:{event.id}:{came[0].id}")
    assert kept.attachments[0]["content_type"] == "application/pdf"


async def test_the_event_page_panel_and_its_button(client, settings):
    event = await certificate_event()
    registration = await register(settings, event, 1)
    await login(client, "organizer")
    page = await client.get(f"/admin/events/{event.id}")
    assert "Disponibles une fois l'événement terminé" in unescape(page.text)
    assert "/attestations/send" not in page.text

    event = await move_to_past(event)
    await check_in_on(settings, event, registration, 0)
    page = await client.get(f"/admin/events/{event.id}")
    assert "Envoyer 1 attestation par courriel" in page.text
    match = re.search(r'<form method="post" action="([^"]+/attestations/send)"', page.text)
    assert match
    response = await client.post(match.group(1), data={"csrf_token": await csrf_for(client)})
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/events/{event.id}/attestations"
    await attestation_mailing.run_mailings(settings)
    assert await OutboundMessage.filter(dedupe_key__startswith="attestation:").count() == 1
    page = await client.get(f"/admin/events/{event.id}")
    assert "/attestations/send" not in page.text  # nothing left to mail


async def test_only_staff_who_manage_registrations_may_mail_or_revoke(client, settings):
    event = await move_to_past(await certificate_event())
    assert (await client.post(f"/api/v1/events/{event.id}/attestations/send")).status_code in (
        401,
        403,
    )
    token = await token_for("reviewer")
    response = await client.post(
        f"/api/v1/events/{event.id}/attestations/send",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    not_over = await certificate_event(title="À venir")
    organizer = await token_for("organizer")
    response = await client.post(
        f"/api/v1/events/{not_over.id}/attestations/send",
        headers={"Authorization": f"Bearer {organizer}"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "event_not_over"


async def test_the_event_form_api_and_duplicate_keep_the_certificate_settings(client, settings):
    await login(client, "organizer")
    event = await certificate_event(attestation_hours=6.5, attestation_hours_per_day=True)
    edit = await client.get(f"/admin/events/{event.id}/edit")
    assert 'name="gives_attestation" checked' in edit.text
    assert 'value="6,5"' in edit.text
    token = await token_for("organizer")
    body = (
        await client.get(f"/api/v1/events/{event.id}", headers={"Authorization": f"Bearer {token}"})
    ).json()
    assert body["gives_attestation"] is True
    assert body["attestation_hours"] == 6.5
    assert body["attestation_hours_per_day"] is True
    copy = await editions.duplicate_event(SYSTEM, event.id, with_children=False)
    assert (copy.gives_attestation, copy.attestation_minutes) == (True, 390)
    assert copy.attestation_minutes_per_day is True


async def test_erased_person_export_lists_the_certificate(client, settings):
    event = await certificate_event()
    registration = await register(settings, event, 1)
    event = await move_to_past(event)
    await check_in_on(settings, event, registration, 0)
    await _pdf(client, settings, registration)
    from people.signals import PersonExporting, person_exporting

    person = await Person.get(id=registration.person_id)
    (exported,) = [
        found
        for found in await person_exporting.send(PersonExporting(person))
        if "registrations" in found
    ]
    certificate = exported["registrations"][0]["attestation"]
    assert certificate["code"] == (await Attestation.get()).code


async def test_the_event_form_saves_the_certificate_settings_and_explains_bad_hours(client, db):
    from tests.events.test_backoffice import form

    await login(client, "organizer")
    bad = await client.post(
        "/admin/events/new",
        data=form(gives_attestation="on", attestation_hours="trois heures"),
    )
    assert bad.status_code == 422  # the form again, with the field's error
    assert "Un nombre est attendu." in bad.text
    assert 'value="trois heures"' in bad.text  # what was typed stays
    assert await Event.all().count() == 0
    response = await client.post(
        "/admin/events/new",
        data=form(gives_attestation="on", attestation_hours="3,5", attestation_hours_per_day="on"),
    )
    assert response.status_code == 303, response.text
    event = await Event.get()
    assert event.gives_attestation and event.attestation_minutes == 210
    assert event.attestation_minutes_per_day


async def test_a_mailing_goes_batch_after_batch_without_doubles(settings, monkeypatch):
    monkeypatch.setattr(attestation_mailing, "BATCH", 2)  # 5 attendees: 3 batches
    event = await certificate_event()
    came = [await register(settings, event, n) for n in range(1, 6)]
    event = await move_to_past(event)
    for registration in came:
        await check_in_on(settings, event, registration, 0)
    status = await attestation_mailing.request_mailing(SYSTEM, event.id)
    assert status.to_mail == 5
    assert await attestation_mailing.run_mailings(settings) == 5
    messages = await OutboundMessage.filter(dedupe_key__startswith="attestation:")
    assert sorted(m.person_id for m in messages) == sorted(r.person_id for r in came)
    assert await Attestation.filter(mailed_at__isnull=False).count() == 5
    status = await attestation_mailing.mailing_status(event.id)
    assert (status.mailed, status.to_mail, status.running) == (5, 0, False)
