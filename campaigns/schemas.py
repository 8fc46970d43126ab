"""Pydantic input/output models of the campaigns (forms and JSON API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campaigns.models import CampaignKind
from core.i18n import _
from core.inputs import DbId, Moment, text_problem
from people.models import ConsentPurpose, Sector

MAX_IDS = 200
# The audience filters that hold lists (a form sends each as repeated fields or one text).
LIST_FIELDS = (
    "clienteles",
    "regions",
    "territories",
    "sectors",
    "organizations",
    "languages",
    "tags",
    "registered_event",
    "attended_event",
    "not_attended_event",
    "not_registered_event",
)
# The lengths of the columns they are compared with (a longer value matches nothing and
# the ORM refuses it in a query: a field error instead).
ClienteleCode = Annotated[str, Field(min_length=1, max_length=32)]
TerritoryCode = Annotated[str, Field(min_length=1, max_length=10)]
TagName = Annotated[str, Field(min_length=1, max_length=60)]


def _no_nul(value: Any) -> Any:
    """Text a column cannot hold (core.inputs.text_problem) is a 422, also when these
    models are filled from elsewhere than an HTTP body (a CSV list, the editor)."""
    if isinstance(value, str) and (problem := text_problem(value)):
        raise ValueError(problem)
    if isinstance(value, dict):
        for item in value.values():
            _no_nul(item)
    if isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


def _list_or_comma_text(schema: dict[str, Any]) -> None:
    """The documented type of a list filter: an array, or one comma-separated text (what a
    form's field sends), which `_codes` splits."""
    array = dict(schema)
    title = array.pop("title", None)
    schema.clear()
    if title:
        schema["title"] = title
    schema["anyOf"] = [array, {"type": "string", "maxLength": 10_000}]


def _codes(value: Any) -> Any:
    """A comma-separated text is a list of codes (blank parts ignored); an array is taken
    as sent, for the items' own types to judge."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class AudienceFilters(BaseModel):
    """The saved filter of an audience. Inside one criterion the values are alternatives
    (any of them); criteria combine (all of them). An empty filter is the whole directory."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    clienteles: list[ClienteleCode] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )
    regions: list[TerritoryCode] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )
    territories: list[TerritoryCode] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )
    sectors: list[Sector] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )
    organizations: list[DbId] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )
    languages: list[str] = Field(
        default_factory=list, max_length=2, json_schema_extra=_list_or_comma_text
    )
    tags: list[TagName] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )
    consent: ConsentPurpose | None = None
    registered_event: list[DbId] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )
    attended_event: list[DbId] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )
    not_attended_event: list[DbId] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )
    not_registered_event: list[DbId] = Field(
        default_factory=list, max_length=MAX_IDS, json_schema_extra=_list_or_comma_text
    )

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _codes(value)

    @model_validator(mode="before")
    @classmethod
    def _nul(cls, data: Any) -> Any:
        return _no_nul(data)

    @field_validator("consent", mode="before")
    @classmethod
    def _blank_consent(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for language in value:
            if language not in ("fr", "en"):
                raise ValueError(_("Langue inconnue : %(value)s", value=language))
        return value


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    filters: AudienceFilters = Field(default_factory=AudienceFilters)

    @model_validator(mode="before")
    @classmethod
    def _nul(cls, data: Any) -> Any:
        return _no_nul(data)


class CampaignIn(BaseModel):
    """A campaign as written in the editor or sent to the API."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: CampaignKind
    name: str = Field(min_length=1, max_length=200)
    audience_id: DbId | None = None
    event_id: DbId | None = None
    follows_id: DbId | None = Field(
        default=None,
        description="Rappel d'une invitation : envoyé seulement à ses invités sans réponse.",
    )
    subject_fr: str = Field(min_length=1, max_length=300)
    body_fr: str = Field(min_length=1, max_length=100_000)
    subject_en: str = Field(default="", max_length=300)
    body_en: str = Field(default="", max_length=100_000)
    scheduled_at: Moment | None = None
    plan_items: list[Annotated[str, Field(min_length=1, max_length=20)]] = Field(
        default_factory=list,
        max_length=50,
        description="Codes des éléments du plan d'action que la campagne sert.",
    )
    plan_id: DbId | None = Field(
        default=None,
        description="Le plan des codes plan_items (défaut : le plan de l'année de l'événement "
        "visé ou de l'envoi, sinon le plan actif le plus récent).",
    )

    @model_validator(mode="before")
    @classmethod
    def _nul(cls, data: Any) -> Any:
        return _no_nul(data)

    @field_validator(
        "audience_id", "event_id", "follows_id", "scheduled_at", "plan_id", mode="before"
    )
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("scheduled_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(_("Indiquez le fuseau horaire (ex. 2027-02-10T09:00:00-05:00)."))
        return value

    @model_validator(mode="after")
    def _rules(self) -> CampaignIn:
        if self.kind in (CampaignKind.INVITATION, CampaignKind.REMINDER) and not self.event_id:
            raise ValueError(_("Une invitation ou un rappel doit viser un événement."))
        if bool(self.subject_en) != bool(self.body_en):
            raise ValueError(
                _("La version anglaise demande un objet et un texte (ou ni l'un ni l'autre).")
            )
        return self


# --------------------------------------------------------------------------- outputs


class AudienceOut(BaseModel):
    id: int
    name: str
    kind: str
    filters: dict[str, Any]
    purpose: str = Field(description="Consentement exigé des destinataires.")
    count: int = Field(description="Personnes jointes, exclusions retirées.")
    excluded: dict[str, int] = Field(
        description="Exclus par raison : erased, no_email, hard_bounced, unsubscribed, no_consent."
    )


class PreviewPerson(BaseModel):
    id: int
    first_name: str
    last_name: str
    email: str
    language: str
    organization: str | None


class AudiencePreviewOut(AudienceOut):
    preview: list[PreviewPerson]


class CampaignStateOut(BaseModel):
    id: int
    status: str


class FunnelOut(BaseModel):
    audience: int
    excluded: int
    pending: int
    queued: int
    sent: int
    failed: int
    bounced: int
    opened: int = Field(description="Approximatif (image de suivi).")
    clicked: int = Field(description="Liens du message (version HTML).")
    accepted: int
    declined: int
    registered: int | None = Field(description="null sans événement visé.")
    attended: int | None = Field(description="null sans événement visé.")


class BreakdownRow(BaseModel):
    code: str | None
    label: str
    recipients: int
    sent: int


class CampaignOut(BaseModel):
    id: int
    kind: CampaignKind
    name: str
    status: str
    purpose: str
    audience_id: int | None
    event_id: int | None
    subject_fr: str
    subject_en: str
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    plan_items: list[str]
    funnel: FunnelOut
    by_clientele: list[BreakdownRow]
    by_territory: list[BreakdownRow]
