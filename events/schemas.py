"""Pydantic input/output models for events (shared by the JSON API and the HTML forms)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.i18n import _
from core.inputs import DbId, Moment
from core.settings import DEFAULT_TIME_ZONE, MAX_RETENTION_MONTHS
from events.models import (
    DEFAULT_MAX_PUBLIC_PARTY,
    AttendanceMode,
    EventKind,
    PartnerRole,
    PhoneField,
    Visibility,
    all_day_span,
)

MAX_DESCRIPTION = 20_000
MAX_ATTESTATION_HOURS = 500


def attestation_minutes(hours: float | None) -> int | None:
    """Stated hours as whole minutes (what is stored)."""
    return None if hours is None else round(hours * 60)


def attestation_hours(minutes: int | None) -> float | None:
    return None if minutes is None else minutes / 60


def _clean_text(value: Any) -> Any:
    if isinstance(value, str):
        # No control characters except newlines and tabs; trim.
        value = "".join(ch for ch in value if ch in "\n\t" or ord(ch) >= 32).strip()
    return value


def check_url(value: str) -> str:
    value = value.strip()
    if value and not value.lower().startswith(("https://", "http://")):
        raise ValueError(_("Adresse web invalide (elle doit commencer par https://)."))
    if any(ch.isspace() for ch in value):
        raise ValueError(_("Adresse web invalide."))
    return value


RETENTION_MONTHS = (
    "Mois après la fin de l'événement avant l'anonymisation des données personnelles de ses "
    "inscriptions (Loi 25); null : la durée par défaut du service (RETENTION_MONTHS)."
)
CONFIRM_OVER_CAPACITY = (
    "Une capacité inférieure aux personnes déjà confirmées est refusée (409 "
    "`over_capacity`, avec `over_by`) sauf si ce drapeau est vrai; personne n'est désinscrit."
)


MAX_PUBLIC_PARTY = (
    "Taille maximale d'un groupe inscrit par le formulaire public ou l'API anonyme (défaut "
    "10). Un groupe plus grand y est refusé (422 `group_request_required`) ou envoyé comme "
    "demande de groupe, à approuver; l'équipe (back-office, jetons ayant le droit "
    "d'inscrire) n'a pas cette limite."
)
CONFIRM_BY_EMAIL = (
    "Confirmer par courriel : une inscription publique retient ses places "
    "(`pending_email`) jusqu'à ce que le lien envoyé par courriel soit suivi; sans "
    "confirmation dans le délai (EMAIL_HOLD_MINUTES), les places sont libérées."
)
SEND_REMINDER = (
    "Rappel courriel aux personnes confirmées `reminder_days_before` jours avant, avec le "
    "billet et le fichier ICS."
)
SEND_THANKS = (
    "Remerciement après l'événement aux personnes présentes (accueil), avec "
    "`evaluation_url` si fourni."
)
GIVES_ATTESTATION = (
    "Attestation de participation (PDF) pour chaque personne accueillie, téléchargeable de "
    "sa page d'inscription une fois l'événement terminé; l'équipe peut aussi les envoyer "
    "toutes par courriel."
)
ATTESTATION_HOURS = (
    "Heures de formation inscrites sur l'attestation (par jour de présence si "
    "`attestation_hours_per_day`, sinon pour tout l'événement); null : aucune durée."
)
SEND_CHANGE_NOTICES = (
    "Avis à chaque personne inscrite quand la date, l'heure ou le lieu change ou que "
    "l'événement est annulé (ICS avec SEQUENCE augmentée; METHOD:CANCEL à l'annulation)."
)


class PartnerIn(BaseModel):
    organization_id: DbId
    role: PartnerRole = PartnerRole.PARTNER


class EventIn(BaseModel):
    """What an organizer sends to create or update an event.

    Datetimes without an offset are read in the event's time zone (`timezone`). With
    `all_day`, `starts_at` and `ends_at` are the first and last days (both included):
    dates ("2028-02-14"), or datetimes whose date part is used.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    kind: EventKind
    starts_at: Moment
    ends_at: Moment
    all_day: bool = False
    timezone: str = DEFAULT_TIME_ZONE
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    mode: AttendanceMode | None = None
    venue_name: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=300)
    territory: str | None = Field(default=None, max_length=10)
    online_url: str = Field(default="", max_length=500)
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    waitlist: bool = False
    requires_approval: bool = False
    allow_walkins_over_capacity: bool = False
    registration_enabled: bool = True
    phone_field: PhoneField = PhoneField.OPTIONAL
    max_public_party_size: int = Field(
        default=DEFAULT_MAX_PUBLIC_PARTY, ge=1, le=500, description=MAX_PUBLIC_PARTY
    )
    confirm_by_email: bool = Field(default=False, description=CONFIRM_BY_EMAIL)
    registration_opens_at: Moment | None = None
    registration_closes_at: Moment | None = None
    clienteles: list[str] = Field(default_factory=list, max_length=20)
    plan_items: list[str] = Field(default_factory=list, max_length=50)
    plan_id: DbId | None = Field(
        default=None,
        description="The action plan the plan_items codes belong to (default: the plan "
        "whose period contains the event's year, else the most recent active plan).",
    )
    parent_id: DbId | None = None
    visibility: Visibility = Visibility.PUBLIC
    organizer_organization_id: DbId | None = None
    partners: list[PartnerIn] = Field(default_factory=list, max_length=50)
    contact_name: str = Field(default="", max_length=200)
    contact_email: str = Field(default="", max_length=254)
    contact_phone: str = Field(default="", max_length=40)
    image_url: str = Field(default="", max_length=500)
    image_alt: str = Field(default="", max_length=300)
    expected_participants: int | None = Field(default=None, ge=0, le=1_000_000)
    send_reminder: bool = Field(default=True, description=SEND_REMINDER)
    reminder_days_before: int = Field(default=2, ge=0, le=60)
    send_thanks: bool = Field(default=True, description=SEND_THANKS)
    evaluation_url: str = Field(default="", max_length=500)
    send_change_notices: bool = Field(default=True, description=SEND_CHANGE_NOTICES)
    retention_months: int | None = Field(
        default=None, ge=1, le=MAX_RETENTION_MONTHS, description=RETENTION_MONTHS
    )
    gives_attestation: bool = Field(default=False, description=GIVES_ATTESTATION)
    attestation_hours: float | None = Field(
        default=None, ge=0.25, le=MAX_ATTESTATION_HOURS, description=ATTESTATION_HOURS
    )
    attestation_hours_per_day: bool = False
    confirm_over_capacity: bool = Field(default=False, description=CONFIRM_OVER_CAPACITY)

    _clean = field_validator("title", "description", "venue_name", "address", mode="before")(
        _clean_text
    )

    @field_validator("online_url", "image_url", "evaluation_url")
    @classmethod
    def _urls(cls, value: str) -> str:
        return check_url(value)

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not value:
            return value
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError(_("Adresse courriel invalide.")) from None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(_("Fuseau horaire inconnu.")) from None
        return value

    @model_validator(mode="after")
    def _localize(self) -> EventIn:
        zone = ZoneInfo(self.timezone)
        if self.all_day:
            first, last = (
                value.astimezone(zone).date() if value.tzinfo else value.date()
                for value in (self.starts_at, self.ends_at)
            )
            self.starts_at, self.ends_at = all_day_span(first, last, self.timezone)
        for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                setattr(self, name, value.replace(tzinfo=zone))
        return self


class EventPatch(BaseModel):
    """Partial update through the API: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    kind: EventKind | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    all_day: bool | None = None
    timezone: str | None = None
    description: str | None = None
    mode: AttendanceMode | None = None
    venue_name: str | None = None
    address: str | None = None
    territory: str | None = None
    online_url: str | None = None
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    waitlist: bool | None = None
    requires_approval: bool | None = None
    allow_walkins_over_capacity: bool | None = None
    registration_enabled: bool | None = None
    phone_field: PhoneField | None = None
    max_public_party_size: int | None = Field(
        default=None, ge=1, le=500, description=MAX_PUBLIC_PARTY
    )
    confirm_by_email: bool | None = Field(default=None, description=CONFIRM_BY_EMAIL)
    registration_opens_at: Moment | None = None
    registration_closes_at: Moment | None = None
    clienteles: list[str] | None = None
    plan_items: list[str] | None = None
    plan_id: DbId | None = None
    parent_id: DbId | None = None
    visibility: Visibility | None = None
    organizer_organization_id: DbId | None = None
    partners: list[PartnerIn] | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    contact_phone: str | None = None
    image_url: str | None = None
    image_alt: str | None = None
    expected_participants: int | None = Field(default=None, ge=0, le=1_000_000)
    send_reminder: bool | None = None
    reminder_days_before: int | None = Field(default=None, ge=0, le=60)
    send_thanks: bool | None = None
    evaluation_url: str | None = Field(default=None, max_length=500)
    send_change_notices: bool | None = None
    retention_months: int | None = Field(
        default=None, ge=1, le=MAX_RETENTION_MONTHS, description=RETENTION_MONTHS
    )
    gives_attestation: bool | None = Field(default=None, description=GIVES_ATTESTATION)
    attestation_hours: float | None = Field(
        default=None, ge=0.25, le=MAX_ATTESTATION_HOURS, description=ATTESTATION_HOURS
    )
    attestation_hours_per_day: bool | None = None
    confirm_over_capacity: bool = Field(default=False, description=CONFIRM_OVER_CAPACITY)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(default="", max_length=5000)


class DuplicateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shift_days: int = Field(default=364, ge=-3660, le=3660)
    with_children: bool = True


class PartnerOut(BaseModel):
    organization_id: int
    organization: str
    role: PartnerRole


class EventOut(BaseModel):
    """An event. Every datetime is ISO 8601 with the event's local offset (its `timezone`);
    an all-day event's `starts_at` and `ends_at` are its first and last days (dates, both
    included)."""

    id: int
    uid: str
    kind: EventKind
    status: str
    visibility: Visibility
    title: str
    description: str
    all_day: bool
    starts_at: datetime | date = Field(
        description="Heure locale avec décalage; une date (premier jour) si all_day."
    )
    ends_at: datetime | date = Field(
        description="Heure locale avec décalage; une date (dernier jour, inclus) si all_day."
    )
    timezone: str
    mode: AttendanceMode
    venue_name: str
    address: str
    territory: str | None
    territory_name: str | None
    online_url: str | None = Field(description="Seulement pour l'équipe et les inscrits.")
    capacity: int | None
    seats_taken: int
    waitlist: bool
    requires_approval: bool
    phone_field: PhoneField = Field(
        description="Le téléphone au formulaire d'inscription : hidden, optional, required."
    )
    max_public_party_size: int = Field(description=MAX_PUBLIC_PARTY)
    confirm_by_email: bool = Field(description=CONFIRM_BY_EMAIL)
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    clienteles: list[str]
    plan_items: list[str]
    parent_id: int | None
    children_count: int
    organizer_organization: str | None
    partners: list[PartnerOut]
    contact_name: str
    contact_email: str
    contact_phone: str
    image_url: str
    image_alt: str
    retention_months: int | None = Field(description=RETENTION_MONTHS)
    sequence: int
    send_reminder: bool
    reminder_days_before: int
    send_thanks: bool
    evaluation_url: str | None = Field(description="Seulement pour l'équipe.")
    send_change_notices: bool
    gives_attestation: bool = Field(description=GIVES_ATTESTATION)
    attestation_hours: float | None = Field(description=ATTESTATION_HOURS)
    attestation_hours_per_day: bool
    created_at: datetime
    published_at: datetime | None
    cancelled_at: datetime | None
    url: str
    ics_url: str


class EventList(BaseModel):
    items: list[EventOut]
    total: int
    page: int
    per_page: int
