"""Evaluation forms, their questions, the personal invitations and the answers.

Where a form applies. A form belongs to one event. A form on an edition (an event with
children) may be shared by its activities (`shared_with_children`): each activity whose
own form is absent uses it, its invitations and responses record the activity
(`event_id`), so the edition's results compare activities. `form_for_event` in
`evaluations.forms` is the one place that decides.

Anonymity. A response of an anonymous form has no link to the person, the registration
or the invitation (no column for it: `registration_id`, `clientele_id` and `territory_id`
stay NULL; a test reads the table): the invitation keeps only that it was answered
(`answered_at`, to the day for an anonymous form, so times cannot be matched either).
A second visit finds its response by `edit_key`, a keyed hash of the personal link that
only the link (or SECRET_KEY with the link's invitation number) can recompute.

Answers are one row per (response, question, chosen value): distributions, averages and
breakdowns are SQL GROUP BY on `evaluations_answer` (see `evaluations.results`).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

# Bounds, shared by the schemas, the pages and the checks.
CODE_MAX = 40
LABEL_MAX = 300
OPTION_MAX = 120
MAX_OPTIONS = 20
MAX_QUESTIONS = 40
TEXT_MAX = 300
LONG_TEXT_MAX = 4000


class QuestionKind(StrEnum):
    RATING = "rating"  # 1–5
    CHOICE = "choice"  # one option
    MULTI = "multi"  # several options
    TEXT = "text"  # one line
    LONG_TEXT = "long_text"  # a paragraph
    NPS = "nps"  # would you recommend, 0–10


CHOICE_KINDS = (QuestionKind.CHOICE, QuestionKind.MULTI)
NUMBER_KINDS = (QuestionKind.RATING, QuestionKind.NPS)
TEXT_KINDS = (QuestionKind.TEXT, QuestionKind.LONG_TEXT)


class EvaluationForm(Model):
    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Event", related_name=False, on_delete=fields.CASCADE
    )
    event_id: int
    anonymous = fields.BooleanField(default=True)
    # A form on an edition also serves its activities that have none of their own.
    shared_with_children = fields.BooleanField(default=False)
    intro_fr = fields.CharField(max_length=1000, default="")
    intro_en = fields.CharField(max_length=1000, default="")
    # NULL: from the event's end (+ the thank-you delay); until 30 days after it.
    opens_at = fields.DatetimeField(null=True)
    closes_at = fields.DatetimeField(null=True)
    reminder_days = fields.IntField(default=7)  # 0: no reminder
    sent_at = fields.DatetimeField(null=True)  # first invitations queued
    reminded_at = fields.DatetimeField(null=True)  # last reminder round that queued some
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    questions: fields.ReverseRelation[Question]

    class Meta:
        table = "evaluations_form"
        unique_together = (("event",),)


class Question(Model):
    id = fields.IntField(primary_key=True)
    form: fields.ForeignKeyRelation[EvaluationForm] = fields.ForeignKeyField(
        "evaluations.EvaluationForm", related_name="questions", on_delete=fields.CASCADE
    )
    form_id: int
    code = fields.CharField(max_length=CODE_MAX)
    kind = fields.CharEnumField(QuestionKind, max_length=10)
    label_fr = fields.CharField(max_length=LABEL_MAX)
    label_en = fields.CharField(max_length=LABEL_MAX, default="")
    options_fr: fields.JSONField[list[str]] = fields.JSONField(default=list)
    options_en: fields.JSONField[list[str]] = fields.JSONField(default=list)
    required = fields.BooleanField(default=False)
    position = fields.IntField(default=0)

    class Meta:
        table = "evaluations_question"
        unique_together = (("form", "code"),)
        ordering = ["position", "id"]

    def label(self, language: str) -> str:
        return self.label_en if language == "en" and self.label_en else self.label_fr

    def options(self, language: str) -> list[str]:
        if language == "en" and len(self.options_en) == len(self.options_fr):
            return [en or fr for en, fr in zip(self.options_en, self.options_fr, strict=True)]
        return list(self.options_fr)

    @property
    def scale(self) -> range:
        """The values a rating or NPS question accepts."""
        return range(1, 6) if self.kind == QuestionKind.RATING else range(0, 11)


class Invitation(Model):
    """One personal link: a registration of one activity invited to one form."""

    id = fields.IntField(primary_key=True)
    form: fields.ForeignKeyRelation[EvaluationForm] = fields.ForeignKeyField(
        "evaluations.EvaluationForm", related_name=False, on_delete=fields.CASCADE
    )
    form_id: int
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Event", related_name=False, on_delete=fields.CASCADE
    )
    event_id: int
    registration: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "registrations.Registration", related_name=False, on_delete=fields.CASCADE
    )
    registration_id: int
    sent_at = fields.DatetimeField(null=True)
    reminded_at = fields.DatetimeField(null=True)
    answered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "evaluations_invitation"
        unique_together = (("form", "registration"),)
        indexes = (("form_id", "event_id"),)


class Response(Model):
    id = fields.IntField(primary_key=True)
    form: fields.ForeignKeyRelation[EvaluationForm] = fields.ForeignKeyField(
        "evaluations.EvaluationForm", related_name=False, on_delete=fields.CASCADE
    )
    form_id: int
    event: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "events.Event", related_name=False, on_delete=fields.CASCADE
    )
    event_id: int
    edit_key = fields.CharField(max_length=64, unique=True)
    # Linked forms only (NULL on an anonymous form's responses).
    registration: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "registrations.Registration", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    registration_id: int | None
    clientele: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "people.Clientele", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    clientele_id: int | None
    territory: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "people.Territory", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    territory_id: int | None
    submitted_at = fields.DatetimeField()

    class Meta:
        table = "evaluations_response"
        indexes = (("form_id", "event_id"),)


class Answer(Model):
    """One chosen value: a number (rating, NPS, the option's index) or a text."""

    id = fields.IntField(primary_key=True)
    response: fields.ForeignKeyRelation[Response] = fields.ForeignKeyField(
        "evaluations.Response", related_name="answers", on_delete=fields.CASCADE
    )
    response_id: int
    question: fields.ForeignKeyRelation[Question] = fields.ForeignKeyField(
        "evaluations.Question", related_name=False, on_delete=fields.CASCADE
    )
    question_id: int
    number = fields.IntField(null=True)
    text = fields.TextField(null=True)

    class Meta:
        table = "evaluations_answer"
        indexes = (
            ("question_id", "number"),
            # Covering: respondents of a multiple choice, ratings by clientele and MRC.
            ("question_id", "response_id", "number"),
            ("response_id",),
        )
