"""Input of the public JPS activity-submission form (and of the submitter's edit form).

Every rule that only needs the submitted values lives here as a field validator, so one
validation pass reports every field at once. The rules that depend on the edition (its
week, its region's MRCs, the existing clienteles) are checked by the same validators when
the service passes them in the validation context (`SubmissionContext`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from core.i18n import _, format_day
from core.inputs import Moment
from core.settings import local_tz

MAX_DESCRIPTION = 5_000
MAX_PARTICIPANTS = 100_000
MAX_MESSAGE = 5_000

_SPACES = re.compile(r"\s+")


@dataclass
class SubmissionContext:
    """What the edition allows: its local dates, the MRC codes offered, the clienteles."""

    first_day: date
    last_day: date
    mrc_codes: set[str] = field(default_factory=set)
    clientele_codes: set[str] = field(default_factory=set)


def _context(info: ValidationInfo) -> SubmissionContext | None:
    ctx = info.context
    if isinstance(ctx, dict):
        value = ctx.get("submission")
        return value if isinstance(value, SubmissionContext) else None
    return None


def _strip_controls(value: str, *, keep_newlines: bool) -> str:
    allowed = "\n\t" if keep_newlines else ""
    text = "".join(ch for ch in value if ch in allowed or ord(ch) >= 32 and ch != "\x7f")
    return text.replace("\r", "")


def one_line_text(value: Any) -> Any:
    """Single-line text: control characters removed, white space collapsed."""
    if isinstance(value, str):
        return _SPACES.sub(" ", _strip_controls(value, keep_newlines=False)).strip()
    return value


def multi_line_text(value: Any) -> Any:
    """Multi-line text: CR removed, other control characters removed, trimmed."""
    if isinstance(value, str):
        return _strip_controls(value.replace("\r\n", "\n"), keep_newlines=True).strip()
    return value


def week_message(ctx: SubmissionContext) -> str:
    return _(
        "L'activité doit avoir lieu pendant l'édition, du %(start)s au %(end)s.",
        start=format_day(ctx.first_day),
        end=format_day(ctx.last_day),
    )


class SubmissionIn(BaseModel):
    """A partner's proposed activity. Datetimes without an offset are in the local time zone."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    starts_at: Moment
    ends_at: Moment
    venue_name: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=300, validate_default=True)
    territory: str = Field(default="", max_length=10, validate_default=True)
    clienteles: list[str] = Field(default_factory=list, validate_default=True)
    organization_name: str = Field(min_length=1, max_length=200)
    contact_name: str = Field(min_length=1, max_length=200)
    contact_email: str = Field(default="", max_length=254, validate_default=True)
    contact_phone: str = Field(default="", max_length=40)
    expected_participants: int | None = Field(default=None, ge=0, le=MAX_PARTICIPANTS)
    wants_registration: bool = False

    _one_line = field_validator(
        "title",
        "venue_name",
        "address",
        "territory",
        "organization_name",
        "contact_name",
        "contact_email",
        "contact_phone",
        mode="before",
    )(one_line_text)
    _multi_line = field_validator("description", mode="before")(multi_line_text)

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _blank_datetime(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError(_("Indiquez la date et l'heure."))
        return value.strip() if isinstance(value, str) else value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _local(cls, value: datetime, info: ValidationInfo) -> datetime:
        value = value.replace(tzinfo=local_tz()) if value.tzinfo is None else value
        ctx = _context(info)
        if ctx is not None:
            day = value.astimezone(local_tz()).date()
            if not ctx.first_day <= day <= ctx.last_day:
                raise ValueError(week_message(ctx))
        if info.field_name == "ends_at":
            starts_at = info.data.get("starts_at")
            if isinstance(starts_at, datetime) and value <= starts_at:
                raise ValueError(_("La fin doit être après le début."))
        return value

    @field_validator("address")
    @classmethod
    def _place(cls, value: str, info: ValidationInfo) -> str:
        if not value and not info.data.get("venue_name"):
            raise ValueError(_("Indiquez le nom du lieu ou son adresse."))
        return value

    @field_validator("territory")
    @classmethod
    def _territory(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError(_("Choisissez la MRC où a lieu l'activité."))
        ctx = _context(info)
        if ctx is not None and value not in ctx.mrc_codes:
            raise ValueError(_("Choisissez une MRC de la liste."))
        return value

    @field_validator("clienteles", mode="before")
    @classmethod
    def _clientele_list(cls, value: Any) -> Any:
        if value is None or value == "":
            return []
        if isinstance(value, str):
            return [value]
        return value

    @field_validator("clienteles")
    @classmethod
    def _clienteles(cls, value: list[str], info: ValidationInfo) -> list[str]:
        codes = list(dict.fromkeys(code.strip() for code in value if code.strip()))
        if not codes:
            raise ValueError(_("Choisissez au moins une clientèle visée."))
        if len(codes) > 20 or any(len(code) > 32 for code in codes):
            raise ValueError(_("Choisissez des clientèles de la liste."))
        ctx = _context(info)
        if ctx is not None and any(code not in ctx.clientele_codes for code in codes):
            raise ValueError(_("Choisissez des clientèles de la liste."))
        return codes

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not value:
            raise ValueError(_("L'adresse courriel de la personne-ressource est obligatoire."))
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError(_("Adresse courriel invalide.")) from None

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if value and sum(ch.isdigit() for ch in value) < 7:
            raise ValueError(_("Numéro de téléphone invalide."))
        return value

    @field_validator("expected_participants", mode="before")
    @classmethod
    def _blank_number(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().replace(" ", "").replace("\u00a0", "")
            return value or None
        return value

    @field_validator("wants_registration", mode="before")
    @classmethod
    def _checkbox(cls, value: Any) -> Any:
        if value is None or value == "":
            return False
        return value


class DecisionIn(BaseModel):
    """A moderator's message with a decision."""

    model_config = ConfigDict(extra="ignore")

    message: str = Field(default="", max_length=MAX_MESSAGE)

    _clean = field_validator("message", mode="before")(multi_line_text)
