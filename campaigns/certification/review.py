"""What reviewers read: the queue (filters by status, program, MRC) and one application
with its answers, points, suggested level, the employer's previous application side by
side, internal notes and messages. State changes are `workflow.transition`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaigns.certification import programs, workflow
from campaigns.certification.models import (
    Application,
    ApplicationStatus,
    Certificate,
    Employer,
    Level,
    Program,
    ReviewNote,
)
from campaigns.certification.schemas import sector_label
from core.auth import Principal, authorize
from core.errors import NotFound, ValidationFailed
from core.i18n import N_, _
from core.models import User
from people.models import Person, Territory

QUEUE_LIMIT = 200
# The queue's default: what waits for a reviewer.
WAITING = (ApplicationStatus.SUBMITTED, ApplicationStatus.UNDER_REVIEW)


@dataclass
class QueueFilters:
    status: str = ""
    program_id: int | None = None
    territory: str = ""


async def list_applications(actor: Principal, filters: QueueFilters) -> list[dict[str, Any]]:
    authorize(actor, "certification.review")
    query = Application.all()
    if filters.status:
        if filters.status not in {s.value for s in ApplicationStatus}:
            raise ValidationFailed(fields={"status": _("Statut inconnu.")})
        query = query.filter(status=filters.status)
    else:
        query = query.filter(status__in=list(WAITING))
    if filters.program_id:
        query = query.filter(program_id=filters.program_id)
    if filters.territory:
        query = query.filter(employer__territory__code=filters.territory[:10])
    rows = await query.order_by("submitted_at", "id").limit(QUEUE_LIMIT)
    names = {p.id: p.name for p in await Program.all()}
    territories = {t.code: t.name for t in await Territory.all()}
    result = []
    for application in rows:
        data = application.employer_data or {}
        result.append(
            {
                "application": application,
                "employer": str(data.get("legal_name", "")),
                "territory": territories.get(str(data.get("territory", "")), ""),
                "program": names.get(application.program_id, ""),
                "status_label": workflow.status_label(application.status),
                "renewal": application.previous_id is not None,
            }
        )
    return result


@dataclass
class AnswerRow:
    code: str
    text: str
    required: bool
    points: int
    met: bool | None
    evidence: str
    previous_met: bool | None = None
    previous_evidence: str = ""

    @property
    def changed(self) -> bool:
        return self.previous_met != self.met or self.previous_evidence != self.evidence


@dataclass
class ReviewView:
    application: Application
    program: Program
    employer: Employer
    data: dict[str, Any]
    contact: Person
    answers: list[AnswerRow]
    levels: list[Level]
    suggested: Level | None
    previous: Application | None
    previous_data: dict[str, Any]
    employer_changes: list[tuple[str, str, str]]
    notes: list[tuple[ReviewNote, str]]
    certificate: Certificate | None
    certificate_level: Level | None
    next_states: list[str] = field(default_factory=list)
    sector: str = ""
    territory: str = ""


EMPLOYER_FIELDS = (
    ("legal_name", N_("Raison sociale")),
    ("neq", N_("NEQ")),
    ("sector", N_("Secteur")),
    ("address", N_("Adresse")),
    ("territory", N_("MRC")),
    ("employees", N_("Employés")),
    ("student_employees", N_("Employés aux études")),
    ("publish_in_directory", N_("Répertoire public")),
)


async def review_view(actor: Principal, application_id: int) -> ReviewView:
    authorize(actor, "certification.review")
    application = await Application.get_or_none(id=application_id)
    if application is None:
        raise NotFound()
    program = await Program.get(id=application.program_id)
    criteria = await programs.criteria_of(program.id)
    levels = await programs.levels_of(program.id)
    previous = (
        await Application.get_or_none(id=application.previous_id)
        if application.previous_id
        else await Application.filter(
            employer_id=application.employer_id,
            program_id=program.id,
            id__lt=application.id,
            submitted_at__isnull=False,
        )
        .order_by("-id")
        .first()
    )
    answers = application.answers or {}
    before = (previous.answers or {}) if previous else {}
    rows = []
    for criterion in criteria:
        answer = answers.get(criterion.code) or {}
        old = before.get(criterion.code) or {}
        rows.append(
            AnswerRow(
                code=criterion.code,
                text=programs.criterion_text(criterion),
                required=criterion.required,
                points=criterion.points,
                met=answer.get("met") if isinstance(answer.get("met"), bool) else None,  # type: ignore[arg-type]
                evidence=str(answer.get("evidence", "")),
                previous_met=old.get("met") if isinstance(old.get("met"), bool) else None,  # type: ignore[arg-type]
                previous_evidence=str(old.get("evidence", "")),
            )
        )
    data = application.employer_data or {}
    previous_data = (previous.employer_data or {}) if previous else {}
    changes = []
    if previous is not None:
        for key, label in EMPLOYER_FIELDS:
            if str(data.get(key, "")) != str(previous_data.get(key, "")):
                changes.append((_(label), str(previous_data.get(key, "")), str(data.get(key, ""))))
    notes = list(await ReviewNote.filter(application_id=application.id).order_by("created_at"))
    authors = {
        u.id: u.full_name or u.email
        for u in await User.filter(id__in=[n.author_id for n in notes if n.author_id])
    }
    certificate = await Certificate.get_or_none(application_id=application.id)
    territory = await Territory.get_or_none(code=str(data.get("territory", "")))
    return ReviewView(
        application=application,
        program=program,
        employer=await Employer.get(id=application.employer_id),
        data=data,
        contact=await Person.get(id=application.contact_id),
        answers=rows,
        levels=levels,
        suggested=programs.suggested_level(levels, application.points),
        previous=previous,
        previous_data=previous_data,
        employer_changes=changes,
        notes=[(n, authors.get(n.author_id or 0, _("système"))) for n in notes],
        certificate=certificate,
        certificate_level=await Level.get_or_none(id=certificate.level_id) if certificate else None,
        next_states=[
            s.value
            for s in workflow.next_states(application.status)
            if s in workflow.REVIEWER_TARGETS
        ],
        sector=sector_label(str(data.get("sector", ""))),
        territory=territory.name if territory else "",
    )
