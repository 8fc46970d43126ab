"""Campaign models: audiences (saved filters or static lists), campaigns, recipients."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from core.models import User
    from events.models import Event
    from people.models import Person, PlanItem
    from registrations.models import Registration


class AudienceKind(StrEnum):
    FILTER = "filter"  # a saved filter over the directory, evaluated when used
    STATIC = "static"  # a fixed list of people (e.g. from a CSV)


class Audience(Model):
    """A segment of the directory: a saved filter (see `campaigns.audiences`) or a list."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(AudienceKind, max_length=10, default=AudienceKind.FILTER)
    # AudienceFilters as JSON (clienteles, regions, territories, sectors, organizations,
    # languages, tags, consent, registered_event, attended_event, ...).
    filters: fields.JSONField[dict[str, object]] = fields.JSONField(default=dict)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaigns_audience"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class AudienceMember(Model):
    """One person of a static audience."""

    id = fields.IntField(primary_key=True)
    audience: fields.ForeignKeyRelation[Audience] = fields.ForeignKeyField(
        "campaigns.Audience", related_name="members", on_delete=fields.CASCADE
    )
    audience_id: int
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "people.Person", related_name=False, on_delete=fields.CASCADE
    )
    person_id: int

    class Meta:
        table = "campaigns_audience_member"
        unique_together = (("audience", "person"),)


class CampaignKind(StrEnum):
    INVITATION = "invitation"
    NEWSLETTER = "newsletter"
    REMINDER = "reminder"
    FOLLOW_UP = "follow_up"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class Campaign(Model):
    """One mailing: composed in Markdown (fr, en), sent to an audience through the outbox."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(CampaignKind, max_length=12)
    name = fields.CharField(max_length=200)
    audience: fields.ForeignKeyNullableRelation[Audience] = fields.ForeignKeyField(
        "campaigns.Audience", related_name="campaigns", null=True, on_delete=fields.RESTRICT
    )
    audience_id: int | None
    event: fields.ForeignKeyNullableRelation[Event] = fields.ForeignKeyField(
        "events.Event", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    event_id: int | None
    # A reminder of an invitation: sent only to its invitees who have not answered.
    follows: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    follows_id: int | None
    # The consent purpose its recipients must have granted (people.ConsentPurpose value).
    purpose = fields.CharField(max_length=32)
    subject_fr = fields.CharField(max_length=300)
    body_fr = fields.TextField()
    subject_en = fields.CharField(max_length=300, default="")
    body_en = fields.TextField(default="")
    status = fields.CharEnumField(
        CampaignStatus, max_length=10, default=CampaignStatus.DRAFT, db_index=True
    )
    scheduled_at = fields.DatetimeField(null=True)
    # Set once the audience was resolved into CampaignRecipient rows (first send).
    resolved_at = fields.DatetimeField(null=True)
    # Who the audience excluded when it was resolved, by reason (see campaigns.audiences).
    excluded: fields.JSONField[dict[str, int]] = fields.JSONField(default=dict)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None
    # The action-plan items the campaign serves (accountability report).
    plan_items: fields.ManyToManyRelation[PlanItem] = fields.ManyToManyField(
        "people.PlanItem",
        related_name=False,  # type: ignore[arg-type]
        through="campaigns_campaign_plan_item",
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "campaigns_campaign"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class RecipientStatus(StrEnum):
    PENDING = "pending"  # resolved, not yet handed to the outbox
    QUEUED = "queued"  # its message is in the outbox (see the outbox for delivery)
    SKIPPED = "skipped"  # excluded after resolution (unsubscribed, erased meanwhile)


class Rsvp(StrEnum):
    YES = "yes"
    NO = "no"


class CampaignRecipient(Model):
    """One person of one campaign: at most one row each, so nothing is queued twice."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name="recipients", on_delete=fields.CASCADE
    )
    campaign_id: int
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "people.Person", related_name=False, on_delete=fields.CASCADE
    )
    person_id: int
    status = fields.CharEnumField(RecipientStatus, max_length=10, default=RecipientStatus.PENDING)
    skip_reason = fields.CharField(max_length=32, default="")
    rsvp = fields.CharEnumField(Rsvp, max_length=3, null=True)
    rsvp_at = fields.DatetimeField(null=True)
    # The registration made from this invitation's RSVP link (source "invitation").
    registration: fields.ForeignKeyNullableRelation[Registration] = fields.ForeignKeyField(
        "registrations.Registration", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    registration_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    queued_at = fields.DatetimeField(null=True)
    # Tracking (see campaigns.tracking): first open (pixel, approximate), first click.
    opened_at = fields.DatetimeField(null=True)
    clicked_at = fields.DatetimeField(null=True)
    clicks = fields.IntField(default=0)

    class Meta:
        table = "campaigns_recipient"
        unique_together = (("campaign", "person"),)
        indexes = (("campaign_id", "status"),)
