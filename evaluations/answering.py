"""Answering through a personal link: one response per link, edited until the form closes.

The page saves each answer as the participant goes (`complete=False`: only the answers
given are replaced, nothing is required yet) and the submit button sends the whole form
(`complete=True`: every answer replaced, required questions checked). Both the HTML form
and the JSON endpoint call `save_answers`. After the form closes nothing is saved and the
participant reads why, in French (or English).

Every value is checked against its question: a rating 1–5, a recommendation 0–10, one of
the options (by index or by its text), texts bounded (300 characters on one line, 4,000
for a paragraph). Texts are stored as typed; pages escape them, exports neutralize them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import AppError, ValidationFailed
from core.i18n import _, format_when
from core.inputs import text_problem
from core.settings import Settings
from evaluations import forms
from evaluations.links import edit_key, invitation_by_token
from evaluations.models import (
    LONG_TEXT_MAX,
    TEXT_MAX,
    Answer,
    EvaluationForm,
    Invitation,
    Question,
    QuestionKind,
    Response,
)
from events.models import Event
from people.models import Person


class FormClosed(AppError):
    status_code = 409
    code = "form_closed"


@dataclass
class Answering:
    """What the page shows: the form, its questions and the answers already given."""

    invitation: Invitation
    form: EvaluationForm
    event: Event
    questions: list[Question]
    opens_at: datetime
    closes_at: datetime
    is_open: bool
    values: dict[str, Any] = field(default_factory=dict)  # code -> number, text or [indexes]
    answered: bool = False


def _day(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


async def _stored_values(response: Response, questions: list[Question]) -> dict[str, Any]:
    by_id = {q.id: q for q in questions}
    values: dict[str, Any] = {}
    for answer in await Answer.filter(response_id=response.id).order_by("id"):
        question = by_id.get(answer.question_id)
        if question is None:
            continue
        if question.kind == QuestionKind.MULTI:
            values.setdefault(question.code, []).append(answer.number)
        elif question.kind in (QuestionKind.TEXT, QuestionKind.LONG_TEXT):
            values[question.code] = answer.text or ""
        else:
            values[question.code] = answer.number
    return values


async def load(settings: Settings, token: str, now: datetime | None = None) -> Answering:
    now = now or datetime.now(UTC)
    invitation = await invitation_by_token(settings, token)
    form = invitation.form
    event = invitation.event
    questions = await forms.questions_of(form)
    opens, closes = forms.opening(form, event)
    found = Answering(
        invitation=invitation,
        form=form,
        event=event,
        questions=questions,
        opens_at=opens,
        closes_at=closes,
        is_open=opens <= now < closes,
    )
    response = await Response.get_or_none(edit_key=edit_key(settings, token))
    if response is not None:
        found.values = await _stored_values(response, questions)
        found.answered = True
    return found


def closed_message(found: Answering, now: datetime) -> str:
    if now < found.opens_at:
        return _(
            "Ce questionnaire ouvrira le %(when)s. Votre réponse n'a pas été enregistrée.",
            when=format_when(found.opens_at),
        )
    return _(
        "Ce questionnaire est fermé depuis le %(when)s : il n'accepte plus de réponses. "
        "Votre réponse n'a pas été enregistrée.",
        when=format_when(found.closes_at),
    )


def _option(question: Question, value: Any) -> int | None:
    options = question.options_fr
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < len(options) else None
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            index = int(text)
            return index if index < len(options) else None
        folded = text.casefold()
        for index, label in enumerate(options):
            english = question.options_en[index] if index < len(question.options_en) else ""
            if folded in (label.casefold(), english.casefold()):
                return index
    return None


def _number(question: Question, value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and value in question.scale:
        return value
    return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def check_value(question: Question, value: Any) -> tuple[list[int], str | None]:
    """The answer rows of one value (numbers, text); ValueError with the message."""
    kind = question.kind
    if kind in (QuestionKind.RATING, QuestionKind.NPS):
        number = _number(question, value)
        if number is None:
            low, high = question.scale[0], question.scale[-1]
            raise ValueError(_("Choisissez une valeur de %(low)s à %(high)s.", low=low, high=high))
        return [number], None
    if kind == QuestionKind.CHOICE:
        index = _option(question, value)
        if index is None:
            raise ValueError(_("Choisissez une des options proposées."))
        return [index], None
    if kind == QuestionKind.MULTI:
        items = value if isinstance(value, list) else [value]
        indexes = [_option(question, item) for item in items]
        if any(i is None for i in indexes):
            raise ValueError(_("Choisissez parmi les options proposées."))
        return sorted({i for i in indexes if i is not None}), None
    if not isinstance(value, str):
        raise ValueError(_("Une chaîne de caractères est attendue."))
    text = value.strip() if kind == QuestionKind.TEXT else value.strip("\r\n ")
    limit = TEXT_MAX if kind == QuestionKind.TEXT else LONG_TEXT_MAX
    if len(text) > limit:
        raise ValueError(
            _("Ce texte est trop long (%(max_length)s caractères au maximum).", max_length=limit)
        )
    if problem := text_problem(text):
        raise ValueError(problem)
    return [], text


async def save_answers(
    settings: Settings,
    token: str,
    answers: dict[str, Any],
    *,
    complete: bool,
    now: datetime | None = None,
) -> Answering:
    """Record the answers given through this link (see the module's docstring)."""
    now = now or datetime.now(UTC)
    found = await load(settings, token, now)
    if not found.is_open:
        raise FormClosed(closed_message(found, now))
    by_code = {q.code: q for q in found.questions}
    rows: dict[int, tuple[list[int], str | None]] = {}
    errors: dict[str, str] = {}
    for code, value in answers.items():
        question = by_code.get(code)
        if question is None:
            errors[str(code)[:40]] = _("Cette question n'existe pas.")
            continue
        if _empty(value):
            rows[question.id] = ([], None)
            continue
        try:
            rows[question.id] = check_value(question, value)
        except ValueError as exc:
            errors[code] = str(exc)
    if complete:
        for question in found.questions:
            given = rows.get(question.id)
            if question.required and (given is None or given == ([], None)):
                errors.setdefault(question.code, _("Cette question demande une réponse."))
    if errors:
        raise ValidationFailed(_("Corrigez les réponses signalées."), fields=errors)
    replaced = [q.id for q in found.questions] if complete else list(rows)
    await _write(settings, token, found, rows, replaced, now)
    return await load(settings, token, now)


async def _response(settings: Settings, token: str, found: Answering, now: datetime) -> Response:
    key = edit_key(settings, token)
    response = await Response.get_or_none(edit_key=key)
    if response is not None:
        return response
    form = found.form
    values: dict[str, Any] = {
        "form_id": form.id,
        "event_id": found.event.id,
        "edit_key": key,
        "submitted_at": _day(now) if form.anonymous else now,
    }
    if not form.anonymous:
        registration = found.invitation.registration
        person = await Person.get(id=registration.person_id)
        values.update(
            registration_id=registration.id,
            clientele_id=registration.clientele_id,
            territory_id=registration.territory_id or person.territory_id,
        )
    return await Response.create(**values)


async def _write(
    settings: Settings,
    token: str,
    found: Answering,
    rows: dict[int, tuple[list[int], str | None]],
    replaced: list[int],
    now: datetime,
) -> None:
    for attempt in range(2):
        try:
            async with in_transaction():
                response = await _response(settings, token, found, now)
                # One writer per response at a time (PostgreSQL: a row lock; SQLite
                # serializes write transactions): two saves of one link at once cannot
                # both keep their rows.
                await Response.filter(id=response.id).select_for_update().first()
                await Answer.filter(response_id=response.id, question_id__in=replaced).delete()
                new = [
                    Answer(response_id=response.id, question_id=qid, number=n)
                    for qid, (numbers, _text) in rows.items()
                    for n in numbers
                ] + [
                    Answer(response_id=response.id, question_id=qid, text=text)
                    for qid, (_numbers, text) in rows.items()
                    if text
                ]
                if new:
                    await Answer.bulk_create(new)
                answered = _day(now) if found.form.anonymous else now
                await Invitation.filter(id=found.invitation.id, answered_at=None).update(
                    answered_at=answered
                )
            return
        except IntegrityError:
            # Two first saves of one link at once: the other created the response.
            if attempt:
                raise
