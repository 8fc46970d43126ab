"""Answering through the personal link: one response per link (a second visit edits it),
anonymous forms keep no link to the person (read in the database), a changed link is a
404, after closing a French message and nothing saved, bounded texts, CSRF on the page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise import connections

from evaluations import sending
from evaluations.models import Answer, EvaluationForm, Invitation, Response
from tests.conftest import csrf_from
from tests.evaluations.factories import SYSTEM, make_form, past_event, registrant, token_for


async def invited(settings, *, anonymous=True, territory=None, **form_extra):
    event = await past_event()
    await make_form(event, anonymous=anonymous, **form_extra)
    reg = await registrant(event, attended=True, clientele="family", territory=territory)
    await sending.send_now(SYSTEM, settings, event.id)
    return event, reg, await token_for(settings, reg)


async def post(client, token, answers, complete=True):
    return await client.post(
        f"/api/v1/evaluation/{token}", json={"answers": answers, "complete": complete}
    )


async def test_one_response_per_link_a_second_post_replaces_it(client, settings):
    _event, _reg, token = await invited(settings)
    first = await post(client, token, {"satisfaction": 4, "themes": [0, 2], "mot": "Bien"})
    assert first.status_code == 200, first.text
    assert first.json()["answered"] == ["mot", "satisfaction", "themes"]
    second = await post(client, token, {"satisfaction": 2, "themes": ["Mobilisation"]})
    assert second.status_code == 200, second.text
    assert await Response.all().count() == 1
    rows = sorted((a.number, a.text) for a in await Answer.all())
    assert rows == [(1, None), (2, None)]  # the word and the old choices are gone
    page = await client.get(f"/evaluation/{token}")
    assert page.status_code == 200
    assert "Vous avez déjà répondu" in page.text
    assert 'value="2" checked aria-describedby' in page.text


async def test_saving_as_one_goes_keeps_the_other_answers(client, settings):
    _event, _reg, token = await invited(settings)
    assert (await post(client, token, {"satisfaction": 5}, complete=False)).status_code == 200
    assert (await post(client, token, {"format": 1}, complete=False)).status_code == 200
    # Not complete: a required question may still be empty.
    assert (await post(client, token, {"mot": "Utile"}, complete=False)).status_code == 200
    assert sorted(((a.number, a.text) for a in await Answer.all()), key=repr) == [
        (1, None),
        (5, None),
        (None, "Utile"),
    ]
    # The whole form submitted without its required question: refused, nothing changed.
    refused = await post(client, token, {"mot": "Autre"})
    assert refused.status_code == 422
    assert "satisfaction" in refused.json()["error"]["fields"]
    assert await Answer.filter(text="Autre").count() == 0


async def test_an_anonymous_response_holds_no_link_to_the_person(client, settings):
    event, reg, token = await invited(settings, anonymous=True, territory="2462")
    assert (await post(client, token, {"satisfaction": 5, "mot": "Merci"})).status_code == 200
    db = connections.get("default")
    rows = await db.execute_query_dict("SELECT * FROM evaluations_response")
    assert len(rows) == 1
    row = rows[0]
    assert row["registration_id"] is None
    assert row["clientele_id"] is None and row["territory_id"] is None
    assert "invitation_id" not in row and "person_id" not in row
    assert str(reg.id) not in {
        str(v) for k, v in row.items() if k.endswith("_id") and k != "event_id" and k != "form_id"
    }
    # The time is kept to the day only, on both sides: answering times cannot be matched.
    invitation = (await db.execute_query_dict("SELECT * FROM evaluations_invitation"))[0]
    assert set(invitation) == {
        "id",
        "form_id",
        "event_id",
        "registration_id",
        "sent_at",
        "reminded_at",
        "answered_at",
    }
    answered = await Invitation.get(id=invitation["id"])
    assert answered.answered_at is not None and answered.answered_at.hour == 0
    response = await Response.get(id=row["id"])
    assert response.submitted_at.hour == 0 and response.submitted_at.minute == 0
    assert row["edit_key"] not in token and len(row["edit_key"]) == 64


async def test_a_linked_response_keeps_the_clientele_and_mrc_snapshot(client, settings):
    _event, reg, token = await invited(settings, anonymous=False, territory="2462")
    assert (await post(client, token, {"satisfaction": 3})).status_code == 200
    response = await Response.get()
    assert response.registration_id == reg.id
    assert response.clientele_id == reg.clientele_id
    assert response.territory_id == reg.territory_id is not None


async def test_a_link_with_one_character_changed_is_a_404(client, settings):
    _event, _reg, token = await invited(settings)
    number, mac = token.split(".")
    changed_mac = f"{number}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}"
    changed_number = f"{int(number) + 1}.{mac}"
    for bad in (changed_mac, changed_number, token[:-1], "x" + token):
        assert (await client.get(f"/evaluation/{bad}")).status_code == 404, bad
        answer = await post(client, bad, {"satisfaction": 5})
        assert answer.status_code == 404, bad
        assert answer.json()["error"]["code"] == "not_found"
    assert await Response.all().count() == 0


async def test_answering_after_closing_says_so_in_french_and_saves_nothing(client, settings):
    _event, _reg, token = await invited(settings)
    await EvaluationForm.all().update(closes_at=datetime.now(UTC) - timedelta(minutes=1))
    answer = await post(client, token, {"satisfaction": 5})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "form_closed"
    assert "fermé" in answer.json()["error"]["message"]
    assert "n'a pas été enregistrée" in answer.json()["error"]["message"]
    page = await client.get(f"/evaluation/{token}")
    assert "n'accepte pas de réponses" in page.text
    assert 'id="evaluation-form"' not in page.text
    form = await client.post(
        f"/evaluation/{token}",
        data={"csrf_token": csrf_from_session(page.text), "q_satisfaction": "5"},
    )
    assert form.status_code in (403, 409)
    assert await Response.all().count() == 0 and await Answer.all().count() == 0


def csrf_from_session(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return match.group(1) if match else "none"


async def test_overlong_answers_are_refused_and_nothing_is_saved(client, settings):
    _event, _reg, token = await invited(settings)
    short = await post(client, token, {"satisfaction": 4, "mot": "x" * 301})
    assert short.status_code == 422
    assert "300" in short.json()["error"]["fields"]["mot"]
    long = await post(client, token, {"satisfaction": 4, "commentaire": "x" * 4001})
    assert long.status_code == 422
    out_of_scale = await post(client, token, {"satisfaction": 6, "recommande": 11, "format": 5})
    assert out_of_scale.status_code == 422
    assert set(out_of_scale.json()["error"]["fields"]) == {"satisfaction", "recommande", "format"}
    unknown = await post(client, token, {"satisfaction": 4, "inconnue": "x"})
    assert unknown.status_code == 422
    assert await Response.all().count() == 0 and await Answer.all().count() == 0
    fits = await post(client, token, {"satisfaction": 4, "commentaire": "é" * 4000})
    assert fits.status_code == 200


async def test_the_html_form_needs_its_csrf_token_and_shows_errors_by_question(client, settings):
    _event, _reg, token = await invited(settings)
    page = await client.get(f"/evaluation/{token}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<legend" in page.text and "anonyme" in page.text
    forged = await client.post(f"/evaluation/{token}", data={"q_satisfaction": "5"})
    assert forged.status_code == 403
    csrf = csrf_from(page.text)
    missing = await client.post(
        f"/evaluation/{token}", data={"csrf_token": csrf, "q_mot": "Gardé tel quel"}
    )
    assert missing.status_code == 422
    assert 'id="e-satisfaction"' in missing.text
    assert "Cette question demande une réponse." in missing.text
    assert 'aria-describedby="h-satisfaction e-satisfaction" aria-invalid="true"' in missing.text
    assert 'value="Gardé tel quel"' in missing.text  # what was typed is kept
    done = await client.post(
        f"/evaluation/{token}",
        data={"csrf_token": csrf, "q_satisfaction": "4", "q_themes": ["0", "1"], "q_format": "1"},
    )
    assert done.status_code == 200, done.text
    assert "Vos réponses sont enregistrées" in done.text
    assert sorted(a.number for a in await Answer.all()) == [0, 1, 1, 4]


async def test_script_in_free_text_is_stored_as_typed_and_escaped_on_the_page(client, settings):
    _event, _reg, token = await invited(settings)
    script = "<script>alert('x')</script>"
    assert (
        await post(client, token, {"satisfaction": 3, "commentaire": script})
    ).status_code == 200
    assert (await Answer.get(text__not_isnull=True)).text == script
    page = await client.get(f"/evaluation/{token}")
    assert script not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text


async def test_english_wording_is_shown_in_english(client, settings):
    _event, _reg, token = await invited(settings)
    page = await client.get(f"/evaluation/{token}?lang=en")
    assert "Comments" in page.text and "Online" in page.text


async def test_concurrent_first_saves_of_one_link_make_one_response(client, settings):
    import asyncio

    _event, _reg, token = await invited(settings)
    answers = await asyncio.gather(
        *(post(client, token, {"satisfaction": n}, complete=False) for n in (1, 2, 3, 4, 5))
    )
    assert [a.status_code for a in answers] == [200] * 5
    assert await Response.all().count() == 1
    assert await Answer.all().count() == 1  # the last write wins, nothing doubled
