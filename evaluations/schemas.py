"""Pydantic input/output models of the evaluations (the JSON API and the editor)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.i18n import _
from core.inputs import Moment, text_problem
from evaluations.models import (
    CODE_MAX,
    LABEL_MAX,
    LONG_TEXT_MAX,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    OPTION_MAX,
)

Kind = Literal["rating", "choice", "multi", "text", "long_text", "nps"]
Code = Annotated[str, Field(min_length=1, max_length=CODE_MAX, pattern=r"^[a-z0-9_]+$")]
Option = Annotated[str, Field(min_length=1, max_length=OPTION_MAX)]
AnswerText = Annotated[str, Field(max_length=LONG_TEXT_MAX)]
AnswerInt = Annotated[int, Field(ge=0, le=MAX_OPTIONS)]
AnswerValue = (
    AnswerInt
    | AnswerText
    | Annotated[list[AnswerInt | Option], Field(max_length=MAX_OPTIONS)]
    | None
)


def _clean_text(value: Any) -> Any:
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValueError(problem)
    if isinstance(value, list):
        for item in value:
            _clean_text(item)
    return value


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    kind: Kind
    label_fr: Annotated[str, Field(min_length=1, max_length=LABEL_MAX)]
    label_en: Annotated[str, Field(max_length=LABEL_MAX)] = ""
    options: Annotated[list[Option], Field(max_length=MAX_OPTIONS)] = []
    options_en: Annotated[list[Option], Field(max_length=MAX_OPTIONS)] = []
    required: bool = False

    _text = field_validator("label_fr", "label_en", "options", "options_en")(_clean_text)

    @field_validator("label_fr")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(_("Ce champ est obligatoire."))
        return value.strip()

    @model_validator(mode="after")
    def _options_fit_the_kind(self) -> QuestionIn:
        if self.kind in ("choice", "multi"):
            if len(self.options) < 2:
                raise ValueError(_("Une question à choix demande au moins deux options."))
            if len({o.strip().casefold() for o in self.options}) != len(self.options):
                raise ValueError(_("Les options doivent être différentes."))
            if self.options_en and len(self.options_en) != len(self.options):
                raise ValueError(_("Donnez autant d'options en anglais qu'en français."))
        elif self.options or self.options_en:
            raise ValueError(_("Seules les questions à choix ont des options."))
        return self


class FormIn(BaseModel):
    """The whole form: its questions replace the previous ones (matched by code)."""

    model_config = ConfigDict(extra="forbid")

    anonymous: bool = True
    shared_with_children: bool = False
    intro_fr: Annotated[str, Field(max_length=1000)] = ""
    intro_en: Annotated[str, Field(max_length=1000)] = ""
    opens_at: Moment | None = None
    closes_at: Moment | None = None
    reminder_days: Annotated[int, Field(ge=0, le=60)] = 7
    questions: Annotated[list[QuestionIn], Field(min_length=1, max_length=MAX_QUESTIONS)]

    _text = field_validator("intro_fr", "intro_en")(_clean_text)

    @model_validator(mode="after")
    def _coherent(self) -> FormIn:
        codes = [q.code for q in self.questions]
        if len(set(codes)) != len(codes):
            raise ValueError(_("Deux questions ont le même code."))
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError(_("La fermeture doit suivre l'ouverture."))
        return self


class FormSettingsIn(BaseModel):
    """The editor's settings block (questions are edited one by one)."""

    model_config = ConfigDict(extra="forbid")

    anonymous: bool = True
    shared_with_children: bool = False
    intro_fr: Annotated[str, Field(max_length=1000)] = ""
    intro_en: Annotated[str, Field(max_length=1000)] = ""
    opens_at: Moment | None = None
    closes_at: Moment | None = None
    reminder_days: Annotated[int, Field(ge=0, le=60)] = 7

    _text = field_validator("intro_fr", "intro_en")(_clean_text)

    @model_validator(mode="after")
    def _coherent(self) -> FormSettingsIn:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError(_("La fermeture doit suivre l'ouverture."))
        return self


class QuestionOut(BaseModel):
    code: str
    kind: Kind
    label_fr: str
    label_en: str
    options: list[str]
    options_en: list[str]
    required: bool
    position: int


class FormOut(BaseModel):
    id: int
    event_id: int
    anonymous: bool
    shared_with_children: bool
    opens_at: datetime | None
    closes_at: datetime | None
    reminder_days: int
    sent_at: datetime | None
    questions: list[QuestionOut]


class AnswersIn(BaseModel):
    """`{answers: {code: value}}`: a number (rating 1–5, NPS 0–10, an option's index), a
    text, or a list (multiple choice: indexes or option texts); null clears."""

    model_config = ConfigDict(extra="forbid")

    answers: Annotated[dict[Code, AnswerValue], Field(max_length=MAX_QUESTIONS)]
    # true: the whole form is submitted (required questions checked); false: the page
    # saving one answer as the participant goes.
    complete: bool = True


class AnswersOut(BaseModel):
    saved: bool
    complete: bool
    answered: list[str]
    closes_at: datetime | None


class SendOut(BaseModel):
    queued: int


class DistributionRow(BaseModel):
    value: int | str
    label: str
    count: int


class QuestionResult(BaseModel):
    code: str
    kind: Kind
    label: str
    count: int
    mean: float | None = None
    nps: int | None = None
    distribution: list[DistributionRow] | None = None


class GroupResult(BaseModel):
    code: str
    name: str
    responses: int
    mean_satisfaction: float | None
    satisfaction_count: int


class ResultsOut(BaseModel):
    form_id: int
    event_id: int
    anonymous: bool
    invited: int
    responses: int
    response_rate: float | None
    mean_satisfaction: float | None
    satisfaction_count: int
    nps: int | None
    questions: list[QuestionResult]
    by_clientele: list[GroupResult] | None = None
    by_territory: list[GroupResult] | None = None
