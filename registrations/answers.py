"""The questions an event asks its registrants, and the cleaning of their answers.

A question belongs to its event's registration form: saving or deleting one moves the
event's `updated_at`, which is what the per-process copies of a form are keyed by.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.signals import post_delete, post_save

from core.i18n import _
from events.models import Event
from registrations.models import Question, QuestionKind


async def event_questions(event_id: int) -> list[Question]:
    return list(await Question.filter(event_id=event_id, active=True).order_by("position", "id"))


def clean_answers(
    questions: list[Question], answers: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check answers against the event's questions; returns (answers, field errors)."""
    errors: dict[str, str] = {}
    by_id = {str(q.id): q for q in questions}
    for key in answers:
        if key not in by_id:
            errors[f"answers.{key}"] = _("Question inconnue pour cet événement.")
    cleaned: dict[str, Any] = {}
    for key, question in by_id.items():
        value = answers.get(key)
        field = f"answers.{key}"
        empty = value is None or value == "" or value == []
        if empty:
            if question.required:
                errors[field] = _("Cette question est obligatoire.")
            continue
        kind = QuestionKind(question.kind)
        if kind in (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT):
            limit = 200 if kind == QuestionKind.SHORT_TEXT else 5000
            if not isinstance(value, str):
                errors[field] = _("Une réponse en texte est attendue.")
            elif len(value) > limit:
                errors[field] = _("Réponse trop longue (%(n)s caractères au maximum).", n=limit)
            else:
                cleaned[key] = value.strip()
        elif kind == QuestionKind.SINGLE_CHOICE:
            if value not in question.choices:
                errors[field] = _("Choisissez une des options proposées.")
            else:
                cleaned[key] = value
        elif kind == QuestionKind.MULTIPLE_CHOICE:
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) and v in question.choices for v in values):
                errors[field] = _("Choisissez parmi les options proposées.")
            else:
                cleaned[key] = [c for c in question.choices if c in values]
        elif kind == QuestionKind.YES_NO:
            if isinstance(value, bool):
                cleaned[key] = value
            elif str(value).lower() in {"oui", "yes", "true", "1", "on"}:
                cleaned[key] = True
            elif str(value).lower() in {"non", "no", "false", "0", "off"}:
                cleaned[key] = False
            else:
                errors[field] = _("Répondez par oui ou par non.")
        elif kind == QuestionKind.NUMBER:
            try:
                number = float(str(value).replace(",", "."))
            except ValueError:
                errors[field] = _("Un nombre est attendu.")
            else:
                if abs(number) > 1_000_000_000:
                    errors[field] = _("Nombre hors limites.")
                else:
                    cleaned[key] = int(number) if number.is_integer() else number
    return cleaned, errors


def format_answer(question: Question | None, value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


@post_save(Question)
async def _question_saved(sender: Any, instance: Question, *args: Any) -> None:
    await _question_changed(instance)


@post_delete(Question)
async def _question_deleted(sender: Any, instance: Question, *args: Any) -> None:
    await _question_changed(instance)


async def _question_changed(question: Question) -> None:
    """A question belongs to its event's registration form: the event changes with it."""
    await Event.filter(id=question.event_id).update(updated_at=datetime.now(UTC))
