"""Evaluation forms: which form an event uses, and editing it (JSON API and back office).

One form per event. An edition's form with `shared_with_children` also serves each of
its activities that has no form of its own (`form_for_event`); invitations and responses
then record the activity, so the edition's results compare its activities.

Once a form has responses, its anonymity cannot change (an anonymous response cannot be
tied back to a person, and a linked one must not silently lose its link), and a
question's kind cannot change (its answers would no longer mean anything); removing a
question removes its answers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import _
from evaluations.models import (
    MAX_QUESTIONS,
    Answer,
    EvaluationForm,
    Question,
    QuestionKind,
    Response,
)
from evaluations.schemas import FormIn, FormOut, FormSettingsIn, QuestionIn, QuestionOut
from events.models import Event

EDIT = "events.edit"
# When the dates are left empty: open from the event's end, for this long.
DEFAULT_OPEN_DAYS = 30


async def get_event(event_id: int) -> Event:
    event = await Event.get_or_none(id=event_id)
    if event is None:
        raise NotFound(_("Cet événement n'existe pas."))
    return event


async def form_for_event(event: Event) -> EvaluationForm | None:
    """The event's own form, else its edition's form when shared with the activities."""
    own = await EvaluationForm.get_or_none(event_id=event.id)
    if own is not None or event.parent_id is None:
        return own
    return await EvaluationForm.get_or_none(event_id=event.parent_id, shared_with_children=True)


async def questions_of(form: EvaluationForm) -> list[Question]:
    return list(await Question.filter(form_id=form.id).order_by("position", "id"))


def opening(form: EvaluationForm, event: Event) -> tuple[datetime, datetime]:
    """When answering opens and closes (`event`: the activity answered about)."""
    opens = form.opens_at or event.ends_at
    closes = form.closes_at or max(opens, event.ends_at) + timedelta(days=DEFAULT_OPEN_DAYS)
    return opens, closes


def is_open(form: EvaluationForm, event: Event, now: datetime) -> bool:
    opens, closes = opening(form, event)
    return opens <= now < closes


async def form_out(form: EvaluationForm) -> dict[str, Any]:
    return FormOut(
        id=form.id,
        event_id=form.event_id,
        anonymous=form.anonymous,
        shared_with_children=form.shared_with_children,
        opens_at=form.opens_at,
        closes_at=form.closes_at,
        reminder_days=form.reminder_days,
        sent_at=form.sent_at,
        questions=[
            QuestionOut(
                code=q.code,
                kind=q.kind.value,
                label_fr=q.label_fr,
                label_en=q.label_en,
                options=list(q.options_fr),
                options_en=list(q.options_en),
                required=q.required,
                position=q.position,
            )
            for q in await questions_of(form)
        ],
    ).model_dump(mode="json")


async def own_form(actor: Principal, event_id: int) -> EvaluationForm | None:
    authorize(actor, "events.view")
    await get_event(event_id)
    return await EvaluationForm.get_or_none(event_id=event_id)


async def existing_form(actor: Principal, event_id: int) -> EvaluationForm:
    """The event's own form, else 404."""
    form = await own_form(actor, event_id)
    if form is None:
        raise NotFound(_("Cet événement n'a pas de questionnaire d'évaluation."))
    return form


async def _answered(form: EvaluationForm) -> bool:
    return await Response.filter(form_id=form.id).exists()


def _settings_fields(data: FormIn | FormSettingsIn) -> dict[str, Any]:
    return {
        "anonymous": data.anonymous,
        "shared_with_children": data.shared_with_children,
        "intro_fr": data.intro_fr.strip(),
        "intro_en": data.intro_en.strip(),
        "opens_at": data.opens_at,
        "closes_at": data.closes_at,
        "reminder_days": data.reminder_days,
    }


async def _apply_settings(form: EvaluationForm, data: FormIn | FormSettingsIn) -> None:
    if data.anonymous != form.anonymous and form.id and await _answered(form):
        raise Conflict(
            _("Ce questionnaire a déjà des réponses : son anonymat ne peut plus changer."),
            code="form_answered",
        )
    for name, value in _settings_fields(data).items():
        setattr(form, name, value)
    await form.save()


def _question_fields(data: QuestionIn) -> dict[str, Any]:
    return {
        "kind": QuestionKind(data.kind),
        "label_fr": data.label_fr.strip(),
        "label_en": data.label_en.strip(),
        "options_fr": [o.strip() for o in data.options],
        "options_en": [o.strip() for o in data.options_en],
        "required": data.required,
    }


async def _check_kind(form: EvaluationForm, question: Question, data: QuestionIn) -> None:
    if question.kind != data.kind and await Answer.filter(question_id=question.id).exists():
        raise Conflict(
            _(
                "La question « %(code)s » a déjà des réponses : son type ne peut plus changer.",
                code=question.code,
            ),
            code="question_answered",
        )


async def save_form(actor: Principal, event_id: int, data: FormIn) -> EvaluationForm:
    """Create or replace the event's form (questions matched by code; JSON API)."""
    authorize(actor, EDIT)
    event = await get_event(event_id)
    async with in_transaction():
        form = await EvaluationForm.get_or_none(event_id=event.id)
        created = form is None
        if form is None:
            form = EvaluationForm(event_id=event.id)
        await _apply_settings(form, data)
        existing = {q.code: q for q in await questions_of(form)}
        for position, item in enumerate(data.questions):
            question = existing.pop(item.code, None)
            if question is None:
                await Question.create(
                    form_id=form.id, code=item.code, position=position, **_question_fields(item)
                )
            else:
                await _check_kind(form, question, item)
                question.update_from_dict({"position": position, **_question_fields(item)})
                await question.save()
        if existing:
            await Question.filter(id__in=[q.id for q in existing.values()]).delete()
        await audit(
            actor,
            "evaluation.form_created" if created else "evaluation.form_changed",
            ("events.Event", event.id),
            {"questions": len(data.questions), "anonymous": data.anonymous},
        )
    return form


# --------------------------------------------------------------------------- the editor


async def ensure_form(actor: Principal, event_id: int) -> EvaluationForm:
    """The event's form, created empty (anonymous) the first time the editor opens it."""
    authorize(actor, EDIT)
    event = await get_event(event_id)
    async with in_transaction():
        form = await EvaluationForm.get_or_none(event_id=event.id)
        if form is None:
            form = await EvaluationForm.create(event_id=event.id)
            await audit(actor, "evaluation.form_created", ("events.Event", event.id), {})
    return form


async def save_settings(actor: Principal, event_id: int, data: FormSettingsIn) -> EvaluationForm:
    form = await ensure_form(actor, event_id)
    async with in_transaction():
        await _apply_settings(form, data)
        await audit(
            actor, "evaluation.form_changed", ("events.Event", event_id), _settings_fields(data)
        )
    return form


async def _question(form: EvaluationForm, code: str) -> Question:
    question = await Question.get_or_none(form_id=form.id, code=code[:40])
    if question is None:
        raise NotFound(_("Cette question n'existe pas."))
    return question


async def add_question(actor: Principal, event_id: int, data: QuestionIn) -> Question:
    form = await ensure_form(actor, event_id)
    async with in_transaction():
        questions = await questions_of(form)
        if len(questions) >= MAX_QUESTIONS:
            raise ValidationFailed(_("Un questionnaire compte au plus 40 questions."))
        if any(q.code == data.code for q in questions):
            raise ValidationFailed(fields={"code": _("Une autre question a déjà ce code.")})
        question = await Question.create(
            form_id=form.id,
            code=data.code,
            position=max((q.position for q in questions), default=-1) + 1,
            **_question_fields(data),
        )
        await audit(
            actor, "evaluation.form_changed", ("events.Event", event_id), {"added": data.code}
        )
    return question


async def update_question(actor: Principal, event_id: int, code: str, data: QuestionIn) -> Question:
    form = await ensure_form(actor, event_id)
    async with in_transaction():
        question = await _question(form, code)
        if data.code != question.code:
            raise ValidationFailed(fields={"code": _("Le code d'une question ne change pas.")})
        await _check_kind(form, question, data)
        question.update_from_dict(_question_fields(data))
        await question.save()
        await audit(actor, "evaluation.form_changed", ("events.Event", event_id), {"changed": code})
    return question


async def move_question(actor: Principal, event_id: int, code: str, step: int) -> None:
    """Move a question one place up (-1) or down (+1)."""
    form = await ensure_form(actor, event_id)
    async with in_transaction():
        questions = await questions_of(form)
        index = next((i for i, q in enumerate(questions) if q.code == code), None)
        if index is None:
            raise NotFound(_("Cette question n'existe pas."))
        other = index + (1 if step > 0 else -1)
        if 0 <= other < len(questions):
            questions[index], questions[other] = questions[other], questions[index]
        for position, question in enumerate(questions):
            if question.position != position:
                question.position = position
                await question.save(update_fields=["position"])
        await audit(actor, "evaluation.form_changed", ("events.Event", event_id), {"moved": code})


async def delete_question(actor: Principal, event_id: int, code: str) -> None:
    form = await ensure_form(actor, event_id)
    async with in_transaction():
        question = await _question(form, code)
        await question.delete()
        await audit(actor, "evaluation.form_changed", ("events.Event", event_id), {"removed": code})
