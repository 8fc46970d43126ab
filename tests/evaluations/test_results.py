"""Results: a hand-computed data set (rates, distributions, means, NPS, by clientele and by
MRC), the JSON API, the staff pages and the exports (script escaped, formulas neutralized)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from core.models import Role
from evaluations import answering, sending
from evaluations.models import Response
from evaluations.results import evaluation_summary
from people.models import Territory
from tests.conftest import login, token_for
from tests.evaluations.factories import SYSTEM, make_form, past_event, registrant
from tests.evaluations.factories import token_for as link_for

# (clientele, MRC, answers): computed by hand in the comments below.
DATA = [
    ("youth", "2462", {"satisfaction": 5, "contenu": 4, "recommande": 10, "format": 0}),
    ("youth", "2462", {"satisfaction": 4, "recommande": 9, "format": 1}),
    ("schools", "2407", {"satisfaction": 3, "contenu": 2, "recommande": 6}),
    ("schools", "2407", {"satisfaction": 2, "contenu": 3, "recommande": 7, "format": 0}),
    ("schools", "2462", {"satisfaction": 4, "mot": "Bravo"}),
]


async def answered_event(settings, anonymous=False):
    event = await past_event()
    await make_form(event, anonymous=anonymous)
    regs = [await registrant(event, clientele=c, territory=t, attended=True) for c, t, _a in DATA]
    await registrant(event, clientele="family", attended=True)  # invited, never answers
    assert await sending.send_now(SYSTEM, settings, event.id) == 6
    for reg, (_c, _t, answers) in zip(regs, DATA, strict=True):
        await answering.save_answers(
            settings, await link_for(settings, reg), answers, complete=True
        )
    return event


async def test_results_by_clientele_and_mrc_match_the_hand_computed_figures(client, settings):
    event = await answered_event(settings)
    await login(client, Role.REVIEWER)  # reports.view
    data = (await client.get(f"/api/v1/events/{event.id}/evaluation/results")).json()
    assert data["invited"] == 6 and data["responses"] == 5
    assert data["response_rate"] == pytest.approx(5 / 6, abs=1e-4)
    # Ratings: satisfaction 5,4,3,2,4 and contenu 4,2,3 → 27 / 8.
    assert data["mean_satisfaction"] == pytest.approx(27 / 8, abs=0.005)
    assert data["satisfaction_count"] == 8
    # NPS answers 10, 9, 6, 7: 2 promoters, 1 detractor over 4 → 25.
    assert data["nps"] == 25
    questions = {q["code"]: q for q in data["questions"]}
    satisfaction = questions["satisfaction"]
    assert satisfaction["count"] == 5 and satisfaction["mean"] == 3.6
    assert [row["count"] for row in satisfaction["distribution"]] == [0, 1, 1, 2, 1]
    assert [(r["label"], r["count"]) for r in questions["format"]["distribution"]] == [
        ("En personne", 2),
        ("En ligne", 1),
    ]
    assert questions["contenu"]["count"] == 3 and questions["contenu"]["mean"] == 3
    by_clientele = {g["code"]: g for g in data["by_clientele"]}
    # youth: 5, 4 and 4 → 13 / 3; schools: 3, 2, 2, 3, 4 → 14 / 5.
    assert by_clientele["youth"]["responses"] == 2
    assert by_clientele["youth"]["mean_satisfaction"] == pytest.approx(13 / 3, abs=0.005)
    assert by_clientele["youth"]["satisfaction_count"] == 3
    assert by_clientele["schools"]["responses"] == 3
    assert by_clientele["schools"]["mean_satisfaction"] == 2.8
    assert "family" not in by_clientele  # no response from that clientele
    by_mrc = {g["code"]: g for g in data["by_territory"]}
    # 2462: 5, 4, 4, 4 → 17 / 4; 2407: 3, 2, 2, 3 → 10 / 4.
    assert by_mrc["2462"]["responses"] == 3 and by_mrc["2462"]["mean_satisfaction"] == 4.25
    assert by_mrc["2407"]["responses"] == 2 and by_mrc["2407"]["mean_satisfaction"] == 2.5
    assert by_mrc["2462"]["name"] == (await Territory.get(code="2462")).name

    summary = await evaluation_summary(event.id)
    assert summary is not None
    assert (summary.invited, summary.responses, summary.nps) == (6, 5, 25)
    assert summary.mean_satisfaction == pytest.approx(27 / 8, abs=0.005)


async def test_an_anonymous_form_has_no_breakdown(client, settings):
    event = await answered_event(settings, anonymous=True)
    await login(client)
    data = (await client.get(f"/api/v1/events/{event.id}/evaluation/results")).json()
    assert data["by_clientele"] is None and data["by_territory"] is None
    assert data["responses"] == 5
    assert await Response.filter(clientele_id__not_isnull=True).count() == 0


async def test_the_results_page_draws_bars_with_a_table_and_lists_texts_for_staff_only(
    client, settings
):
    event = await answered_event(settings)
    anonymous = await client.get(f"/admin/events/{event.id}/evaluation/results")
    assert anonymous.status_code in (302, 303, 401)
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/events/{event.id}/evaluation/results")
    assert page.status_code == 200, page.text
    assert "<svg" in page.text and "<table" in page.text
    assert "Bravo" in page.text
    assert "Par clientèle" in page.text and "Par MRC" in page.text
    panel_page = await client.get(f"/admin/events/{event.id}")
    assert f"/admin/events/{event.id}/evaluation/results" in panel_page.text
    assert "5 réponse(s) sur 6 invitation(s)" in panel_page.text


async def test_script_and_formulas_in_free_text_are_escaped_and_neutralized(client, settings):
    event = await past_event()
    await make_form(event, anonymous=False)
    reg = await registrant(event, attended=True)
    await sending.send_now(SYSTEM, settings, event.id)
    script = "<script>alert('x')</script>"
    formula = '=HYPERLINK("http://x","y")'
    await answering.save_answers(
        settings,
        await link_for(settings, reg),
        {"satisfaction": 4, "commentaire": script, "mot": formula},
        complete=True,
    )
    await login(client)
    page = await client.get(f"/admin/events/{event.id}/evaluation/results")
    assert script not in page.text
    assert "&lt;script&gt;" in page.text
    exported = await client.get(f"/admin/events/{event.id}/evaluation/results.csv")
    assert exported.status_code == 200
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header, row = rows
    assert row[header.index("commentaire")] == script  # text, as typed
    assert row[header.index("mot")] == "'" + formula  # neutralized
    workbook = await client.get(f"/admin/events/{event.id}/evaluation/results.xlsx")
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    cells = {sheet.cell(1, c).value: sheet.cell(2, c) for c in range(1, sheet.max_column + 1)}
    assert cells["mot"].value == formula and cells["mot"].data_type == "s"
    assert cells["mot"].quotePrefix
    assert cells["commentaire"].value == script


async def test_the_json_api_creates_replaces_and_protects_the_form(client, settings):
    event = await past_event()
    token = await token_for(Role.ORGANIZER)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/events/{event.id}/evaluation"
    body = {
        "anonymous": False,
        "questions": [
            {"code": "satisfaction", "kind": "rating", "label_fr": "Satisfaction"},
            {"code": "format", "kind": "choice", "label_fr": "Format", "options": ["A", "B"]},
        ],
    }
    created = await client.post(url, json=body, headers=headers)
    assert created.status_code == 200, created.text
    assert [q["code"] for q in created.json()["questions"]] == ["satisfaction", "format"]
    bad = await client.post(
        url,
        json={
            "questions": [{"code": "Pas Bon", "kind": "choice", "label_fr": "x", "options": ["A"]}]
        },
        headers=headers,
    )
    assert bad.status_code == 422
    assert (await client.post(url, json=body)).status_code == 401
    reg = await registrant(event, attended=True)
    sent = await client.post(f"{url}/send", headers=headers)
    assert sent.status_code == 200 and sent.json() == {"queued": 1}
    await answering.save_answers(
        settings, await link_for(settings, reg), {"format": "B"}, complete=True
    )
    flipped = await client.post(url, json={**body, "anonymous": True}, headers=headers)
    assert flipped.status_code == 409
    assert flipped.json()["error"]["code"] == "form_answered"
    retyped = dict(body, questions=[dict(body["questions"][1], kind="text", options=[])])
    changed = await client.post(url, json=retyped, headers=headers)
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "question_answered"
    read = await client.get(url, headers=headers)
    assert read.status_code == 200 and read.json()["anonymous"] is False


async def test_the_back_office_editor_adds_moves_and_edits_questions(client, settings):
    from tests.conftest import csrf_from

    event = await past_event()
    await login(client, Role.ORGANIZER)
    url = f"/admin/events/{event.id}/evaluation"
    page = await client.get(url)
    assert page.status_code == 200
    csrf = csrf_from(page.text)
    for code, kind in (("q1", "rating"), ("q2", "nps")):
        added = await client.post(
            f"{url}/questions",
            data={
                "csrf_token": csrf,
                "code": code,
                "kind": kind,
                "label_fr": f"Question {code}",
                "label_en": f"EN {code}",
            },
        )
        assert added.status_code == 303, added.text
    refused = await client.post(
        f"{url}/questions",
        data={
            "csrf_token": csrf,
            "code": "q3",
            "kind": "choice",
            "label_fr": "Choix",
            "options": "Seule",
        },
    )
    assert refused.status_code == 422
    assert "au moins deux options" in refused.text
    assert 'value="Choix"' in refused.text
    moved = await client.post(f"{url}/questions/q2", data={"csrf_token": csrf, "action": "up"})
    assert moved.status_code == 303
    from evaluations.forms import questions_of
    from evaluations.models import EvaluationForm

    form = await EvaluationForm.get(event_id=event.id)
    assert [q.code for q in await questions_of(form)] == ["q2", "q1"]
    edited = await client.post(
        f"{url}/questions/q1",
        data={
            "csrf_token": csrf,
            "action": "save",
            "kind": "rating",
            "label_fr": "Nouveau libellé",
            "required": "1",
        },
    )
    assert edited.status_code == 303
    q1 = [q for q in await questions_of(form) if q.code == "q1"][0]
    assert q1.label_fr == "Nouveau libellé" and q1.required
    saved = await client.post(
        url,
        data={
            "csrf_token": csrf,
            "anonymous": "0",
            "reminder_days": "3",
            "opens_at": "",
            "closes_at": "",
        },
    )
    assert saved.status_code == 303
    assert (await EvaluationForm.get(id=form.id)).reminder_days == 3
    assert (await EvaluationForm.get(id=form.id)).anonymous is False
    removed = await client.post(
        f"{url}/questions/q2", data={"csrf_token": csrf, "action": "delete"}
    )
    assert removed.status_code == 303
    assert [q.code for q in await questions_of(form)] == ["q1"]


async def test_the_editions_results_page_compares_its_activities(client, settings):
    from datetime import timedelta

    edition = await past_event("JPS 2027", ended_ago=timedelta(hours=3))
    await make_form(edition, shared_with_children=True)
    first = await past_event("Atelier « Parents »", parent=edition)
    second = await past_event("Atelier <Employeurs>", parent=edition)
    regs = [await registrant(first, attended=True), await registrant(second, attended=True)]
    assert await sending.send_due(settings) == 2
    await answering.save_answers(
        settings, await link_for(settings, regs[0]), {"satisfaction": 5}, complete=True
    )
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/events/{edition.id}/evaluation/results")
    assert page.status_code == 200
    assert "Comparaison des activités de l'édition" in page.text
    assert "Atelier &lt;Employeurs&gt;" in page.text
    assert f"/admin/events/{first.id}/evaluation/results" in page.text
    child = await client.get(f"/admin/events/{first.id}/evaluation/results")
    assert child.status_code == 200 and "1 réponse(s) sur 1 invitation(s)" in child.text
    editor = await client.get(f"/admin/events/{first.id}/evaluation")
    assert "questionnaire partagé de son édition" in editor.text
