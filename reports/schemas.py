"""Pydantic input/output models of the reports package: action plans and their items.

Lengths are the columns' (people.models.Plan / PlanItem); numbers are bounded so a body
that a column cannot hold is a 422, never a 500.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.inputs import INT32_MAX, DbId

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_TITLE = 1000  # PlanItem.title is a TEXT column; a plan's line stays readable
PLAN_LEVELS = ("axis", "orientation", "objective", "action")
LevelName = Literal["axis", "orientation", "objective", "action"]
TargetMeasure = Literal[
    "",
    "people",
    "attended_headcount",
    "registrations",
    "organizations",
    "events",
    "certified_employers",
]
PlanCode = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[^\s,;]+$")]
Year = Annotated[int, Field(ge=MIN_YEAR, le=MAX_YEAR)]


class PlanIn(BaseModel):
    """A plan: its name and period (years, inclusive)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    period_start: Year
    period_end: Year
    active: bool = True


class PlanItemIn(BaseModel):
    """An item of a plan; `parent` is the parent's code in the same plan ("" for an axis)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: PlanCode
    level: LevelName
    parent: str = Field(default="", max_length=20)
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    indicator: str = Field(default="", max_length=300)
    target: int | None = Field(default=None, ge=1, le=INT32_MAX)
    target_measure: TargetMeasure = ""
    clienteles: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=20
    )


class PlanItemOut(BaseModel):
    id: int
    code: str
    level: LevelName
    parent: str | None
    axis: str | None
    title: str
    indicator: str
    target: int | None
    target_measure: TargetMeasure
    clienteles: list[str]
    position: int


class PlanOut(BaseModel):
    id: int
    name: str
    period_start: int
    period_end: int
    active: bool
    created_at: datetime
    items_count: int


class PlanDetailOut(PlanOut):
    items: list[PlanItemOut] = Field(
        description="En ordre d'arbre : chaque élément suit son parent."
    )


class PlanListOut(BaseModel):
    plans: list[PlanOut]


class PlanCreateIn(PlanIn):
    """A new plan, optionally with its items (same rules as the CSV import)."""

    items: list[PlanItemIn] = Field(default_factory=list, max_length=2000)


class PlanImportOut(BaseModel):
    plan_id: int
    created: int
    updated: int
    unchanged: int


class ReorderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    direction: Literal["up", "down"]


PlanItemRef = Annotated[DbId, Field(description="Identifiant d'un élément de plan")]
