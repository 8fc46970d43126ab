"""The public verification page (what a window sticker's QR code opens) and its JSON twin:
200 for a certificate in force, 410 Gone for an expired, lapsed, revoked or replaced one,
404 for an unknown code; only the employer's public name is shown."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from campaigns.certification.models import Certificate, CertificateStatus
from tests.certification.certified import certified, program
from tests.certification.factories import apply, make_program, walk

NOW = datetime.now(UTC)


async def test_a_valid_certificate_answers_200_with_level_and_validity(client):
    cert = await certified(await program(), "Quincaillerie Beaulieu", level="argent")
    response = await client.get(f"/certification/verify/{cert.code}")
    assert response.status_code == 200
    page = response.text
    assert "Certificat valide" in page
    assert "Quincaillerie Beaulieu" in page
    assert "Argent" in page
    assert "Valide jusqu" in page
    # Nothing about the contact person or the employer beyond its public name.
    assert "contact" not in page.lower().replace("contenu", "")
    assert "@exemple.qc.ca" not in page
    assert response.headers["cache-control"] == "no-store"


async def test_a_code_is_found_as_typed_from_the_sticker(client):
    await certified(await program(), "Fromagerie du Rang-Double", code="ABCD2345")
    response = await client.get("/certification/verify/abcd-2345")
    assert response.status_code == 200
    assert "Fromagerie du Rang-Double" in response.text


async def test_an_expiring_certificate_is_still_valid(client):
    cert = await certified(await program(), "Marché Lachenaie", status=CertificateStatus.EXPIRING)
    response = await client.get(f"/certification/verify/{cert.code}")
    assert response.status_code == 200
    assert "renouvellement est en cours" in response.text


async def test_a_revoked_certificate_answers_410_with_a_clear_page(client):
    cert = await certified(
        await program(),
        "Restaurant Chez Paul",
        status=CertificateStatus.REVOKED,
        revoked_at=NOW - timedelta(days=2),
    )
    response = await client.get(f"/certification/verify/{cert.code}")
    assert response.status_code == 410
    assert "Certificat non valide" in response.text
    assert "a été révoqué" in response.text
    assert "Révoqué le" in response.text
    assert "Engagements non respectés" not in response.text  # the reason stays internal
    assert 'lang="fr"' in response.text


async def test_lapsed_and_expired_certificates_answer_410(client):
    prog = await program()
    lapsed = await certified(
        prog,
        "Dépanneur du Coin",
        status=CertificateStatus.LAPSED,
        issued_at=NOW - timedelta(days=800),
        valid_until=NOW - timedelta(days=70),
    )
    # Past its end, not yet lapsed by the upkeep: not valid either.
    expired = await certified(
        prog,
        "Boulangerie Saint-Louis",
        issued_at=NOW - timedelta(days=800),
        valid_until=NOW - timedelta(minutes=1),
    )
    answer = await client.get(f"/certification/verify/{lapsed.code}")
    assert answer.status_code == 410
    assert "n'a pas été renouvelé" in html.unescape(answer.text)
    answer = await client.get(f"/certification/verify/{expired.code}")
    assert answer.status_code == 410
    assert "est expiré" in answer.text


async def test_a_renewed_certificate_points_to_the_new_one(client):
    prog = await program()
    old = await certified(prog, "Garage Leblanc", status=CertificateStatus.RENEWED)
    await old.fetch_related("application")
    new = await certified(
        prog,
        "Garage Leblanc",
        employer=await old.application.employer,
        previous=old.application,
        level="or",
    )
    response = await client.get(f"/certification/verify/{old.code}")
    assert response.status_code == 410
    assert f'href="/certification/verify/{new.code}"' in response.text
    assert (await client.get(f"/certification/verify/{new.code}")).status_code == 200


async def test_an_unknown_code_answers_404(client):
    response = await client.get("/certification/verify/ZZZZ9999")
    assert response.status_code == 404
    assert "Aucun certificat ne porte ce code." in response.text
    long = await client.get("/certification/verify/" + "A" * 300)
    assert long.status_code == 404


async def test_the_employer_name_is_escaped(client):
    cert = await certified(await program(), '<script>alert("x")</script> Inc.')
    response = await client.get(f"/certification/verify/{cert.code}")
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;" in response.text


async def test_json_twin_answers_the_same_statuses(client):
    prog = await program()
    valid = await certified(prog, "Quincaillerie Beaulieu", level="or")
    revoked = await certified(
        prog, "Restaurant Chez Paul", status=CertificateStatus.REVOKED, revoked_at=NOW
    )
    body = (await client.get(f"/api/v1/certification/verify/{valid.code}")).json()
    assert body["state"] == "valid"
    assert body["valid"] is True
    assert body["employer"] == "Quincaillerie Beaulieu"
    assert body["level"] == {"code": "or", "name": "Or"}
    assert body["verify_url"] == f"http://testserver/certification/verify/{valid.code}"
    gone = await client.get(f"/api/v1/certification/verify/{revoked.code}")
    assert gone.status_code == 410
    error = gone.json()["error"]
    assert error["code"] == "certificate_revoked"
    assert error["certificate"]["state"] == "revoked"
    missing = await client.get("/api/v1/certification/verify/NOPE0000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "certificate_not_found"


async def test_english_page(client):
    cert = await certified(await program(), "Quincaillerie Beaulieu", level="or")
    response = await client.get(f"/certification/verify/{cert.code}?lang=en")
    assert response.status_code == 200
    assert "Gold" in response.text


async def test_through_the_workflow_certified_then_revoked(client):
    """The certificate the reviewer's decision creates: listed and valid, then revoked by
    the workflow: 410 on the verification page, gone from the directory."""
    application = await walk(await apply(await make_program()), "under_review", "certified")
    certificate = await Certificate.get(application_id=application.id)
    page = await client.get(f"/certification/verify/{certificate.code}")
    assert page.status_code == 200
    assert "Boulangerie du Vieux-Joliette inc." in page.text
    listed = (await client.get("/api/v1/certification/directory?territory=2461")).json()
    assert [i["employer"] for i in listed["items"]] == ["Boulangerie du Vieux-Joliette inc."]
    await walk(application, "revoked")
    page = await client.get(f"/certification/verify/{certificate.code}")
    assert page.status_code == 410
    assert "a été révoqué" in html.unescape(page.text)
    assert (await client.get("/api/v1/certification/directory")).json()["total"] == 0
