"""Registration models: registrations, custom questions, signing keys."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from core.db_fields import DatabaseKeptIntField

if TYPE_CHECKING:
    from core.models import ApiToken, User
    from events.models import Event
    from people.models import Clientele, Organization, Person, Territory


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    PENDING_APPROVAL = "pending_approval"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    # Holds its places until the link mailed to it is followed (Event.confirm_by_email);
    # no ticket, no check-in; released when the hold expires (registrations.holds).
    PENDING_EMAIL = "pending_email"


ACTIVE_STATUSES = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITLISTED,
    RegistrationStatus.PENDING_APPROVAL,
    RegistrationStatus.PENDING_EMAIL,
)
# The statuses whose party holds places (counted in Event.seats_taken).
SEATED_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING_EMAIL)


class RegistrationSource(StrEnum):
    FORM = "form"
    API = "api"
    INVITATION = "invitation"
    WALKIN = "walkin"
    IMPORT = "import"
    BACKOFFICE = "backoffice"


# The organizers' own channels: no approval step, the registration window does not apply
# to them, and they may correct an existing person's record.
STAFF_SOURCES = frozenset(
    {RegistrationSource.BACKOFFICE, RegistrationSource.WALKIN, RegistrationSource.IMPORT}
)


class Registration(Model):
    """One person's registration to one event (party_size heads)."""

    id = fields.IntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)  # in the QR payload
    ticket_code = fields.CharField(max_length=8, unique=True)  # short human code
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name="registrations", on_delete=fields.RESTRICT
    )
    event_id: int
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "people.Person", related_name="registrations", on_delete=fields.RESTRICT
    )
    person_id: int
    # "<event_id>:<person_id>" while active, null otherwise: one active registration each.
    active_key = fields.CharField(max_length=40, unique=True, null=True)
    status = fields.CharEnumField(RegistrationStatus, max_length=20, db_index=True)
    clientele: fields.ForeignKeyRelation[Clientele] = fields.ForeignKeyField(
        "people.Clientele", related_name=False, on_delete=fields.RESTRICT
    )
    clientele_id: int
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "people.Organization", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    organization_id: int | None
    territory: fields.ForeignKeyNullableRelation[Territory] = fields.ForeignKeyField(
        "people.Territory", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    territory_id: int | None
    language = fields.CharField(max_length=5, default="fr")
    party_size = fields.IntField(default=1)
    answers: fields.JSONField[dict[str, object]] = fields.JSONField(default=dict)
    under_14 = fields.BooleanField(default=False)
    guardian_consent = fields.BooleanField(default=False)
    source = fields.CharEnumField(
        RegistrationSource, max_length=12, default=RegistrationSource.FORM
    )
    # Order on the waitlist (monotonic; set when the registration joins the waitlist).
    waitlist_rank = fields.BigIntField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    confirmed_at = fields.DatetimeField(null=True)
    # Until when a `pending_email` registration holds its places.
    hold_expires_at = fields.DatetimeField(null=True, db_index=True)
    cancelled_at = fields.DatetimeField(null=True)
    anonymized_at = fields.DatetimeField(null=True)
    # How many days it has an active check-in (`CheckIn.active_key` not null), kept by
    # database triggers on `registrations_checkin` (migration registrations 0011), whoever
    # writes: the participation report reads it from its index instead of counting.
    checked_in_days = DatabaseKeptIntField(db_default=0)

    class Meta:
        table = "registrations_registration"
        ordering = ["created_at", "id"]
        # person_id: a person's registrations (export, erasure, the retention rule);
        # (event_id, updated_at), (person_id, event_id): the tablet roster's changes since
        # a cursor (a renamed person's registrations). (event_id, status, party_size): the
        # door's confirmed heads are summed from the index alone (the tablets' poll).
        # The participation report (reports.participation_sql) reads a period's
        # registrations, with their check-in days, from (event_id, status, ...) alone;
        # (person_id, status, event_id): a person's first participation (the triggers of
        # migration 0010).
        indexes = (
            ("event_id", "status"),
            ("event_id", "status", "party_size"),
            ("person_id",),
            ("event_id", "updated_at"),
            ("person_id", "event_id"),
            (
                "event_id",
                "status",
                "person_id",
                "clientele_id",
                "territory_id",
                "organization_id",
                "party_size",
                "source",
                "checked_in_days",
                "id",
            ),
            ("person_id", "status", "event_id"),
        )

    @property
    def is_active(self) -> bool:
        """Holds or waits for places (confirmed, waitlisted, awaiting approval or e-mail)."""
        return self.status in ACTIVE_STATUSES


class QuestionKind(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    YES_NO = "yes_no"
    NUMBER = "number"


class Question(Model):
    """A custom question of an event's registration form."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name="questions", on_delete=fields.CASCADE
    )
    event_id: int
    kind = fields.CharEnumField(QuestionKind, max_length=16)
    label = fields.CharField(max_length=300)
    help_text = fields.CharField(max_length=500, default="")
    required = fields.BooleanField(default=False)
    position = fields.IntField(default=0)
    choices: fields.JSONField[list[str]] = fields.JSONField(default=list)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "registrations_question"
        ordering = ["position", "id"]


class SigningKey(Model):
    """The Ed25519 key that signs tickets, its private part encrypted with SECRET_KEY."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=32, unique=True)
    public_key = fields.CharField(max_length=100)  # raw, base64url
    private_key_encrypted = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "registrations_signing_key"


class CheckinResult(StrEnum):
    OK = "ok"
    ALREADY_CHECKED_IN = "already_checked_in"
    INVALID = "invalid"
    WRONG_EVENT = "wrong_event"
    CANCELLED = "cancelled"
    WAITLISTED = "waitlisted"
    UNAPPROVED = "unapproved"
    OUTSIDE_WINDOW = "outside_window"


class CheckinDevice(Model):
    """A tablet paired to one event through a scoped, expiring, revocable token."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name="checkin_devices", on_delete=fields.CASCADE
    )
    event_id: int
    name = fields.CharField(max_length=100)
    token: fields.ForeignKeyNullableRelation[ApiToken] = fields.ForeignKeyField(
        "core.ApiToken", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    token_id: int | None
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    last_seen_at = fields.DatetimeField(null=True)

    class Meta:
        table = "registrations_checkin_device"


class CheckIn(Model):
    """A successful check-in: one per registration per event day (local date)."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name=False, on_delete=fields.CASCADE
    )
    event_id: int
    registration: fields.ForeignKeyRelation[Registration] = fields.ForeignKeyField(
        "registrations.Registration", related_name="checkins", on_delete=fields.CASCADE
    )
    registration_id: int
    day = fields.DateField()
    # "<registration_id>:<day>" while the check-in stands, null once undone.
    active_key = fields.CharField(max_length=40, unique=True, null=True)
    checked_in_at = fields.DatetimeField()
    device: fields.ForeignKeyNullableRelation[CheckinDevice] = fields.ForeignKeyField(
        "registrations.CheckinDevice", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    device_id: int | None
    staff: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    staff_id: int | None
    method = fields.CharField(max_length=10, default="scan")  # scan, search, walkin, sync
    undone_at = fields.DatetimeField(null=True)
    undone_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    undone_by_id: int | None

    # The volunteer's name typed on the tablet, if any (kept with the scan that made it).
    volunteer = fields.CharField(max_length=100, default="")
    # Last written (created, undone, moved to an earlier scan): the tablet roster's
    # changes since a cursor (registrations.roster). Null for rows older than the column.
    changed_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "registrations_checkin"
        # (event_id, day, active_key, registration_id): the door's present count reads the
        # day's active check-ins from the index alone (the tablets' poll).
        # (registration_id, active_key): a registration's active check-ins (the
        # participation report's attended heads) from the index alone.
        indexes = (
            ("event_id", "day"),
            ("registration_id",),
            ("event_id", "changed_at"),
            ("event_id", "day", "active_key", "registration_id"),
            ("registration_id", "active_key"),
        )


class Scan(Model):
    """Every scan, successful or not (audit of the door), idempotent by nonce."""

    id = fields.BigIntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name=False, on_delete=fields.CASCADE
    )
    event_id: int
    nonce = fields.CharField(max_length=64, unique=True, null=True)
    scanned_at = fields.DatetimeField()
    received_at = fields.DatetimeField(auto_now_add=True)
    result = fields.CharEnumField(CheckinResult, max_length=20)
    registration: fields.ForeignKeyNullableRelation[Registration] = fields.ForeignKeyField(
        "registrations.Registration", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    registration_id: int | None
    checkin: fields.ForeignKeyNullableRelation[CheckIn] = fields.ForeignKeyField(
        "registrations.CheckIn", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    checkin_id: int | None
    device: fields.ForeignKeyNullableRelation[CheckinDevice] = fields.ForeignKeyField(
        "registrations.CheckinDevice", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    device_id: int | None
    staff: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    staff_id: int | None
    detail = fields.CharField(max_length=200, default="")

    volunteer = fields.CharField(max_length=100, default="")

    class Meta:
        table = "registrations_scan"
        # (event_id, id): the door's latest scans (the tablets' poll) read from the index's
        # end instead of sorting every scan of the event.
        indexes = (("event_id", "scanned_at"), ("registration_id",), ("event_id", "id"))


class Attestation(Model):
    """An attendance certificate (registrations.attestations): one per registration that
    was checked in at an event giving them, made when first downloaded or mailed. `days`
    and `minutes` are what it states; `code` is in its public verification link."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name=False, on_delete=fields.CASCADE
    )
    event_id: int
    registration: fields.OneToOneRelation[Registration] = fields.OneToOneField(
        "registrations.Registration", related_name="attestation", on_delete=fields.CASCADE
    )
    registration_id: int
    days: fields.JSONField[list[str]] = fields.JSONField(default=list)  # ISO dates attended
    minutes = fields.IntField(null=True)  # training time stated (null: none)
    issued_at = fields.DatetimeField()
    mailed_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharField(max_length=300, default="")
    revoked_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    revoked_by_id: int | None

    class Meta:
        table = "registrations_attestation"
        indexes = (("event_id", "revoked_at"),)


class AttestationMailing(Model):
    """An organizer's "mail every certificate" for one event, done in batches by the
    upkeep (`registrations.attestations.run_mailings`), resumed after a restart."""

    id = fields.IntField(primary_key=True)
    event: fields.OneToOneRelation[Event] = fields.OneToOneField(
        "events.Event", related_name=False, on_delete=fields.CASCADE
    )
    event_id: int
    requested_at = fields.DatetimeField()
    requested_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    requested_by_id: int | None
    total = fields.IntField(default=0)  # attendees to mail when requested
    queued = fields.IntField(default=0)  # certificates queued so far by this request
    finished_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "registrations_attestation_mailing"


class FirstParticipation(Model):
    """Each person's first participation: the start of the earliest event among their
    confirmed registrations (no row: none). The participation report's "new people" reads
    it (reports.participation_sql) instead of searching every person's past registrations.

    Derived data, written only by the database: triggers on `registrations_registration`
    (insert, delete, change of status, person or event) and on `events_event` (change of
    start) recompute the row of each person concerned, whatever writes (the services, the
    ORM, bulk SQL, the retention rule, migrations). Created with the rows of the existing
    data by migration 0010, whose text is the reference; the application never writes it.
    On SQLite a migration that rebuilds either table drops its triggers: the test
    `tests/registrations/test_first_participation.py` checks them after every migration.
    """

    person_id = fields.IntField(primary_key=True)  # no sequence is used: the person's id
    starts_at = fields.DatetimeField()

    class Meta:
        table = "registrations_first_participation"
