"""The public application form (HTML): drafts and the resume link, field errors in
French with the typed values kept, script stored as typed and shown escaped, CSRF, the
double tap, changes requested then resubmitted."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from campaigns.certification import workflow
from campaigns.certification.models import Application, Employer
from core.models import OutboundMessage, Role
from tests.certification.factories import JOLIETTE, make_program, walk
from tests.conftest import csrf_from, login

SCRIPT = "<script>alert('xss')</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;"


def form_data(page: str, **overrides: Any) -> dict[str, Any]:
    nonce = re.search(r'name="nonce" value="([^"]*)"', page)
    values: dict[str, Any] = {
        "csrf_token": csrf_from(page),
        "nonce": nonce.group(1) if nonce else "",
        "employer.legal_name": "Quincaillerie Rawdon",
        "employer.neq": "",
        "employer.sector": "retail",
        "employer.address": "3500, rue Queen, Rawdon",
        "employer.territory": "2462",
        "employer.employees": "40",
        "employer.student_employees": "12",
        "contact.first_name": "Marc-André",
        "contact.last_name": "Gagnon",
        "contact.email": "marc-andre@quincaillerie.exemple.qc.ca",
        "contact.consent": "1",
        "publish_in_directory": "1",
        "answers.heures.met": "oui",
        "answers.horaire.met": "oui",
        "answers.examens.met": "oui",
        "answers.examens.evidence": "Horaire allégé en juin.",
        "answers.diplome.met": "oui",
        "answers.initiatives.met": "non",
        "action": "submit",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


async def open_form(client: httpx.AsyncClient, program_id: int) -> str:
    page = await client.get(f"/certification/programs/{program_id}/apply")
    assert page.status_code == 200, page.text
    return page.text


async def test_draft_then_resume_then_submit(client):
    program = await make_program()
    page = await open_form(client, program.id)
    assert 'name="employer.neq"' in page and "Au plus 17 heures" in page
    response = await client.post(
        f"/certification/programs/{program.id}/apply",
        data=form_data(page, action="draft", **{"answers.initiatives.met": None}),
    )
    assert response.status_code == 303, response.text
    resume = response.headers["location"]
    application = await Application.get()
    assert application.status == "draft"
    mail = await OutboundMessage.get(dedupe_key=f"certification:{application.id}:draft:first")
    assert resume in mail.text_body and mail.to_address == "marc-andre@quincaillerie.exemple.qc.ca"
    shown = await client.get(resume)
    assert shown.status_code == 200
    assert "brouillon" in shown.text and 'value="Quincaillerie Rawdon"' in shown.text
    assert "Votre brouillon est enregistré" in shown.text
    page = shown.text
    submitted = await client.post(
        resume, data=form_data(page, **{"employer.employees": "41", "nonce": None})
    )
    assert submitted.status_code == 303
    application = await Application.get()
    assert application.status == "submitted"
    assert application.employer_data["employees"] == 41
    assert application.points == 85
    locked = await client.get(resume)
    assert "soumise" in locked.text and "Soumettre la demande" not in locked.text
    again = await client.post(resume, data=form_data(locked.text, nonce=None))
    assert again.status_code == 409
    assert "ne peut plus être modifiée" in again.text


async def test_field_errors_in_french_values_kept_nothing_saved(client):
    program = await make_program()
    page = await open_form(client, program.id)
    response = await client.post(
        f"/certification/programs/{program.id}/apply",
        data=form_data(
            page,
            **{
                "employer.neq": "ABC123",
                "employer.legal_name": "Ferme Beauséjour",
                "answers.horaire.met": "non",
                "answers.diplome.met": None,
                "answers.examens.evidence": "y" * 2100,
                "contact.consent": None,
            },
        ),
    )
    assert response.status_code == 422
    text = response.text
    assert "Le NEQ compte exactement 10 chiffres" in text
    assert "Votre accord est nécessaire" in text
    assert "2000 caractères au maximum" in text or "2 000 caractères" in text
    assert 'value="Ferme Beauséjour"' in text and 'value="ABC123"' in text
    assert await Application.all().count() == 0 and await Employer.all().count() == 0
    fixed = await client.post(
        f"/certification/programs/{program.id}/apply",
        data=form_data(
            response.text,
            **{"answers.horaire.met": "non", "answers.diplome.met": None},
        ),
    )
    assert fixed.status_code == 422
    assert "Cet engagement est obligatoire pour obtenir la certification." in fixed.text
    assert "Répondez par oui ou par non." in fixed.text
    assert await Application.all().count() == 0


async def test_script_is_stored_as_typed_and_shown_escaped(client):
    program = await make_program()
    page = await open_form(client, program.id)
    response = await client.post(
        f"/certification/programs/{program.id}/apply",
        data=form_data(page, **{"employer.legal_name": SCRIPT, "answers.examens.evidence": SCRIPT}),
    )
    assert response.status_code == 303
    application = await Application.get()
    assert application.employer_data["legal_name"] == SCRIPT
    assert application.answers["examens"]["evidence"] == SCRIPT
    shown = await client.get(response.headers["location"])
    assert SCRIPT not in shown.text and SCRIPT_ESCAPED in shown.text
    mail = await OutboundMessage.filter(dedupe_key__contains=":submitted:").first()
    assert mail is not None and SCRIPT not in mail.html_body
    await login(client, Role.REVIEWER)
    review = await client.get(f"/admin/certification/applications/{application.id}")
    assert review.status_code == 200
    assert SCRIPT not in review.text and SCRIPT_ESCAPED in review.text
    queue = await client.get("/admin/certification")
    assert SCRIPT not in queue.text and SCRIPT_ESCAPED in queue.text


async def test_csrf_is_required(client):
    program = await make_program()
    page = await open_form(client, program.id)
    response = await client.post(
        f"/certification/programs/{program.id}/apply", data=form_data(page, csrf_token="faux")
    )
    assert response.status_code == 403
    assert await Application.all().count() == 0


async def test_double_tap_on_submit_makes_one_application(client):
    program = await make_program()
    page = await open_form(client, program.id)
    data = form_data(page)
    responses = await asyncio.gather(
        *(client.post(f"/certification/programs/{program.id}/apply", data=data) for _ in range(5))
    )
    assert [r.status_code for r in responses] == [303] * 5
    assert len({r.headers["location"] for r in responses}) == 1
    assert await Application.all().count() == 1


async def test_changes_requested_then_employer_edits_and_resubmits(client, settings):
    program = await make_program()
    page = await open_form(client, program.id)
    response = await client.post(
        f"/certification/programs/{program.id}/apply",
        data=form_data(page, **{"employer.territory": JOLIETTE}),
    )
    application = await Application.get()
    application = await walk(application, "under_review", "changes_requested")
    resume = response.headers["location"]
    shown = await client.get(resume)
    assert "modifications demandées" in shown.text and "Motif" in shown.text
    assert "Soumettre la demande" in shown.text
    again = await client.post(
        resume,
        data=form_data(
            shown.text,
            nonce=None,
            **{"answers.initiatives.met": "oui", "employer.territory": JOLIETTE},
        ),
    )
    assert again.status_code == 303
    application = await Application.get()
    assert application.status == "submitted" and application.points == 100
    assert workflow.resume_url(settings, application.id) == resume


async def test_forged_resume_token_is_404(client):
    program = await make_program()
    page = await open_form(client, program.id)
    await client.post(f"/certification/programs/{program.id}/apply", data=form_data(page))
    application = await Application.get()
    assert (
        await client.get(f"/certification/applications/{application.id}.AAAA")
    ).status_code == 404
    assert (await client.get("/certification/applications/abc")).status_code == 404


async def test_form_in_english(client):
    program = await make_program()
    page = await client.get(f"/certification/programs/{program.id}/apply?lang=en")
    assert page.status_code == 200
    assert "Legal name" in page.text and "Submit the application" in page.text
    assert "Silver (70 points)" in page.text


async def test_certified_employer_page_shows_the_certificate(client, settings):
    from campaigns.certification.models import Certificate

    program = await make_program()
    page = await open_form(client, program.id)
    response = await client.post(
        f"/certification/programs/{program.id}/apply", data=form_data(page)
    )
    application = await walk(await Application.get(), "under_review", "certified")
    certificate = await Certificate.get(application_id=application.id)
    shown = await client.get(response.headers["location"])
    assert "certifiée" in shown.text
    assert f"Certificat {certificate.code}" in shown.text
    assert f'href="http://testserver/certification/verify/{certificate.code}"' in shown.text


def test_the_renewal_upkeep_is_registered(settings):
    from core import maintenance
    from core.db import load_packages

    load_packages(settings)
    assert "certification.renewals" in maintenance.TASKS
