"""People directory models."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class TerritoryKind(StrEnum):
    REGION = "region"
    MRC = "mrc"


class Territory(Model):
    """An administrative region ("01"–"17") or an MRC / equivalent territory."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=10, unique=True)
    kind = fields.CharEnumField(TerritoryKind, max_length=10)
    name = fields.CharField(max_length=120)
    parent: fields.ForeignKeyNullableRelation[Territory] = fields.ForeignKeyField(
        "people.Territory", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    active = fields.BooleanField(default=True)

    class Meta:
        table = "people_territory"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Clientele(Model):
    """A target clientele (clientèle cible). Stable codes, editable names."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name_fr = fields.CharField(max_length=200)
    name_en = fields.CharField(max_length=200)
    position = fields.IntField(default=0)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "people_clientele"
        ordering = ["position", "code"]

    def name(self, language: str = "fr") -> str:
        return self.name_en if language == "en" else self.name_fr


class Sector(StrEnum):
    EDUCATION = "education"
    MUNICIPAL = "municipal"
    HEALTH = "health"
    COMMUNITY = "community"
    BUSINESS = "business"
    GOVERNMENT = "government"
    RESEARCH = "research"
    OTHER = "other"


class Organization(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    name_key = fields.CharField(max_length=200, unique=True)  # case/space-folded name
    sector = fields.CharEnumField(Sector, max_length=16, default=Sector.OTHER)
    territory: fields.ForeignKeyNullableRelation[Territory] = fields.ForeignKeyField(
        "people.Territory", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    territory_id: int | None
    website = fields.CharField(max_length=300, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "people_organization"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Person(Model):
    """One row per human, identified by e-mail (case-insensitive)."""

    id = fields.IntField(primary_key=True)
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100)
    email = fields.CharField(max_length=254, null=True)  # as typed; null once erased
    email_key = fields.CharField(max_length=254, unique=True, null=True)  # lower-case
    phone = fields.CharField(max_length=40, default="")
    language = fields.CharField(max_length=5, default="fr")
    organization: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "people.Organization", related_name="people", null=True, on_delete=fields.SET_NULL
    )
    organization_id: int | None
    clientele: fields.ForeignKeyNullableRelation[Clientele] = fields.ForeignKeyField(
        "people.Clientele", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    clientele_id: int | None
    territory: fields.ForeignKeyNullableRelation[Territory] = fields.ForeignKeyField(
        "people.Territory", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    territory_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    erased_at = fields.DatetimeField(null=True)

    class Meta:
        table = "people_person"
        ordering = ["last_name", "first_name"]
        # updated_at: a renamed or erased person reaches the tablet rosters' changes;
        # (last_name, first_name, id): the people list's order, read page by page.
        indexes = (("updated_at",), ("last_name", "first_name", "id"))

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class ConsentPurpose(StrEnum):
    EVENT_COMMUNICATIONS = "event_communications"
    NEWSLETTER = "newsletter"
    PHOTOS = "photos"
    PARENTAL = "parental"  # parent or guardian consent for a youth under 14
    JPS_NEWS = "jps_news"  # news of the Journées de la persévérance scolaire


class Consent(Model):
    """Consent ledger: every grant or withdrawal, never updated in place."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "people.Person", related_name="consents", on_delete=fields.CASCADE
    )
    person_id: int
    purpose = fields.CharEnumField(ConsentPurpose, max_length=32)
    granted = fields.BooleanField()
    source = fields.CharField(max_length=64)  # "registration_form", "import", "unsubscribe"…
    wording = fields.TextField(default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "people_consent"
        ordering = ["at", "id"]
        # A person's ledger (history, erasure, the retention rule's "consent on record").
        indexes = (("person_id", "purpose"),)


class Tag(Model):
    """A free label on people and organizations ("comité JPS", "partenaire 2027")."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=60)
    key = fields.CharField(max_length=60, unique=True)  # case/space-folded name

    class Meta:
        table = "people_tag"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PersonTag(Model):
    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "people.Person", related_name="tag_links", on_delete=fields.CASCADE
    )
    person_id: int
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "people.Tag", related_name=False, on_delete=fields.CASCADE
    )
    tag_id: int

    class Meta:
        table = "people_person_tag"
        unique_together = (("person", "tag"),)


class OrganizationTag(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "people.Organization", related_name="tag_links", on_delete=fields.CASCADE
    )
    organization_id: int
    tag: fields.ForeignKeyRelation[Tag] = fields.ForeignKeyField(
        "people.Tag", related_name=False, on_delete=fields.CASCADE
    )
    tag_id: int

    class Meta:
        table = "people_organization_tag"
        unique_together = (("organization", "tag"),)


class PlanLevel(StrEnum):
    AXIS = "axis"
    ORIENTATION = "orientation"
    OBJECTIVE = "objective"
    ACTION = "action"


class Plan(Model):
    """A regional action plan for a period of years ("Plan d'action régional 2023-2028").

    A body keeps several (one per period); each holds its own tree of `PlanItem`s, whose
    codes are unique within the plan only."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    period_start = fields.IntField()  # a year, e.g. 2023
    period_end = fields.IntField()  # a year, inclusive, e.g. 2028
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    items: fields.ReverseRelation[PlanItem]

    class Meta:
        table = "people_plan"
        ordering = ["-period_start", "-period_end", "-id"]

    def covers(self, year: int) -> bool:
        return self.period_start <= year <= self.period_end


class PlanTargetMeasure(StrEnum):
    """Which participation measure counts toward an action's target ("" = none)."""

    NONE = ""
    PEOPLE = "people"
    ATTENDED_HEADCOUNT = "attended_headcount"
    REGISTRATIONS = "registrations"
    ORGANIZATIONS = "organizations"
    EVENTS = "events"
    CERTIFIED_EMPLOYERS = "certified_employers"


class PlanItem(Model):
    """Action-plan tree: axe (A–D) > orientation > objectif > action ("1.1.3").

    `code` is unique within its plan (unique together with `plan`); another plan may
    reuse it. `axis` is the item's root ancestor, denormalized so reports can GROUP BY
    axis in SQL: an axis points to ITSELF, so `axis_id` is the axis of every item, axes
    included (null only for a row written without the services). The services that
    create or move items keep it right (people.reference.seed_plan_items, reports.plans,
    reports.plan_csv; `people.reference.fill_plan_axes` recomputes a whole plan)."""

    id = fields.IntField(primary_key=True)
    plan: fields.ForeignKeyRelation[Plan] = fields.ForeignKeyField(
        "people.Plan", related_name="items", on_delete=fields.CASCADE
    )
    plan_id: int
    code = fields.CharField(max_length=20)
    level = fields.CharEnumField(PlanLevel, max_length=12)
    title = fields.TextField()
    parent: fields.ForeignKeyNullableRelation[PlanItem] = fields.ForeignKeyField(
        "people.PlanItem", related_name="children", null=True, on_delete=fields.CASCADE
    )
    parent_id: int | None
    axis: fields.ForeignKeyNullableRelation[PlanItem] = fields.ForeignKeyField(
        "people.PlanItem", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    axis_id: int | None
    position = fields.IntField(default=0)
    clienteles = fields.CharField(max_length=64, default="")  # codes, comma-separated
    indicator = fields.CharField(max_length=300, default="")
    target = fields.IntField(null=True)
    target_measure = fields.CharField(max_length=24, default="")  # a PlanTargetMeasure

    class Meta:
        table = "people_plan_item"
        ordering = ["position", "code"]
        unique_together = (("plan", "code"),)
