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
from core.auth import PERMISSIONS, Principal, authorize
from core.errors import Forbidden, NotFound, ValidationFailed
from core.i18n import _
from core.models import Role, User
from core.settings import local_tz
from people.models import PlanItem
from people.plans import resolve_codes


async def create_program(actor: Principal, data: ProgramIn) -> Program:
    """A new program with its criteria, levels and periods (admin)."""
    authorize(actor, "certification.manage")
    plan_items: list[PlanItem] = []
    if data.plan_items:
        # Codes repeat across plans: they are read in the plan of the current year.
        year = datetime.now(local_tz()).year
        plan_items, missing = await resolve_codes(data.plan_items, year=year)
        if missing:
            raise ValidationFailed(
                fields={"plan_items": _("Action du plan inconnue : %(code)s.", code=missing[0])}
            )
    reviewers: list[User] = []
    if data.reviewers:
        keys = [email.strip().lower() for email in data.reviewers]
        users = {u.email: u for u in await User.filter(email__in=keys, is_active=True)}
        for email in keys:
            user = users.get(email)
            if user is None or Role(user.role) not in PERMISSIONS["certification.review"]:
                raise ValidationFailed(
                    fields={
                        "reviewers": _(
                            "%(email)s n'est pas un compte examinateur actif.", email=email
                        )
                    }
                )
        reviewers = list(users.values())
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
        if reviewers:
            await program.reviewers.add(*reviewers)
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


async def check_reviewer(actor: Principal, program_id: int) -> None:
    """A program with named reviewers is reviewed by them (and by administrators)."""
    if actor.via == "system" or actor.role == Role.ADMIN:
        return
    program = await Program.get_or_none(id=program_id)
    if program is None:
        return
    named = [row["id"] for row in await program.reviewers.all().values("id")]
    if named and actor.user_id not in named:
        raise Forbidden(_("Ce programme a ses propres examinateurs; vous n'en faites pas partie."))


def _lines(text: str) -> list[list[str]]:
    return [
        [part.strip() for part in line.split(";")]
        for line in text.replace("\r", "").split("\n")
        if line.strip()
    ]


REQUIRED_WORDS = frozenset({"obligatoire", "required", "oui", "yes"})
EVIDENCE_WORDS = frozenset({"preuve", "evidence"})


def program_from_form(values: Mapping[str, str]) -> dict[str, Any]:
    """The back-office form's text (one criterion or level a line, fields separated by
    ";") as the `ProgramIn` document; its own validation reports the problems.

    Criterion: `code ; texte ; points ; obligatoire ; preuve` (the last two optional).
    Level: `code ; nom ; points minimum`.
    """
    criteria = []
    for parts in _lines(values.get("criteria", "")):
        flags = {p.lower() for p in parts[3:]}
        criteria.append(
            {
                "code": parts[0],
                "text": parts[1] if len(parts) > 1 else "",
                "points": parts[2] if len(parts) > 2 and parts[2] else 0,
                "required": bool(flags & REQUIRED_WORDS),
                "evidence_asked": bool(flags & EVIDENCE_WORDS),
            }
        )
    levels = [
        {
            "code": parts[0],
            "name": parts[1] if len(parts) > 1 else "",
            "min_points": parts[2] if len(parts) > 2 and parts[2] else 0,
        }
        for parts in _lines(values.get("levels", ""))
    ]
    return {
        "name": values.get("name", ""),
        "description_fr": values.get("description_fr", ""),
        "validity_months": values.get("validity_months") or 24,
        "renewal_window_days": values.get("renewal_window_days") or 90,
        "criteria": criteria,
        "levels": levels,
    }
