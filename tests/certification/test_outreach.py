"""Outreach: an invitation campaign to businesses linking to the program's form; the
program page's funnel invited → started → submitted → certified; the reviewers' pages."""

from __future__ import annotations

import re

from campaigns.certification import outreach
from campaigns.certification.models import Application, ProgramCampaign
from campaigns.models import CampaignRecipient, RecipientStatus
from core.auth import Principal
from core.models import Role
from people.models import Person
from tests.certification.factories import apply, make_program, walk
from tests.certification.test_public_form import form_data
from tests.conftest import login, make_user


async def test_outreach_campaign_and_funnel(client, settings):
    program = await make_program()
    organizer = Principal.for_user(await make_user(Role.ORGANIZER))
    campaign = await outreach.create_outreach(organizer, settings, program.id, territories=["2461"])
    assert campaign.status == "draft" and campaign.kind == "newsletter"
    link = f"http://testserver/certification/programs/{program.id}/apply?campaign={campaign.id}"
    assert link in campaign.body_fr
    assert await ProgramCampaign.filter(program_id=program.id, campaign_id=campaign.id).exists()
    # Two invitations went out (as the campaigns' sending would record them).
    for n in range(2):
        person = await Person.create(
            first_name="P",
            last_name=str(n),
            email=f"p{n}@exemple.qc.ca",
            email_key=f"p{n}@exemple.qc.ca",
        )
        await CampaignRecipient.create(
            campaign=campaign, person=person, status=RecipientStatus.QUEUED
        )
    page = await client.get(f"/certification/programs/{program.id}/apply?campaign={campaign.id}")
    assert (
        f'action="/certification/programs/{program.id}/apply?campaign={campaign.id}"' in page.text
    )
    response = await client.post(
        f"/certification/programs/{program.id}/apply?campaign={campaign.id}",
        data=form_data(page.text),
    )
    assert response.status_code == 303
    application = await Application.get()
    assert application.campaign_id == campaign.id
    await apply(program, employer={"legal_name": "Sans invitation", "neq": "3300000000"})
    assert await outreach.funnel(program.id) == {
        "campaigns": 1,
        "invited": 2,
        "started": 1,
        "submitted": 1,
        "certified": 0,
        "all": {"started": 2, "submitted": 2, "certified": 0},
    }
    await walk(application, "under_review", "certified")
    funnel = await outreach.funnel(program.id)
    assert (funnel["started"], funnel["submitted"], funnel["certified"]) == (1, 1, 1)

    await login(client, Role.ADMIN)
    page = await client.get(f"/admin/certification/programs/{program.id}")
    assert page.status_code == 200
    cells = re.findall(r"<td>(\d+|—)</td>", page.text)
    assert cells[:4] == ["2", "1", "1", "1"]


async def test_reviewer_back_office_queue_compare_and_certify(client):
    program = await make_program()
    first = await walk(await apply(program), "under_review", "certified")
    renewal_answers = {"initiatives": {"met": True, "evidence": "Stages d'un jour"}}
    second = await Application.create(
        program_id=program.id,
        employer_id=first.employer_id,
        contact_id=first.contact_id,
        status="submitted",
        employer_data={**first.employer_data, "employees": 30},
        answers={**first.answers, **renewal_answers},
        points=85,
        previous_id=first.id,
    )
    await apply(
        program,
        employer={"legal_name": "Érablière Matawinie", "neq": "8800000000", "territory": "2462"},
    )
    await login(client, Role.REVIEWER)
    queue = await client.get("/admin/certification")
    assert queue.status_code == 200
    assert "Érablière Matawinie" in queue.text and "renouvellement" in queue.text
    only_joliette = await client.get("/admin/certification?territory=2461")
    assert "Érablière Matawinie" not in only_joliette.text
    page = await client.get(f"/admin/certification/applications/{second.id}")
    assert page.status_code == 200
    assert f"comparées à la demande n° {first.id}" in page.text
    assert "Stages d&#39;un jour" in page.text and "modifié" in page.text
    assert "<del>25</del>" in page.text and "<ins>30</ins>" in page.text
    assert 'name="to" value="under_review"' in page.text
    csrf = client.headers["x-csrf-token"]
    url = f"/admin/certification/applications/{second.id}/transition"
    moved = await client.post(url, data={"csrf_token": csrf, "to": "under_review"})
    assert moved.status_code == 303
    missing = await client.post(url, data={"csrf_token": csrf, "to": "changes_requested"})
    assert (
        missing.status_code == 422 and "ce qu" in missing.text and "doit modifier" in missing.text
    )
    done = await client.post(url, data={"csrf_token": csrf, "to": "certified", "level": "or"})
    assert done.status_code == 303
    assert (await Application.get(id=second.id)).status == "certified"
    assert (await Application.get(id=first.id)).status == "renewed"
    note = await client.post(
        f"/admin/certification/applications/{second.id}/notes",
        data={"csrf_token": csrf, "body": "Bravo", "to_employer": "1"},
    )
    assert note.status_code == 303
    unknown_status = await client.get("/admin/certification?status=nimporte")
    assert unknown_status.status_code == 200 and "Érablière Matawinie" in unknown_status.text


async def test_organizers_do_not_review(client):
    await login(client, Role.ORGANIZER)
    assert (await client.get("/admin/certification")).status_code == 403


async def test_admin_creates_a_program_from_the_back_office(client):
    from campaigns.certification.models import Criterion, Level, Program

    await login(client, Role.ADMIN)
    page = await client.get("/admin/certification/programs/new")
    assert page.status_code == 200
    csrf = client.headers["x-csrf-token"]
    data = {
        "csrf_token": csrf,
        "name": "Employeur engagé",
        "description_fr": "Conciliation études-travail",
        "validity_months": "24",
        "renewal_window_days": "60",
        "criteria": "heures ; Au plus 17 heures par semaine ; 30 ; obligatoire\n"
        "examens ; Horaire flexible pendant les examens ; vingt ; preuve\n",
        "levels": "bronze ; Bronze ; 30\nargent ; Argent ; 50\n",
    }
    bad = await client.post("/admin/certification/programs/new", data=data)
    assert bad.status_code == 422
    assert "Ligne 2 (points) : Un nombre entier est attendu." in bad.text
    assert "Horaire flexible pendant les examens ; vingt" in bad.text  # kept as typed
    assert await Program.all().count() == 0
    data["criteria"] = data["criteria"].replace("vingt", "20")
    created = await client.post("/admin/certification/programs/new", data=data)
    assert created.status_code == 303
    program = await Program.get()
    assert program.renewal_window_days == 60
    criteria = await Criterion.filter(program=program).order_by("position")
    assert [(c.code, c.points, c.required, c.evidence_asked) for c in criteria] == [
        ("heures", 30, True, False),
        ("examens", 20, False, True),
    ]
    assert await Level.filter(program=program).count() == 2
    client.cookies.clear()
    await login(client, Role.REVIEWER)
    assert (await client.get("/admin/certification/programs/new")).status_code == 403
