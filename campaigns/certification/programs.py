"""Certification programs: criteria, levels, application periods; points and levels.

`points_of` and `suggested_level` are the one place that scores an application.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from campaigns.certification.models import Cohort, Criterion, Level, Program
from campaigns.certification.schemas import ProgramIn, ProgramOut
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import NotFound, ValidationFailed
from core.i18n import _
from people.models import PlanItem


async def create_program(actor: Principal, data: ProgramIn) -> Program:
    """A new program with its criteria, levels and periods (admin)."""
    authorize(actor, "certification.manage")
    plan_items = []
    if data.plan_items:
        found = {p.code: p for p in await PlanItem.filter(code__in=data.plan_items)}
        missing = [code for code in data.plan_items if code not in found]
        if missing:
            raise ValidationFailed(
                fields={"plan_items": _("Action du plan inconnue : %(code)s.", code=missing[0])}
            )
        plan_items = list(found.values())
    async with in_transaction():
        program = await Program.create(
            name=data.name,
            description_fr=data.description_fr,
            description_en=data.description_en,
            validity_months=data.validity_months,
            renewal_window_days=data.renewal_window_days,
            active=data.active,
        )
        for position, criterion in enumerate(data.criteria):
            await Criterion.create(
                program=program,
                code=criterion.code,
                text_fr=criterion.text,
                text_en=criterion.text_en,
                required=criterion.required,
                evidence_asked=criterion.evidence_asked,
                points=criterion.points,
                position=position,
            )
        for position, level in enumerate(data.levels):
            await Level.create(
                program=program,
                code=level.code,
                name_fr=level.name,
                name_en=level.name_en,
                min_points=level.min_points,
                position=position,
            )
        for cohort in data.cohorts:
            await Cohort.create(
                program=program,
                name=cohort.name,
                opens_at=cohort.opens_at.astimezone(UTC),
                closes_at=cohort.closes_at.astimezone(UTC),
            )
        if plan_items:
            await program.plan_items.add(*plan_items)
        await audit(actor, "certification.program_created", program, {"name": program.name})
    return program


async def list_programs(*, active_only: bool = False) -> list[Program]:
    query = Program.filter(active=True) if active_only else Program.all()
    return list(await query.order_by("name", "id"))


async def get_program(program_id: int) -> Program:
    program = await Program.get_or_none(id=program_id)
    if program is None:
        raise NotFound()
    return program


async def criteria_of(program_id: int) -> list[Criterion]:
    return list(await Criterion.filter(program_id=program_id).order_by("position", "id"))


async def levels_of(program_id: int) -> list[Level]:
    return list(await Level.filter(program_id=program_id).order_by("min_points", "position"))


async def open_cohort(program: Program, now: datetime | None = None) -> Cohort | None:
    """The application period open now (None when the program has no periods)."""
    now = now or datetime.now(UTC)
    return (
        await Cohort.filter(program_id=program.id, opens_at__lte=now, closes_at__gt=now)
        .order_by("-opens_at")
        .first()
    )


async def accepts_applications(program: Program) -> tuple[bool, Cohort | None]:
    """(open?, cohort): an active program without periods is always open."""
    if not program.active:
        return False, None
    if not await Cohort.filter(program_id=program.id).exists():
        return True, None
    cohort = await open_cohort(program)
    return cohort is not None, cohort


def points_of(criteria: Iterable[Criterion], answers: Mapping[str, Mapping[str, Any]]) -> int:
    """The points of the criteria answered as met."""
    return sum(c.points for c in criteria if (answers.get(c.code) or {}).get("met") is True)


def suggested_level(levels: Iterable[Level], points: int) -> Level | None:
    """The highest level whose minimum the points reach."""
    reached = [level for level in levels if points >= level.min_points]
    return max(reached, key=lambda level: (level.min_points, level.position), default=None)


def level_name(level: Level, language: str = "fr") -> str:
    return level.name_en if language == "en" and level.name_en else level.name_fr


def criterion_text(criterion: Criterion, language: str = "fr") -> str:
    return criterion.text_en if language == "en" and criterion.text_en else criterion.text_fr


async def program_out(program: Program) -> dict[str, Any]:
    criteria = await criteria_of(program.id)
    levels = await levels_of(program.id)
    return ProgramOut.model_validate(
        {
            "id": program.id,
            "name": program.name,
            "validity_months": program.validity_months,
            "renewal_window_days": program.renewal_window_days,
            "active": program.active,
            "criteria": [
                {
                    "code": c.code,
                    "text": c.text_fr,
                    "text_en": c.text_en,
                    "required": c.required,
                    "evidence_asked": c.evidence_asked,
                    "points": c.points,
                }
                for c in criteria
            ],
            "levels": [
                {
                    "code": lv.code,
                    "name": lv.name_fr,
                    "name_en": lv.name_en,
                    "min_points": lv.min_points,
                }
                for lv in levels
            ],
        }
    ).model_dump(mode="json")
