"""The custom-questions editor of an event: add, change, reorder, deactivate or delete
(a question already answered is only deactivated, and its kind no longer changes)."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal
from core.errors import NotFound, ValidationFailed
from core.i18n import _
from registrations.access import MANAGE, VIEW, event_for
from registrations.models import Question, QuestionKind, Registration
from registrations.schemas import QuestionIn

CHOICE_KINDS = {QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE}


async def list_questions(actor: Principal, event_id: int) -> list[Question]:
    await event_for(actor, VIEW, event_id)
    return list(await Question.filter(event_id=event_id).order_by("position", "id"))


async def answer_counts(event_id: int) -> dict[int, int]:
    """Question id -> number of registrations (any status) that answered it."""
    counts_by_id: dict[int, int] = {}
    for answers in await Registration.filter(event_id=event_id).values_list("answers", flat=True):
        if isinstance(answers, dict):
            for key, value in answers.items():
                if value not in (None, "", []) and str(key).isdigit():
                    counts_by_id[int(key)] = counts_by_id.get(int(key), 0) + 1
    return counts_by_id


async def get_question(actor: Principal, event_id: int, question_id: int) -> Question:
    await event_for(actor, VIEW, event_id)
    question = await Question.get_or_none(id=question_id, event_id=event_id)
    if question is None:
        raise NotFound()
    return question


def _check_question(data: dict[str, Any]) -> QuestionIn:
    from core.http import validate

    fields: dict[str, str] = {}
    try:
        parsed = validate(QuestionIn, data)
    except ValidationFailed as error:
        fields.update(error.fields)
        parsed = None
    if "kind" in fields:
        fields["kind"] = _("Choisissez un type de question.")
    if "label" in fields and not data.get("label"):
        fields["label"] = _("Indiquez le libellé de la question.")
    fields = {k.split(".")[0]: v for k, v in fields.items()}
    if parsed is not None and QuestionKind(parsed.kind) in CHOICE_KINDS and len(parsed.choices) < 2:
        fields["choices"] = _("Indiquez au moins deux choix, un par ligne.")
    if fields or parsed is None:
        raise ValidationFailed(fields=fields)
    if QuestionKind(parsed.kind) not in CHOICE_KINDS:
        parsed.choices = []
    return parsed


async def create_question(actor: Principal, event_id: int, data: dict[str, Any]) -> Question:
    await event_for(actor, MANAGE, event_id)
    parsed = _check_question(data)
    async with in_transaction():
        last = await Question.filter(event_id=event_id).order_by("-position", "-id").first()
        question = await Question.create(
            event_id=event_id,
            kind=QuestionKind(parsed.kind),
            label=parsed.label,
            help_text=parsed.help_text,
            required=parsed.required,
            choices=parsed.choices,
            position=(last.position + 1) if last else 0,
        )
        await audit(actor, "question.created", question, {"event": event_id})
    return question


async def update_question(
    actor: Principal, event_id: int, question_id: int, data: dict[str, Any]
) -> Question:
    await event_for(actor, MANAGE, event_id)
    parsed = _check_question(data)
    async with in_transaction():
        question = await Question.get_or_none(id=question_id, event_id=event_id)
        if question is None:
            raise NotFound()
        answered = (await answer_counts(event_id)).get(question.id, 0)
        if answered and parsed.kind != question.kind:
            raise ValidationFailed(
                fields={
                    "kind": _(
                        "Le type ne peut plus changer : des personnes ont déjà répondu. "
                        "Désactivez cette question et créez-en une autre."
                    )
                }
            )
        question.kind = QuestionKind(parsed.kind)
        question.label = parsed.label
        question.help_text = parsed.help_text
        question.required = parsed.required
        question.choices = parsed.choices
        await question.save()
        await audit(actor, "question.updated", question, {"event": event_id})
    return question


async def delete_question(actor: Principal, event_id: int, question_id: int) -> str:
    """Delete the question, or only deactivate it when answers exist: "deleted"/"deactivated"."""
    await event_for(actor, MANAGE, event_id)
    async with in_transaction():
        question = await Question.get_or_none(id=question_id, event_id=event_id)
        if question is None:
            raise NotFound()
        if (await answer_counts(event_id)).get(question.id, 0):
            question.active = False
            await question.save(update_fields=["active"])
            await audit(actor, "question.deactivated", question, {"event": event_id})
            return "deactivated"
        await audit(actor, "question.deleted", question, {"event": event_id})
        await question.delete()
    return "deleted"


async def reactivate_question(actor: Principal, event_id: int, question_id: int) -> Question:
    await event_for(actor, MANAGE, event_id)
    question = await Question.get_or_none(id=question_id, event_id=event_id)
    if question is None:
        raise NotFound()
    question.active = True
    await question.save(update_fields=["active"])
    await audit(actor, "question.reactivated", question, {"event": event_id})
    return question


async def move_question(
    actor: Principal, event_id: int, question_id: int, direction: str
) -> list[Question]:
    """Move a question one place up or down; positions are renumbered 0..n-1."""
    await event_for(actor, MANAGE, event_id)
    if direction not in ("up", "down"):
        raise ValidationFailed(fields={"direction": _("Direction inconnue.")})
    async with in_transaction():
        questions = list(await Question.filter(event_id=event_id).order_by("position", "id"))
        index = next((i for i, q in enumerate(questions) if q.id == question_id), None)
        if index is None:
            raise NotFound()
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(questions):
            questions[index], questions[other] = questions[other], questions[index]
        for position, question in enumerate(questions):
            if question.position != position:
                question.position = position
                await question.save(update_fields=["position"])
        await audit(actor, "question.moved", ("registrations.Question", question_id), {})
    return questions
