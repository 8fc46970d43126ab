"""JSON API: programs (admin), applications (anyone, rate-limited), transitions (reviewer)."""

from __future__ import annotations

import asyncio
import copy

from campaigns.certification.models import Application, Employer
from core.models import Role
from tests.certification.factories import PROGRAM, application_body, make_program
from tests.conftest import token_for


async def test_program_create_admin_only(client):
    admin = await token_for(Role.ADMIN)
    response = await client.post(
        "/api/v1/certification/programs",
        json=PROGRAM,
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [lv["code"] for lv in body["levels"]] == ["bronze", "argent", "or"]
    assert body["criteria"][0] == {
        "code": "heures",
        "text": "Au plus 17 heures de travail par semaine pendant l'année scolaire",
        "text_en": "",
        "required": True,
        "evidence_asked": False,
        "points": 30,
    }
    reviewer = await token_for(Role.REVIEWER)
    refused = await client.post(
        "/api/v1/certification/programs",
        json=PROGRAM,
        headers={"Authorization": f"Bearer {reviewer}"},
    )
    assert refused.status_code == 403
    duplicate = copy.deepcopy(PROGRAM)
    duplicate["levels"].append({"code": "or", "name": "Or bis", "min_points": 95})
    bad = await client.post(
        "/api/v1/certification/programs",
        json=duplicate,
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert bad.status_code == 422 and "unique" in bad.text


async def test_apply_review_certify_over_the_api(client):
    program = await make_program()
    created = await client.post(
        "/api/v1/certification/applications", json=application_body(program.id)
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "submitted"
    assert body["resume_url"].startswith("http://testserver/certification/applications/")
    token = await token_for(Role.REVIEWER)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/certification/applications/{body['id']}/transition"
    early = await client.post(url, json={"to": "certified", "level": "argent"}, headers=headers)
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "illegal_transition"
    assert "soumise" in early.json()["error"]["message"]
    assert (await client.post(url, json={"to": "under_review"}, headers=headers)).status_code == 200
    done = await client.post(url, json={"to": "certified", "level": "argent"}, headers=headers)
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["status"] == "certified"
    assert out["points"] == 70 and out["suggested_level"] == "argent"
    certificate = out["certificate"]
    assert certificate["level"] == "argent" and certificate["status"] == "valid"
    assert certificate["verify_url"] == (
        f"http://testserver/certification/verify/{certificate['code']}"
    )
    again = await client.post(url, json={"to": "certified", "level": "or"}, headers=headers)
    assert again.status_code == 409
    unknown = await client.post(url, json={"to": "renewed"}, headers=headers)
    assert unknown.status_code == 422
    anonymous = await client.post(url, json={"to": "revoked", "message": "x"})
    assert anonymous.status_code == 401


async def test_bad_input_field_errors_in_french_and_nothing_saved(client):
    program = await make_program()
    body = application_body(
        program.id,
        employer={"neq": "12345", "student_employees": 40},
        answers={
            "heures": {"met": False},
            "examens": {"met": True, "evidence": "x" * 2001},
        },
    )
    response = await client.post("/api/v1/certification/applications", json=body)
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields["employer.neq"].startswith("Le NEQ compte exactement 10 chiffres")
    assert "answers.examens.evidence" in fields
    assert fields["employer.student_employees"] == (
        "Le nombre d'employés aux études dépasse le nombre d'employés."
    )
    assert await Application.all().count() == 0
    # The NEQ and lengths fixed: the service's rules (required criteria on submit).
    body = application_body(program.id)
    body["answers"] = {"heures": {"met": False}}
    response = await client.post("/api/v1/certification/applications", json=body)
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert fields["answers.heures.met"] == (
        "Cet engagement est obligatoire pour obtenir la certification."
    )
    assert fields["answers.horaire.met"] == "Répondez par oui ou par non."
    assert await Application.all().count() == 0
    assert await Employer.all().count() == 0
    # The same answers as a draft are fine (answered later).
    body["submit"] = False
    draft = await client.post("/api/v1/certification/applications", json=body)
    assert draft.status_code == 201 and draft.json()["status"] == "draft"


async def test_neq_with_spaces_is_accepted_and_unknown_mrc_refused(client):
    program = await make_program()
    body = application_body(program.id, employer={"neq": "117 123-4567", "territory": "14"})
    response = await client.post("/api/v1/certification/applications", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "employer.territory": "Choisissez la MRC de l'entreprise."
    }
    body["employer"]["territory"] = "2461"
    response = await client.post("/api/v1/certification/applications", json=body)
    assert response.status_code == 201
    assert (await Employer.get()).neq == "1171234567"


async def test_concurrent_double_submit_creates_one_application(client):
    program = await make_program()
    body = application_body(program.id, idempotency_key="double-tap-0123456789")
    responses = await asyncio.gather(
        *(client.post("/api/v1/certification/applications", json=body) for _ in range(6))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await Application.all().count() == 1
    assert await Employer.all().count() == 1


async def test_second_open_application_of_an_employer_is_refused(client):
    program = await make_program()
    first = await client.post(
        "/api/v1/certification/applications", json=application_body(program.id)
    )
    assert first.status_code == 201
    other = application_body(
        program.id, contact={"email": "quelqu.un@ailleurs.exemple.qc.ca", "first_name": "X"}
    )
    second = await client.post("/api/v1/certification/applications", json=other)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "application_in_progress"
    assert "resume_url" not in second.text
    assert await Application.all().count() == 1


async def test_public_create_is_rate_limited(app, client):
    app.state.limiter.enabled = True
    program = await make_program()
    codes = []
    for n in range(12):
        body = application_body(
            program.id, employer={"legal_name": f"Entreprise {n}", "neq": None}, submit=False
        )
        codes.append(
            (await client.post("/api/v1/certification/applications", json=body)).status_code
        )
    assert codes[:10] == [201] * 10 and codes[10:] == [429, 429]


async def test_closed_application_period_and_inactive_program(client):
    from datetime import UTC, datetime, timedelta

    past = datetime.now(UTC) - timedelta(days=400)
    program = await make_program(
        cohorts=[
            {
                "name": "Cohorte passée",
                "opens_at": past.isoformat(),
                "closes_at": (past + timedelta(days=30)).isoformat(),
            }
        ]
    )
    response = await client.post(
        "/api/v1/certification/applications", json=application_body(program.id)
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "applications_closed"
    page = await client.get(f"/certification/programs/{program.id}/apply")
    assert "n&#39;accepte pas de demandes" in page.text or "n'accepte pas de demandes" in page.text
    now = datetime.now(UTC)
    current = await make_program(
        name="Programme ouvert",
        cohorts=[
            {
                "name": "Cohorte 2027",
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=60)).isoformat(),
            }
        ],
    )
    response = await client.post(
        "/api/v1/certification/applications", json=application_body(current.id)
    )
    assert response.status_code == 201
    assert (await Application.get(id=response.json()["id"])).cohort_id is not None
    unknown = await client.post(
        "/api/v1/certification/applications", json=application_body(999_999)
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"] == {"program_id": "Programme inconnu."}
