"""Employer certification models.

A `Program` has criteria (with points), levels (by points) and application periods
(cohorts). An employer applies with an `Application`; its `status` is the workflow
(draft → submitted → under_review → certified | changes_requested | refused, then
certified → expiring → renewed | lapsed, certified → revoked). Only
`campaigns.certification.workflow` writes it. A certified application has one
`Certificate` (code for the public verification URL, level, validity); its `status` is
what the verification page and the directory read.

A renewal is a new application whose `previous` is the expiring one: comparing the two
is comparing rows, and a revoked application can never be renewed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from campaigns.models import Campaign
    from core.models import User
    from people.models import Organization, Person, PlanItem, Territory


class Program(Model):
    """A certification program (e.g. "Employeur engagé envers la réussite éducative")."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    description_fr = fields.TextField(default="")
    description_en = fields.TextField(default="")
    validity_months = fields.IntField(default=24)
    # Days before expiry when a certification enters its renewal window.
    renewal_window_days = fields.IntField(default=90)
    active = fields.BooleanField(default=True)
    plan_items: fields.ManyToManyRelation[PlanItem] = fields.ManyToManyField(
        "people.PlanItem",
        related_name=False,  # type: ignore[arg-type]
        through="certification_program_plan_item",
    )
    reviewers: fields.ManyToManyRelation[User] = fields.ManyToManyField(
        "core.User",
        related_name=False,  # type: ignore[arg-type]
        through="certification_program_reviewer",
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "certification_program"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Criterion(Model):
    """One commitment of a program, answered met / not met (with optional evidence)."""

    id = fields.IntField(primary_key=True)
    program: fields.ForeignKeyRelation[Program] = fields.ForeignKeyField(
        "campaigns.Program", related_name="criteria", on_delete=fields.CASCADE
    )
    program_id: int
    code = fields.CharField(max_length=32)
    text_fr = fields.TextField()
    text_en = fields.TextField(default="")
    required = fields.BooleanField(default=False)
    evidence_asked = fields.BooleanField(default=False)
    points = fields.IntField(default=0)
    position = fields.IntField(default=0)

    class Meta:
        table = "certification_criterion"
        unique_together = (("program", "code"),)
        ordering = ["position", "id"]


class Level(Model):
    """A certification level (Bronze, Argent, Or): reached from `min_points`."""

    id = fields.IntField(primary_key=True)
    program: fields.ForeignKeyRelation[Program] = fields.ForeignKeyField(
        "campaigns.Program", related_name="levels", on_delete=fields.CASCADE
    )
    program_id: int
    code = fields.CharField(max_length=32)
    name_fr = fields.CharField(max_length=100)
    name_en = fields.CharField(max_length=100, default="")
    min_points = fields.IntField(default=0)
    position = fields.IntField(default=0)

    class Meta:
        table = "certification_level"
        unique_together = (("program", "code"),)
        ordering = ["min_points", "position", "id"]


class Cohort(Model):
    """An application period of a program (e.g. "Cohorte 2027")."""

    id = fields.IntField(primary_key=True)
    program: fields.ForeignKeyRelation[Program] = fields.ForeignKeyField(
        "campaigns.Program", related_name="cohorts", on_delete=fields.CASCADE
    )
    program_id: int
    name = fields.CharField(max_length=100)
    opens_at = fields.DatetimeField()
    closes_at = fields.DatetimeField()

    class Meta:
        table = "certification_cohort"
        ordering = ["opens_at", "id"]


class Employer(Model):
    """An employer that applies. `key` identifies it: its NEQ, else its folded legal name."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=210, unique=True)
    legal_name = fields.CharField(max_length=200)
    neq = fields.CharField(max_length=10, null=True, db_index=True)
    # An EMPLOYER_SECTORS code (campaigns.certification.schemas).
    sector = fields.CharField(max_length=32, default="")
    address = fields.CharField(max_length=300, default="")
    territory: fields.ForeignKeyNullableRelation[Territory] = fields.ForeignKeyField(
        "people.Territory", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    territory_id: int | None
    employees = fields.IntField(default=0)
    student_employees = fields.IntField(default=0)
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "people.Organization", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    organization_id: int | None
    # Consent to appear in the public directory once certified (time and wording kept).
    publish_in_directory = fields.BooleanField(default=False)
    directory_consent_at = fields.DatetimeField(null=True)
    directory_consent_wording = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "certification_employer"
        ordering = ["legal_name", "id"]

    def __str__(self) -> str:
        return self.legal_name


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    CHANGES_REQUESTED = "changes_requested"
    CERTIFIED = "certified"
    REFUSED = "refused"
    EXPIRING = "expiring"  # certified, inside the renewal window
    RENEWED = "renewed"  # replaced by a certified renewal application
    LAPSED = "lapsed"  # expired without renewal
    REVOKED = "revoked"


class Application(Model):
    """One application of one employer to one program (a renewal has a `previous`)."""

    id = fields.IntField(primary_key=True)
    program: fields.ForeignKeyRelation[Program] = fields.ForeignKeyField(
        "campaigns.Program", related_name="applications", on_delete=fields.RESTRICT
    )
    program_id: int
    cohort: fields.ForeignKeyNullableRelation[Cohort] = fields.ForeignKeyField(
        "campaigns.Cohort", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    cohort_id: int | None
    employer: fields.ForeignKeyRelation[Employer] = fields.ForeignKeyField(
        "campaigns.Employer", related_name="applications", on_delete=fields.RESTRICT
    )
    employer_id: int
    contact: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "people.Person", related_name=False, on_delete=fields.RESTRICT
    )
    contact_id: int
    contact_consent_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(
        ApplicationStatus, max_length=20, default=ApplicationStatus.DRAFT, db_index=True
    )
    # What the applicant typed about the employer (legal_name, neq, sector, address,
    # territory (code), employees, student_employees, publish_in_directory). Copied to the
    # `Employer` row only when a reviewer certifies: a stranger who starts an application
    # under a known NEQ cannot change a certified employer's public record.
    employer_data: fields.JSONField[dict[str, object]] = fields.JSONField(default=dict)
    language = fields.CharField(max_length=5, default="fr")
    # {criterion_code: {"met": bool, "evidence": str}}
    answers: fields.JSONField[dict[str, dict[str, object]]] = fields.JSONField(default=dict)
    points = fields.IntField(default=0)
    # "program_id:employer_id" while the application is open (draft to under review):
    # one open application per employer and program, enforced by the database.
    open_key = fields.CharField(max_length=40, null=True, unique=True)
    # Random value of the form that created it: a replayed (double) submit finds it.
    form_nonce = fields.CharField(max_length=64, null=True, unique=True)
    previous: fields.ForeignKeyNullableRelation[Application] = fields.ForeignKeyField(
        "campaigns.Application", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    previous_id: int | None
    # The outreach campaign whose invitation brought the employer (funnel).
    campaign: fields.ForeignKeyNullableRelation[Campaign] = fields.ForeignKeyField(
        "campaigns.Campaign", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    campaign_id: int | None
    submitted_at = fields.DatetimeField(null=True)
    certified_at = fields.DatetimeField(null=True)
    status_changed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "certification_application"
        ordering = ["-created_at", "-id"]
        indexes = (("program_id", "status"),)


class ReviewNote(Model):
    """A reviewer's internal note, or a message sent to the employer (`to_employer`)."""

    id = fields.IntField(primary_key=True)
    application: fields.ForeignKeyRelation[Application] = fields.ForeignKeyField(
        "campaigns.Application", related_name="notes", on_delete=fields.CASCADE
    )
    application_id: int
    author: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "core.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    author_id: int | None
    to_employer = fields.BooleanField(default=False)
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "certification_review_note"
        ordering = ["created_at", "id"]


class CertificateStatus(StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"  # still valid, inside the renewal window
    RENEWED = "renewed"  # replaced by the renewal's certificate
    LAPSED = "lapsed"
    REVOKED = "revoked"


class Certificate(Model):
    """The certificate of a certified application, verified at /certification/verify/{code}."""

    id = fields.IntField(primary_key=True)
    application: fields.OneToOneRelation[Application] = fields.OneToOneField(
        "campaigns.Application", related_name="certificate", on_delete=fields.RESTRICT
    )
    application_id: int
    code = fields.CharField(max_length=16, unique=True)
    level: fields.ForeignKeyRelation[Level] = fields.ForeignKeyField(
        "campaigns.Level", related_name=False, on_delete=fields.RESTRICT
    )
    level_id: int
    issued_at = fields.DatetimeField()
    valid_until = fields.DatetimeField(db_index=True)
    status = fields.CharEnumField(
        CertificateStatus, max_length=10, default=CertificateStatus.VALID, db_index=True
    )
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.TextField(default="")

    class Meta:
        table = "certification_certificate"
        ordering = ["-issued_at", "-id"]


class ProgramCampaign(Model):
    """An outreach campaign inviting employers to apply to a program (funnel)."""

    id = fields.IntField(primary_key=True)
    program: fields.ForeignKeyRelation[Program] = fields.ForeignKeyField(
        "campaigns.Program", related_name="outreach", on_delete=fields.CASCADE
    )
    program_id: int
    campaign: fields.OneToOneRelation[Campaign] = fields.OneToOneField(
        "campaigns.Campaign", related_name=False, on_delete=fields.CASCADE
    )
    campaign_id: int

    class Meta:
        table = "certification_program_campaign"
