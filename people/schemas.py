"""Pydantic input/output models of the people directory (forms and JSON API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.errors import ValidationFailed
from core.i18n import _
from core.inputs import DbId, parse_id
from people.models import ConsentPurpose, Sector
from people.phones import normalize_phone

LANGUAGES = ("fr", "en")


def check_email(value: str) -> str:
    """The address as typed (trimmed), or ValueError with a French message."""
    value = (value or "").strip()
    if not value:
        raise ValueError(_("L'adresse courriel est obligatoire."))
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise ValueError(_("Adresse courriel invalide.")) from None
    return value


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def people_filters(params: Mapping[str, str]) -> dict[str, Any]:
    """The directory filters of a query string, trimmed and bounded (`search_people`'s
    keyword arguments); an organization that is not an id → ValidationFailed (422)."""
    try:
        organization_id = parse_id(params.get("organization"))
    except ValueError:
        raise ValidationFailed(fields={"organization": _("Identifiant invalide.")}) from None
    return {
        "q": params.get("q", "").strip()[:200],
        "territory": params.get("territory", "").strip()[:10] or None,
        "clientele": params.get("clientele", "").strip()[:32] or None,
        "organization_id": organization_id,
    }


class PersonIn(BaseModel):
    """A person as typed in the back-office form or sent to the API."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str = Field(max_length=254)
    phone: str = Field(default="", max_length=40)
    language: str = "fr"
    organization_id: DbId | None = None
    clientele: str | None = Field(default=None, max_length=32)
    territory: str | None = Field(default=None, max_length=10)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return check_email(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        value = (value or "fr").strip().lower()
        if value not in LANGUAGES:
            raise ValueError(_("Langue invalide (fr ou en)."))
        return value

    @field_validator("organization_id", "clientele", "territory", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)


class OrganizationIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    sector: Sector = Sector.OTHER
    territory: str | None = Field(default=None, max_length=10)
    website: str = Field(default="", max_length=300)

    @field_validator("territory", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("sector", mode="before")
    @classmethod
    def _sector(cls, value: Any) -> Any:
        return _blank_to_none(value) or Sector.OTHER

    @field_validator("website")
    @classmethod
    def _website(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(_("Adresse web invalide (http ou https)."))
        return value


class ClienteleIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    name_fr: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    position: int = Field(default=0, ge=0, le=1000)
    active: bool = True


class ClienteleNew(ClienteleIn):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_-]*$")


class ConsentIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    purpose: ConsentPurpose
    granted: bool
    source: str = Field(default="backoffice", min_length=1, max_length=64)
    wording: str = Field(default="", max_length=5000)


# ---- API output ----


class ReferenceOut(BaseModel):
    code: str
    name: str


class OrganizationOut(BaseModel):
    id: int
    name: str
    sector: str
    territory: str | None = None


class ConsentOut(BaseModel):
    purpose: str
    granted: bool
    source: str
    wording: str
    at: str


class PersonOut(BaseModel):
    id: int
    first_name: str
    last_name: str
    email: str | None
    phone: str
    language: str
    organization: OrganizationOut | None = None
    clientele: ReferenceOut | None = None
    territory: ReferenceOut | None = None
    created_at: str
    updated_at: str
    erased: bool = False


class PersonDetailOut(PersonOut):
    consents: list[ConsentOut] = []


class ExportedOrganizationOut(BaseModel):
    id: int
    name: str
    sector: str
    website: str
    territory: str | None = None


class PersonExportOut(BaseModel):
    """Everything held on one person (Law 25 access request). Other packages add their
    own top-level keys (the registrations package: `registrations`, with answers and
    check-ins)."""

    model_config = ConfigDict(extra="allow")

    exported_at: str
    person: PersonOut
    organization: ExportedOrganizationOut | None = None
    consents: list[ConsentOut]
    registrations: list[dict[str, Any]] = []
    messages: list[dict[str, Any]]


class PersonPage(BaseModel):
    items: list[PersonOut]
    total: int
    page: int
    per_page: int
    has_next: bool


class RejectedLine(BaseModel):
    line: int
    error: str


class ImportResult(BaseModel):
    created: int
    updated: int
    unchanged: int = 0
    rejected: list[RejectedLine]


class TerritoryOut(BaseModel):
    code: str
    kind: str
    name: str
    region_code: str | None = None


class TerritoryList(BaseModel):
    items: list[TerritoryOut]


class ClienteleOut(BaseModel):
    code: str
    name_fr: str
    name_en: str
    name: str
    position: int
    active: bool


class ClienteleList(BaseModel):
    items: list[ClienteleOut]
