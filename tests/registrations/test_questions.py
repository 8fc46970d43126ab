"""The custom-questions editor: add, edit, delete or deactivate, reorder, validation in
French; and the questions then apply to registrations (both databases)."""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from core.models import Role
from registrations import answers, service
from registrations.models import Question, QuestionKind
from tests.conftest import login
from tests.registrations.helpers import person, published_event


def _url(event_id: int, suffix: str = "") -> str:
    return f"/admin/events/{event_id}/questions{suffix}"


async def _labels(event_id: int) -> list[str]:
    return [q.label for q in await Question.filter(event_id=event_id).order_by("position", "id")]


async def test_add_each_kind_and_use_it(client, settings):
    event = await published_event()
    await login(client, Role.ORGANIZER)
    page = await client.get(_url(event.id))
    assert page.status_code == 200
    assert "Aucune question" in page.text
    for data in (
        {"kind": "short_text", "label": "Fonction", "required": "1"},
        {"kind": "long_text", "label": "Attentes", "help_text": "Quelques lignes"},
        {"kind": "single_choice", "label": "Repas", "choices": "Végétarien\r\n\r\n Régulier \n"},
        {"kind": "multiple_choice", "label": "Ateliers", "choices": "Matin\nAprès-midi\nSoir"},
        {"kind": "yes_no", "label": "Besoin d'un stationnement ?"},
        {"kind": "number", "label": "Nombre d'élèves"},
    ):
        response = await client.post(_url(event.id), data=data)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == _url(event.id)
    questions = list(await Question.filter(event_id=event.id).order_by("position", "id"))
    assert [q.kind for q in questions] == [k.value for k in QuestionKind]
    assert [q.position for q in questions] == [0, 1, 2, 3, 4, 5]
    fonction, attentes, repas, ateliers, *_rest = questions
    assert fonction.required and not attentes.required
    assert attentes.help_text == "Quelques lignes"
    assert repas.choices == ["Végétarien", "Régulier"]
    assert ateliers.choices == ["Matin", "Après-midi", "Soir"]
    page = await client.get(_url(event.id))
    assert "Repas" in page.text and "Choix multiples" in page.text

    # The form's rules now apply to registrations.
    with pytest.raises(ValidationFailed) as error:
        await service.register(event.id, person(1, answers={}), settings=settings)
    assert error.value.fields == {f"answers.{fonction.id}": "Cette question est obligatoire."}
    result = await service.register(
        event.id,
        person(1, answers={str(fonction.id): "Enseignante", str(repas.id): "Régulier"}),
        settings=settings,
    )
    assert result.registration.answers == {
        str(fonction.id): "Enseignante",
        str(repas.id): "Régulier",
    }


async def test_validation_errors_are_french(client, settings):
    event = await published_event()
    await login(client, Role.ORGANIZER)
    cases = [
        ({"kind": "", "label": "Sans type"}, "Choisissez un type de question."),
        ({"kind": "dropdown", "label": "Mauvais type"}, "Choisissez un type de question."),
        ({"kind": "short_text", "label": "  "}, "Indiquez le libellé de la question."),
        ({"kind": "short_text", "label": "x" * 301}, "Ce texte est trop long"),
        ({"kind": "single_choice", "label": "Un seul", "choices": "Oui"}, "au moins deux choix"),
        ({"kind": "multiple_choice", "label": "Aucun"}, "au moins deux choix"),
        (
            {"kind": "single_choice", "label": "Doublons", "choices": "A\nB\nA"},
            "Les choix doivent être distincts.",
        ),
    ]
    for data, message in cases:
        response = await client.post(_url(event.id), data=data)
        assert response.status_code == 422, data
        assert message in response.text, data
        assert 'aria-invalid="true"' in response.text
    assert await Question.filter(event_id=event.id).count() == 0
    kept = await client.post(_url(event.id), data={"kind": "single_choice", "label": "Gardé"})
    assert 'value="Gardé"' in kept.text  # what was typed stays in the form


async def test_choices_are_dropped_for_other_kinds(client, settings):
    event = await published_event()
    await login(client, Role.ORGANIZER)
    await client.post(_url(event.id), data={"kind": "yes_no", "label": "Q", "choices": "a\nb"})
    question = await Question.get(event_id=event.id)
    assert question.choices == []


async def test_edit_question(client, settings):
    event = await published_event()
    question = await Question.create(
        event_id=event.id, kind=QuestionKind.SINGLE_CHOICE, label="Repas", choices=["A", "B"]
    )
    await login(client, Role.ORGANIZER)
    form = await client.get(_url(event.id, f"/{question.id}"))
    assert form.status_code == 200
    assert 'value="Repas"' in form.text and "A\nB</textarea>" in form.text
    response = await client.post(
        _url(event.id, f"/{question.id}"),
        data={
            "kind": "single_choice",
            "label": "Choix de repas",
            "choices": "A\nB\nC",
            "required": "on",
        },
    )
    assert response.status_code == 303
    question = await Question.get(id=question.id)
    assert question.label == "Choix de repas"
    assert question.choices == ["A", "B", "C"] and question.required
    bad = await client.post(
        _url(event.id, f"/{question.id}"), data={"kind": "single_choice", "label": ""}
    )
    assert bad.status_code == 422
    assert "Indiquez le libellé de la question." in bad.text
    assert (await Question.get(id=question.id)).label == "Choix de repas"

    # Once answered, the kind is locked (answers would no longer make sense).
    await service.register(event.id, person(1, answers={str(question.id): "C"}), settings=settings)
    locked = await client.post(
        _url(event.id, f"/{question.id}"), data={"kind": "number", "label": "Repas"}
    )
    assert locked.status_code == 422
    assert "Le type ne peut plus changer" in locked.text
    assert (await Question.get(id=question.id)).kind == QuestionKind.SINGLE_CHOICE

    other_event = await published_event(title="Autre")
    assert (await client.get(_url(other_event.id, f"/{question.id}"))).status_code == 404
    assert (
        await client.post(_url(other_event.id, f"/{question.id}/delete"), data={"x": "1"})
    ).status_code == 404


async def test_delete_or_deactivate(client, settings):
    event = await published_event()
    unused = await Question.create(event_id=event.id, kind=QuestionKind.SHORT_TEXT, label="Libre")
    answered = await Question.create(
        event_id=event.id, kind=QuestionKind.YES_NO, label="Photo ?", position=1
    )
    await service.register(
        event.id, person(1, answers={str(answered.id): "oui"}), settings=settings
    )
    await login(client, Role.ORGANIZER)
    page = await client.get(_url(event.id))
    assert ">Désactiver<" in page.text and ">Supprimer<" in page.text

    response = await client.post(_url(event.id, f"/{unused.id}/delete"), data={"x": "1"})
    assert response.status_code == 303
    assert not await Question.exists(id=unused.id)
    await client.post(_url(event.id, f"/{answered.id}/delete"), data={"x": "1"})
    question = await Question.get(id=answered.id)
    assert question.active is False
    assert "désactivée" in (await client.get(_url(event.id))).text
    assert await answers.event_questions(event.id) == []  # off the public form
    # A new registration no longer has to (or may) answer it.
    await service.register(event.id, person(2), settings=settings)

    await client.post(_url(event.id, f"/{answered.id}/activate"), data={"x": "1"})
    assert (await Question.get(id=answered.id)).active is True
    assert [q.id for q in await answers.event_questions(event.id)] == [answered.id]


async def test_reorder(client, settings):
    event = await published_event()
    for n, label in enumerate(["Un", "Deux", "Trois"]):
        await Question.create(
            event_id=event.id, kind=QuestionKind.SHORT_TEXT, label=label, position=n * 10
        )
    first, second, third = await Question.filter(event_id=event.id).order_by("position")
    await login(client, Role.ORGANIZER)
    response = await client.post(_url(event.id, f"/{third.id}/move"), data={"direction": "up"})
    assert response.status_code == 303
    assert await _labels(event.id) == ["Un", "Trois", "Deux"]
    await client.post(_url(event.id, f"/{first.id}/move"), data={"direction": "down"})
    assert await _labels(event.id) == ["Trois", "Un", "Deux"]
    await client.post(_url(event.id, f"/{third.id}/move"), data={"direction": "up"})  # already top
    assert await _labels(event.id) == ["Trois", "Un", "Deux"]
    positions = [q.position for q in await Question.filter(event_id=event.id).order_by("position")]
    assert positions == [0, 1, 2]
    bad = await client.post(_url(event.id, f"/{second.id}/move"), data={"direction": "sideways"})
    assert bad.status_code == 422
    assert await _labels(event.id) == ["Trois", "Un", "Deux"]
    # The public form follows the new order.
    assert [q.label for q in await answers.event_questions(event.id)] == ["Trois", "Un", "Deux"]


async def test_access(client, settings):
    event = await published_event()
    question = await Question.create(event_id=event.id, kind=QuestionKind.YES_NO, label="Q")
    anonymous = await client.get(_url(event.id))
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    await login(client, Role.REVIEWER)
    page = await client.get(_url(event.id))
    assert page.status_code == 200 and "Q" in page.text
    assert "Ajouter une question" not in page.text
    assert (await client.get(_url(event.id, f"/{question.id}"))).status_code == 403
    for url, data in (
        (_url(event.id), {"kind": "yes_no", "label": "Nouvelle"}),
        (_url(event.id, f"/{question.id}"), {"kind": "yes_no", "label": "Changée"}),
        (_url(event.id, f"/{question.id}/delete"), {"x": "1"}),
        (_url(event.id, f"/{question.id}/move"), {"direction": "down"}),
    ):
        assert (await client.post(url, data=data)).status_code == 403, url
    assert await _labels(event.id) == ["Q"]


async def test_checkin_role_cannot_see_questions(client, settings):
    event = await published_event()
    await login(client, Role.CHECKIN)
    assert (await client.get(_url(event.id))).status_code == 403
