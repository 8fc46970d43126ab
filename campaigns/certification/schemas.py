"""Pydantic input/output models of the employer certification (forms and JSON API).

Bounds follow the columns; the French messages of the rules that only need the submitted
values live here (NEQ, student employees), so one validation pass reports every field.
The rules that need the program (known criteria, required criteria on submit) are in
`campaigns.certification.applications`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from campaigns.schemas import _no_nul
from core.i18n import N_, _
from core.inputs import DbId, Moment

MAX_EVIDENCE = 2_000
MAX_MESSAGE = 5_000
MAX_CRITERIA = 50
MAX_LEVELS = 10
MAX_PEOPLE = 1_000_000

# Employer sectors (codes stored on the employer; labels through the catalog).
EMPLOYER_SECTORS: dict[str, str] = {
    "retail": N_("Commerce de détail"),
    "food_service": N_("Restauration et alimentation"),
    "accommodation": N_("Hébergement et tourisme"),
    "manufacturing": N_("Fabrication"),
    "agriculture": N_("Agriculture et agroalimentaire"),
    "construction": N_("Construction"),
    "services": N_("Services professionnels et personnels"),
    "health": N_("Santé et services sociaux"),
    "recreation": N_("Loisirs, culture et sport"),
    "public": N_("Secteur public et municipal"),
    "community": N_("Organisme communautaire"),
    "other": N_("Autre"),
}
SectorCode = Literal[
    "retail",
    "food_service",
    "accommodation",
    "manufacturing",
    "agriculture",
    "construction",
    "services",
    "health",
    "recreation",
    "public",
    "community",
    "other",
]
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
TransitionTarget = Literal["under_review", "certified", "changes_requested", "refused", "revoked"]
ApplicationStatusName = Literal[
    "draft",
    "submitted",
    "under_review",
    "changes_requested",
    "certified",
    "refused",
    "expiring",
    "renewed",
    "lapsed",
    "revoked",
]

_SPACES = re.compile(r"\s+")
_NEQ_SEPARATORS = re.compile(r"[\s.-]")


def sector_label(code: str) -> str:
    return _(EMPLOYER_SECTORS[code]) if code in EMPLOYER_SECTORS else code


def sector_choices() -> list[tuple[str, str]]:
    return [(code, _(label)) for code, label in EMPLOYER_SECTORS.items()]


def _one_line(value: Any) -> Any:
    if isinstance(value, str):
        text = "".join(ch for ch in value if ord(ch) >= 32 and ch != "\x7f")
        return _SPACES.sub(" ", text).strip()
    return value


def _multi_line(value: Any) -> Any:
    if isinstance(value, str):
        text = value.replace("\r\n", "\n").replace("\r", "\n")
        return "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32 and ch != "\x7f").strip()
    return value


def clean_neq(value: str) -> str:
    """A NEQ as typed ("1 234-567 890") → its 10 digits; ValueError (French) otherwise."""
    digits = _NEQ_SEPARATORS.sub("", value)
    if not (len(digits) == 10 and digits.isascii() and digits.isdigit()):
        raise ValueError(
            _("Le NEQ compte exactement 10 chiffres (par exemple 1171234567), ou laissez-le vide.")
        )
    return digits


# --------------------------------------------------------------------------- programs


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    text: str = Field(min_length=1, max_length=2_000, description="Libellé en français.")
    text_en: str = Field(default="", max_length=2_000)
    required: bool = False
    evidence_asked: bool = False
    points: int = Field(default=0, ge=0, le=1_000)


class LevelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: str = Field(min_length=1, max_length=100, description="Nom en français.")
    name_en: str = Field(default="", max_length=100)
    min_points: int = Field(default=0, ge=0, le=100_000)


class CohortIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    opens_at: Moment
    closes_at: Moment

    @model_validator(mode="after")
    def _order(self) -> CohortIn:
        if self.closes_at <= self.opens_at:
            raise ValueError(_("La période doit se terminer après son ouverture."))
        if self.opens_at.tzinfo is None or self.closes_at.tzinfo is None:
            raise ValueError(_("Indiquez le fuseau horaire (ex. 2027-02-10T09:00:00-05:00)."))
        return self


class ProgramIn(BaseModel):
    """A certification program with its criteria, levels and application periods."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    description_fr: str = Field(default="", max_length=10_000)
    description_en: str = Field(default="", max_length=10_000)
    validity_months: int = Field(default=24, ge=1, le=120)
    renewal_window_days: int = Field(default=90, ge=0, le=365)
    active: bool = True
    criteria: list[CriterionIn] = Field(min_length=1, max_length=MAX_CRITERIA)
    levels: list[LevelIn] = Field(min_length=1, max_length=MAX_LEVELS)
    cohorts: list[CohortIn] = Field(default_factory=list, max_length=20)
    plan_items: list[Annotated[str, Field(min_length=1, max_length=20)]] = Field(
        default_factory=list, max_length=50, description="Codes d'actions du plan."
    )
    reviewers: list[Annotated[str, Field(min_length=3, max_length=254)]] = Field(
        default_factory=list,
        max_length=50,
        description="Courriels des comptes examinateurs du programme (aucun : tout examinateur).",
    )

    @model_validator(mode="before")
    @classmethod
    def _nul(cls, data: Any) -> Any:
        return _no_nul(data)

    @model_validator(mode="after")
    def _unique_codes(self) -> ProgramIn:
        for name, items in (("criteria", self.criteria), ("levels", self.levels)):
            codes = [item.code for item in items]
            if len(set(codes)) != len(codes):
                raise ValueError(_("Chaque code doit être unique (%(field)s).", field=name))
        return self


class CriterionOut(BaseModel):
    code: str
    text: str
    text_en: str
    required: bool
    evidence_asked: bool
    points: int


class LevelOut(BaseModel):
    code: str
    name: str
    name_en: str
    min_points: int


class ProgramOut(BaseModel):
    id: int
    name: str
    validity_months: int
    renewal_window_days: int
    active: bool
    criteria: list[CriterionOut]
    levels: list[LevelOut]


# --------------------------------------------------------------------------- applications


class EmployerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_name: str = Field(min_length=1, max_length=200)
    neq: str | None = Field(
        default=None, max_length=20, description="Numéro d'entreprise du Québec (10 chiffres)."
    )
    sector: SectorCode
    address: str = Field(default="", max_length=300)
    territory: str = Field(min_length=1, max_length=10, description="Code de la MRC.")
    employees: int = Field(ge=0, le=MAX_PEOPLE)
    student_employees: int = Field(ge=0, le=MAX_PEOPLE)

    @field_validator("legal_name", "address", "territory", mode="before")
    @classmethod
    def _line(cls, value: Any) -> Any:
        return _one_line(value)

    @field_validator("neq")
    @classmethod
    def _neq(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return clean_neq(value)

    @field_validator("student_employees")
    @classmethod
    def _students(cls, value: int, info: ValidationInfo) -> int:
        employees = info.data.get("employees")
        if isinstance(employees, int) and value > employees:
            raise ValueError(_("Le nombre d'employés aux études dépasse le nombre d'employés."))
        return value


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str = Field(min_length=3, max_length=254)
    phone: str = Field(default="", max_length=40)
    consent: bool = Field(
        default=False,
        description="La personne accepte que ses coordonnées servent au traitement de la "
        "demande (obligatoire).",
    )

    @field_validator("first_name", "last_name", "email", "phone", mode="before")
    @classmethod
    def _line(cls, value: Any) -> Any:
        return _one_line(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        from people.imports import is_valid_email

        if not is_valid_email(value):
            raise ValueError(_("Adresse courriel invalide."))
        return value

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if not value:
            raise ValueError(_("Votre accord est nécessaire pour que nous traitions la demande."))
        return value


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    met: bool
    evidence: str = Field(default="", max_length=MAX_EVIDENCE)

    @field_validator("evidence", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _multi_line(value)


class ApplicationIn(BaseModel):
    """An employer's application: saved as a draft, or submitted (`submit`)."""

    model_config = ConfigDict(extra="forbid")

    program_id: DbId
    employer: EmployerIn
    contact: ContactIn
    answers: dict[Code, AnswerIn] = Field(default_factory=dict, max_length=MAX_CRITERIA)
    publish_in_directory: bool = False
    submit: bool = False
    language: Literal["fr", "en"] = "fr"
    idempotency_key: str | None = Field(
        default=None,
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Une même clé renvoyée (double envoi) ne crée pas une deuxième demande.",
    )

    @model_validator(mode="before")
    @classmethod
    def _nul(cls, data: Any) -> Any:
        return _no_nul(data)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: TransitionTarget
    level: Code | None = Field(default=None, description="Code du niveau (pour certified).")
    message: str = Field(
        default="",
        max_length=MAX_MESSAGE,
        description="Message à l'employeur (obligatoire pour changes_requested et revoked).",
    )
    note: str = Field(default="", max_length=MAX_MESSAGE, description="Note interne.")

    @model_validator(mode="before")
    @classmethod
    def _nul(cls, data: Any) -> Any:
        return _no_nul(data)

    @field_validator("message", "note", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _multi_line(value)


class CertificateOut(BaseModel):
    code: str
    level: str
    level_name: str
    status: Literal["valid", "expiring", "renewed", "lapsed", "revoked"]
    issued_at: datetime
    valid_until: datetime
    verify_url: str


class EmployerOut(BaseModel):
    legal_name: str
    neq: str | None
    sector: str
    address: str
    territory: str | None
    employees: int
    student_employees: int


class ApplicationOut(BaseModel):
    id: int
    program_id: int
    status: ApplicationStatusName
    employer: EmployerOut
    points: int
    suggested_level: str | None = Field(description="Code du niveau atteint par les points.")
    previous_id: int | None
    submitted_at: datetime | None
    certificate: CertificateOut | None


class ApplicationCreatedOut(BaseModel):
    id: int
    status: Literal["draft", "submitted"]
    resume_url: str = Field(description="Lien personnel pour reprendre ou suivre la demande.")
