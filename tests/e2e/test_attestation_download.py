"""Downloading one's attendance certificate in a real browser on a 390 px phone: from the
manage page of a registration checked in at an event that is over, the download gives a
PDF naming the person, whose QR code opens the public verification page; axe-core finds
no serious or critical violation on the manage page nor on the verification page."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import zxingcpp

from tests import pdf_reading
from tests.e2e.test_registration_walkthrough import VIEWPORT, _axe, _fits

TITLE = "Formation des intervenantes et intervenants Qxa"


def _run(live_server, command: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.test_attestation_download", command],
        cwd=live_server["root"],
        env=live_server["env"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


async def _seed() -> dict[str, object]:
    """A training that ended three hours ago and gives certificates (3 h), one attendee
    checked in and one registrant who did not come; their manage links."""
    import secrets
    from datetime import UTC, datetime, timedelta

    from core.db import close_orm, init_orm, load_packages
    from core.settings import load_settings
    from events.models import Event, EventKind, EventStatus
    from people.models import Clientele, Person
    from registrations.manage_links import manage_url
    from registrations.models import CheckIn, Registration, RegistrationStatus

    settings = load_settings()
    load_packages(settings)
    await init_orm(settings)
    try:
        ends = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        event = await Event.create(
            uid=secrets.token_hex(8),
            kind=EventKind.TRAINING,
            title=TITLE,
            starts_at=ends - timedelta(hours=3),
            ends_at=ends,
            venue_name="Centre de services scolaire des Samares",
            status=EventStatus.PUBLISHED,
            gives_attestation=True,
            attestation_minutes=180,
        )
        clientele = await Clientele.get(code="schools")
        links = {}
        for key, first, came in (("came", "Maëlle", True), ("absent", "Loïc", False)):
            person = await Person.create(
                first_name=first,
                last_name="Bélanger-Lœuvre",
                email=f"{key}.attestation@exemple.qc.ca",
                email_key=f"{key}.attestation@exemple.qc.ca",
                clientele=clientele,
            )
            registration = await Registration.create(
                public_id=secrets.token_hex(8),
                ticket_code=f"ATT{key[:1].upper()}0001",
                event=event,
                person=person,
                status=RegistrationStatus.CONFIRMED,
                clientele_id=clientele.id,
                active_key=f"{event.id}:{person.id}",
            )
            if came:
                day = (ends - timedelta(hours=2)).date()
                await CheckIn.create(
                    event_id=event.id,
                    registration=registration,
                    day=day,
                    active_key=f"{registration.id}:{day.isoformat()}",
                    checked_in_at=ends - timedelta(hours=2),
                )
            links[key] = manage_url(settings, registration)
        return links
    finally:
        await close_orm()


def test_attendee_downloads_the_certificate_from_the_manage_page_on_a_phone(
    live_server, browser, tmp_path
):
    links = _run(live_server, "seed")
    phone = browser.new_context(
        viewport=VIEWPORT, locale="fr-CA", is_mobile=True, accept_downloads=True
    )
    page = phone.new_page()

    page.goto(str(links["absent"]))  # registered, never checked in: nothing to download
    assert TITLE in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("link", name="Télécharger mon attestation (PDF)").count() == 0

    page.goto(str(links["came"]))
    section = page.get_by_role("region", name="Attestation de participation")
    section.wait_for()
    _fits(page, "inscription avec attestation")
    _axe(page, "inscription avec attestation")
    with page.expect_download() as info:
        section.get_by_role("link", name="Télécharger mon attestation (PDF)").click()
    download = info.value
    assert download.suggested_filename.startswith("attestation-")
    assert download.suggested_filename.endswith(".pdf")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    pdf = saved.read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = pdf_reading.text(pdf)
    assert "Maëlle Bélanger-Lœuvre" in text
    assert TITLE in text
    assert "Durée de la formation : 3 h" in text
    (image,) = pdf_reading.images(pdf)
    (decoded,) = zxingcpp.read_barcodes(image)
    assert decoded.text.startswith(live_server["base"] + "/attestations/verifier/")

    response = page.goto(decoded.text)
    assert response is not None and response.status == 200
    assert "Attestation valide" in page.get_by_role("heading", level=1).inner_text()
    assert "Maëlle Bélanger-Lœuvre" in page.content()
    assert "came.attestation@exemple.qc.ca" not in page.content()
    _fits(page, "vérification")
    _axe(page, "vérification")
    phone.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_seed())))
