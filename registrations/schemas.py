"""Pydantic models for registrations (API bodies and form data)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.i18n import _
from core.inputs import DbId, Moment

MAX_PARTY_SIZE = 500
VOLUNTEER = "Prénom du ou de la bénévole à l'accueil, tel que saisi sur la tablette."


def _no_controls(value: Any) -> Any:
    if isinstance(value, str):
        value = "".join(ch for ch in value if ord(ch) >= 32).strip()
    return value


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str = Field(min_length=3, max_length=254)
    clientele: str = Field(min_length=1, max_length=32)
    organization: str = Field(default="", max_length=200)
    territory: str | None = Field(default=None, max_length=10)
    phone: str = Field(
        default="",
        max_length=40,
        description="Ex. « 450 555-0123 » ou « +1 450 555 0123 », enregistré en E.164. Selon "
        "l'événement (`phone_field`) : ignoré (hidden), facultatif (optional) ou obligatoire "
        "(required); absent quand il est obligatoire ou invalide : 422 avec `fields.phone`.",
    )
    language: str = Field(default="fr", pattern="^(fr|en)$")
    party_size: int = Field(default=1, ge=1, le=MAX_PARTY_SIZE)
    answers: dict[str, Any] = Field(default_factory=dict, max_length=100)
    consents: list[str] = Field(default_factory=list, max_length=10)
    under_14: bool = False
    guardian_consent: bool = False
    group_request: bool = Field(
        default=False,
        description="Demande de groupe : un groupe plus grand que le maximum de l'événement "
        "(`max_public_party_size`) est envoyé pour approbation (`pending_approval`) au lieu "
        "d'être refusé (422 `group_request_required`). Sans effet pour un groupe permis.",
    )

    _clean = field_validator("first_name", "last_name", "organization", "phone", mode="before")(
        _no_controls
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError(_("Adresse courriel invalide.")) from None


class ManagePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party_size: int | None = Field(default=None, ge=1, le=MAX_PARTY_SIZE)
    answers: dict[str, Any] | None = Field(default=None, max_length=100)


class TicketOut(BaseModel):
    code: str
    qr_payload: str
    qr_png_url: str
    qr_svg_url: str


class CheckEmailOut(BaseModel):
    """The anonymous API's answer (202) when the e-mail is already registered to the
    event: the registrant is mailed their manage link; nothing else is said."""

    status: str = "check_email"
    message: str


class RegistrationOut(BaseModel):
    id: str
    event_id: int
    status: str
    waitlist_position: int | None
    party_size: int
    clientele: str
    manage_token: str
    manage_url: str
    ticket: TicketOut | None
    ics_url: str
    hold_expires_at: str | None = Field(
        default=None,
        description="`pending_email` : jusqu'à quand les places sont retenues (ISO 8601).",
    )


class ResendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: str = Field(
        pattern="^(short_text|long_text|single_choice|multiple_choice|yes_no|number)$"
    )
    label: str = Field(min_length=1, max_length=300)
    help_text: str = Field(default="", max_length=500)
    required: bool = False
    position: int = Field(default=0, ge=0, le=1000)
    choices: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("choices")
    @classmethod
    def _choices(cls, value: list[str]) -> list[str]:
        cleaned = [c.strip()[:200] for c in value if c and c.strip()]
        if len(set(cleaned)) != len(cleaned):
            raise ValueError(_("Les choix doivent être distincts."))
        return cleaned


class WalkinIn(BaseModel):
    """On-the-spot registration at the door: the minimum (e-mail optional)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: str = Field(default="", max_length=254)
    clientele: str = Field(min_length=1, max_length=32)
    territory: str | None = Field(default=None, max_length=10)
    organization: str = Field(default="", max_length=200)
    party_size: int = Field(default=1, ge=1, le=MAX_PARTY_SIZE)
    nonce: str | None = Field(default=None, max_length=64)
    language: str = Field(default="fr", pattern="^(fr|en)$")
    volunteer: str = Field(default="", max_length=100, description=VOLUNTEER)

    _clean = field_validator("first_name", "last_name", "organization", "volunteer", mode="before")(
        _no_controls
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not value:
            return value
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ValueError(_("Adresse courriel invalide.")) from None


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: DbId
    payload: str | None = Field(default=None, max_length=400)
    registration_id: str | None = Field(default=None, max_length=32)
    nonce: str | None = Field(default=None, max_length=64)
    scanned_at: Moment | None = None
    volunteer: str = Field(default="", max_length=100, description=VOLUNTEER)

    _clean = field_validator("volunteer", mode="before")(_no_controls)


class SyncScan(BaseModel):
    """One scan of a tablet's offline queue.

    `device_id` is the device that made the scan (the tablet's device when it scanned,
    from its roster). It is credited when it is one of this event's devices, even one
    revoked or expired since (the scan was made before); a device of another event, or
    none that exists, is never trusted: the scan is then credited to the device that
    syncs, as is a scan that names no device."""

    model_config = ConfigDict(extra="forbid")

    payload: str | None = Field(default=None, max_length=400)
    registration_id: str | None = Field(default=None, max_length=32)
    nonce: str = Field(min_length=1, max_length=64)
    scanned_at: Moment
    device_id: DbId | None = Field(default=None, description="Appareil qui a fait le scan.")
    volunteer: str = Field(default="", max_length=100, description=VOLUNTEER)

    _clean = field_validator("volunteer", mode="before")(_no_controls)


class SyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: DbId
    scans: list[SyncScan] = Field(max_length=2000)


class ScanOut(BaseModel):
    result: str
    message: str
    nonce: str | None = None
    registration: dict[str, Any] | None = None
    checked_in_at: str | None = None
    checkin_id: int | None = None
    previous_checkin_at: str | None = None
    previous_device: str | None = None
    right_event: dict[str, Any] | None = None
    # A synced scan earlier than the check-in that stood: it took its place; this is the
    # one it replaced (`checked_in_at`, `device`), now a duplicate.
    superseded: dict[str, Any] | None = None
    replayed: bool | None = None


class SyncOut(BaseModel):
    results: list[ScanOut]


class RosterEvent(BaseModel):
    id: int
    title: str
    starts_at: str
    ends_at: str
    checkin_opens_at: str
    timezone: str
    allow_walkins_over_capacity: bool


class RosterOut(BaseModel):
    """The tablet's offline copy (registrations.roster): full, or the changes since a
    cursor. Each row of `rows` holds the values of `fields`, in that order: public id,
    name, clientele code, organization, party size, status, ticket code, today's
    check-in time (null when not checked in)."""

    event: RosterEvent
    day: str
    device: dict[str, Any] | None
    walkin_clienteles: list[dict[str, Any]]
    clienteles: dict[str, str] = Field(description="nom de chaque clientèle, par code")
    public_key: str
    payload_prefix: str
    generated_at: str
    cursor: str = Field(description="à renvoyer en `since` à la prochaine demande")
    full: bool = Field(description="toute la liste (sinon : les changements depuis `since`)")
    fields: list[str]
    rows: list[list[Any]]
    removed: list[str] = Field(description="inscriptions qui ne sont plus à la liste")
    counts: dict[str, int]
