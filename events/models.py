"""Event models: events and editions, partners, JPS activity submissions."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tortoise import fields
from tortoise.models import Model

from core.settings import DEFAULT_TIME_ZONE

if TYPE_CHECKING:
    from core.models import User
    from people.models import Clientele, Organization, Person, PlanItem, Territory


class PhoneField(StrEnum):
    """Whether the public registration form asks for a phone number."""

    HIDDEN = "hidden"
    OPTIONAL = "optional"
    REQUIRED = "required"


# The default largest party a public registration may bring (Event.max_public_party_size).
DEFAULT_MAX_PUBLIC_PARTY = 10

# All-day events: the one storage convention, written and read only through these two.
ALL_DAY_LAST_SECOND = time(23, 59, 59)


def all_day_span(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """The stored bounds of an all-day event from its first and last days (both included):
    the first day at 00:00 and the last day at 23:59:59 in the event's zone. So the stored
    datetimes still order, filter and open check-in as any event's, and `all_day_dates`
    gives the days back whatever the zone of the reader."""
    zone = ZoneInfo(timezone)
    return (
        datetime.combine(first, time.min, tzinfo=zone),
        datetime.combine(last, ALL_DAY_LAST_SECOND, tzinfo=zone),
    )


def all_day_dates(starts_at: datetime, ends_at: datetime, timezone: str) -> tuple[date, date]:
    """The first and last days (both included) of an event stored by `all_day_span`."""
    zone = ZoneInfo(timezone)
    return starts_at.astimezone(zone).date(), ends_at.astimezone(zone).date()


class EventKind(StrEnum):
    ANNUAL_LAUNCH = "annual_launch"
    PERSEVERANCE_DAYS = "perseverance_days"
    REGIONAL_EVENT = "regional_event"
    ACTIVITY = "activity"
    MEETING = "meeting"
    TRAINING = "training"


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class Visibility(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"  # invitation only


class AttendanceMode(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class PartnerRole(StrEnum):
    FIDUCIARY = "fiduciary"
    PARTNER = "partner"
    HOST = "host"
    FUNDER = "funder"


class Event(Model):
    """An event, or an edition (an umbrella event whose children are its events)."""

    id = fields.IntField(primary_key=True)
    uid = fields.CharField(max_length=64, unique=True)  # stable iCalendar UID
    parent: fields.ForeignKeyNullableRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    kind = fields.CharEnumField(EventKind, max_length=20)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    starts_at = fields.DatetimeField(db_index=True)
    ends_at = fields.DatetimeField()
    # All-day events (one or several whole days: the JPS week, a colloque without hours):
    # stored by `all_day_span` (see there), shown without hours, dates in the API,
    # VALUE=DATE in ICS.
    all_day = fields.BooleanField(default=False)
    timezone = fields.CharField(max_length=64, default=DEFAULT_TIME_ZONE)
    mode = fields.CharEnumField(AttendanceMode, max_length=10, default=AttendanceMode.IN_PERSON)
    venue_name = fields.CharField(max_length=200, default="")
    address = fields.CharField(max_length=300, default="")
    territory: fields.ForeignKeyNullableRelation[Territory] = fields.ForeignKeyField(
        "people.Territory", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    territory_id: int | None
    online_url = fields.CharField(max_length=500, default="")
    capacity = fields.IntField(null=True)  # heads; null = unlimited
    waitlist = fields.BooleanField(default=False)
    requires_approval = fields.BooleanField(default=False)
    allow_walkins_over_capacity = fields.BooleanField(default=False)
    registration_enabled = fields.BooleanField(default=True)
    phone_field = fields.CharEnumField(PhoneField, max_length=10, default=PhoneField.OPTIONAL)
    # The largest party the public channels (form, anonymous API) confirm on their own; a
    # larger one is a "demande de groupe" that goes to approval. Staff channels: no limit.
    max_public_party_size = fields.IntField(default=DEFAULT_MAX_PUBLIC_PARTY)
    # "Confirmer par courriel": a public registration holds its places as `pending_email`
    # until the link mailed to it is followed (registrations.holds).
    confirm_by_email = fields.BooleanField(default=False)
    # Check-in opens this many minutes before the start and closes at the end.
    checkin_opens_minutes = fields.IntField(default=120)
    registration_opens_at = fields.DatetimeField(null=True)
    registration_closes_at = fields.DatetimeField(null=True)
    visibility = fields.CharEnumField(Visibility, max_length=10, default=Visibility.PUBLIC)
    status = fields.CharEnumField(
        EventStatus, max_length=10, default=EventStatus.DRAFT, db_index=True
    )
    organizer_organization: fields.ForeignKeyNullableRelation[Organization] = (
        fields.ForeignKeyField(
            "people.Organization", related_name=False, null=True, on_delete=fields.SET_NULL
        )
    )
    organizer_organization_id: int | None
    contact_person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "people.Person", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    contact_person_id: int | None
    contact_name = fields.CharField(max_length=200, default="")
    contact_email = fields.CharField(max_length=254, default="")
    contact_phone = fields.CharField(max_length=40, default="")
    image_url = fields.CharField(max_length=500, default="")
    image_alt = fields.CharField(max_length=300, default="")
    expected_participants = fields.IntField(null=True)
    # Heads of confirmed registrations (kept by the registrations package).
    seats_taken = fields.IntField(default=0)
    sequence = fields.IntField(default=0)  # iCalendar SEQUENCE, +1 when dates change
    cancel_reason = fields.TextField(default="")
    # Automatic messages (sent by the campaigns package), each on by default: a reminder
    # `reminder_days_before` days before to confirmed registrants, a thank-you after the
    # event to those who attended (with `evaluation_url` when set), a notice to every
    # active registrant when the dates or place change or the event is cancelled.
    send_reminder = fields.BooleanField(default=True)
    reminder_days_before = fields.IntField(default=2)
    send_thanks = fields.BooleanField(default=True)
    evaluation_url = fields.CharField(max_length=500, default="")
    send_change_notices = fields.BooleanField(default=True)
    # When the upkeep queued them (null: not yet); a move of the dates clears them.
    reminders_sent_at = fields.DatetimeField(null=True)
    thanks_sent_at = fields.DatetimeField(null=True)
    # Months after the end before the registrations' personal data is anonymized
    # (Loi 25); null = the RETENTION_MONTHS setting.
    retention_months = fields.IntField(null=True)
    # Attendance certificates (registrations.attestations): whether the attendees get one,
    # and the training time it states — per day attended or for the whole event (null:
    # no hours on the certificate).
    gives_attestation = fields.BooleanField(default=False)
    attestation_minutes = fields.IntField(null=True)
    attestation_minutes_per_day = fields.BooleanField(default=False)
    clienteles: fields.ManyToManyRelation[Clientele] = fields.ManyToManyField(
        "people.Clientele",
        related_name=False,  # type: ignore[arg-type]
        through="events_event_clientele",
    )
    plan_items: fields.ManyToManyRelation[PlanItem] = fields.ManyToManyField(
        "people.PlanItem",
        related_name=False,  # type: ignore[arg-type]
        through="events_event_plan_item",
    )
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    published_at = fields.DatetimeField(null=True)
    cancelled_at = fields.DatetimeField(null=True)

    partners: fields.ReverseRelation[EventPartner]

    class Meta:
        table = "events_event"
        ordering = ["starts_at", "id"]
        indexes = (("status", "visibility", "starts_at"), ("parent_id", "starts_at"))

    def __str__(self) -> str:
        return self.title

    # Derived state, computed here only (routes, templates and services read these).

    @property
    def places_left(self) -> int | None:
        """Heads that can still be confirmed (None: unlimited)."""
        return None if self.capacity is None else max(0, self.capacity - self.seats_taken)

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.seats_taken >= self.capacity

    @property
    def over_capacity(self) -> int:
        """Confirmed heads beyond the capacity (after the capacity was lowered)."""
        return 0 if self.capacity is None else max(0, self.seats_taken - self.capacity)

    @property
    def days(self) -> tuple[date, date]:
        """The first and last local days of the event (both included), in its zone."""
        return all_day_dates(self.starts_at, self.ends_at, self.timezone)

    def local_iso(self, value: datetime | None) -> str | None:
        """A datetime as the API gives it: ISO 8601 with the event's local offset."""
        return value.astimezone(ZoneInfo(self.timezone)).isoformat() if value else None

    def registration_closes(self) -> datetime:
        return self.registration_closes_at or self.ends_at

    def registration_is_open(self, now: datetime) -> bool:
        """Published, taking online registrations, and inside the registration window."""
        return (
            self.status == EventStatus.PUBLISHED
            and self.registration_enabled
            and not (self.registration_opens_at and now < self.registration_opens_at)
            and now < self.registration_closes()
        )


class EventPartner(Model):
    """An organization's role in an event (fiduciary, partner, host, funder)."""

    id = fields.IntField(primary_key=True)
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name="partners", on_delete=fields.CASCADE
    )
    event_id: int
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "people.Organization", related_name=False, on_delete=fields.CASCADE
    )
    organization_id: int
    role = fields.CharEnumField(PartnerRole, max_length=12, default=PartnerRole.PARTNER)

    class Meta:
        table = "events_event_partner"
        unique_together = (("event", "organization", "role"),)


class SubmissionStatus(StrEnum):
    PENDING = "pending"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REFUSED = "refused"


class ActivitySubmission(Model):
    """A partner's proposal of an activity for a JPS edition, waiting for moderation."""

    id = fields.IntField(primary_key=True)
    edition: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name="submissions", on_delete=fields.CASCADE
    )
    edition_id: int
    status = fields.CharEnumField(
        SubmissionStatus, max_length=20, default=SubmissionStatus.PENDING, db_index=True
    )
    token = fields.CharField(max_length=64, unique=True)  # submitter's edit link
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    venue_name = fields.CharField(max_length=200, default="")
    address = fields.CharField(max_length=300, default="")
    territory: fields.ForeignKeyRelation[Territory] = fields.ForeignKeyField(
        "people.Territory", related_name=False, on_delete=fields.RESTRICT
    )
    territory_id: int
    clientele_codes: fields.JSONField[list[str]] = fields.JSONField(default=list)
    organization_name = fields.CharField(max_length=200)
    contact_name = fields.CharField(max_length=200)
    contact_email = fields.CharField(max_length=254)
    contact_phone = fields.CharField(max_length=40, default="")
    expected_participants = fields.IntField(null=True)
    wants_registration = fields.BooleanField(default=False)
    language = fields.CharField(max_length=5, default="fr")
    moderator_message = fields.TextField(default="")
    event: fields.ForeignKeyNullableRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    event_id: int | None
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "events_activity_submission"
        ordering = ["created_at", "id"]
