"""Demo employer certification for `rassembleur demo`: the regional program (the
commitments of issue 16: at most 17 hours a week during the school year, of which at most
10 from Monday to Friday, no shift during class hours, flexible schedules during exams,
valuing a first diploma, taking part in initiatives), with Bronze, Argent and Or levels,
tagged with plan action 5.1.2; and 20 fictional employers across the six MRCs of
Lanaudière in every state of the workflow (certified at each level, expiring, renewed,
lapsed, revoked, refused, changes requested, under review, submitted, drafts).

Everything goes through the real services (program creation, applications, the
workflow's transitions with back-dated times, the renewals upkeep), so the audit log, the
certificates and the outbox look as they would. Idempotent: nothing is added when the
program already exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from campaigns.certification import applications, programs, renewals, workflow
from campaigns.certification.models import Application, ApplicationStatus, Program
from campaigns.certification.schemas import ApplicationIn, ProgramIn
from core.auth import Principal
from core.settings import Settings
from people.models import PlanItem

PROGRAM_NAME = "Employeur engagé pour la conciliation études-travail"
SYSTEM = Principal.system("démo")

CRITERIA: list[dict[str, Any]] = [
    {
        "code": "heures",
        "text": "Au plus 17 heures de travail par semaine pendant l'année scolaire pour les "
        "élèves encore soumis à l'obligation de fréquentation scolaire, dont au plus 10 heures "
        "du lundi au vendredi.",
        "text_en": "At most 17 hours of work a week during the school year for students still "
        "subject to compulsory attendance, of which at most 10 hours Monday to Friday.",
        "required": True,
        "points": 25,
    },
    {
        "code": "heures_classe",
        "text": "Aucun quart de travail pendant les heures de classe.",
        "text_en": "No shift during class hours.",
        "required": True,
        "points": 25,
    },
    {
        "code": "examens",
        "text": "Des horaires souples pendant les périodes d'examens.",
        "text_en": "Flexible schedules during exam periods.",
        "evidence_asked": True,
        "points": 15,
    },
    {
        "code": "diplome",
        "text": "Valoriser l'obtention d'un premier diplôme (reconnaissance, prime, affichage).",
        "text_en": "Value the completion of a first diploma (recognition, bonus, posting).",
        "evidence_asked": True,
        "points": 15,
    },
    {
        "code": "initiatives",
        "text": "Participer à des initiatives qui soutiennent la réussite éducative (Journées "
        "de la persévérance scolaire, stages, visites d'entreprise).",
        "text_en": "Take part in initiatives that support educational success (school "
        "perseverance days, internships, company visits).",
        "points": 10,
    },
    {
        "code": "dialogue",
        "text": "Discuter de l'horaire avec chaque élève à l'embauche et à chaque session.",
        "text_en": "Discuss the schedule with each student when hired and every term.",
        "points": 10,
    },
]
LEVELS: list[dict[str, Any]] = [
    {"code": "bronze", "name": "Bronze", "name_en": "Bronze", "min_points": 50},
    {"code": "argent", "name": "Argent", "name_en": "Silver", "min_points": 70},
    {"code": "or", "name": "Or", "name_en": "Gold", "min_points": 90},
]
# The criteria met for each level (points: 50, 75, 100).
MET = {
    "bronze": {"heures", "heures_classe"},
    "argent": {"heures", "heures_classe", "examens", "initiatives"},
    "or": {c["code"] for c in CRITERIA},
}


@dataclass(frozen=True)
class DemoEmployer:
    name: str
    territory: str  # MRC code
    sector: str
    employees: int
    students: int
    state: str  # what the demo makes of its application
    level: str = "argent"
    publish: bool = True
    months_ago: int = 6  # when it was certified


# D'Autray 2452, L'Assomption 2460, Joliette 2461, Matawinie 2462, Montcalm 2463,
# Les Moulins 2464.
EMPLOYERS = [
    DemoEmployer("Épicerie du Vieux-Joliette", "2461", "retail", 28, 9, "certified", "or", True, 8),
    DemoEmployer("Restaurant Le Rang-Double", "2460", "food_service", 35, 14, "certified"),
    DemoEmployer("Camping du Lac-Taureau", "2462", "accommodation", 22, 11, "certified", "bronze"),
    DemoEmployer("Pépinière Saint-Jacques", "2463", "agriculture", 18, 6, "certified", "argent"),
    DemoEmployer("Pharmacie des Moulins", "2464", "retail", 40, 12, "certified", "or", True, 3),
    DemoEmployer("Fromagerie de Lanoraie", "2452", "manufacturing", 30, 5, "certified", "bronze"),
    DemoEmployer("Garage Leblanc et fils", "2461", "services", 12, 3, "certified", "argent", False),
    DemoEmployer("Centre aquatique de Terrebonne", "2464", "recreation", 45, 20, "certified", "or"),
    DemoEmployer("Boulangerie Le Fournil", "2460", "food_service", 16, 7, "expiring", "argent"),
    DemoEmployer("Quincaillerie Berthier", "2452", "retail", 24, 8, "expiring", "bronze"),
    DemoEmployer("Cinéma Le Vieux-Joliette", "2461", "recreation", 20, 13, "renewed", "or"),
    DemoEmployer("Dépanneur Saint-Donat", "2462", "retail", 8, 4, "lapsed", "bronze"),
    DemoEmployer("Resto-bar Le Montcalm", "2463", "food_service", 26, 10, "revoked", "argent"),
    DemoEmployer("Entrepôt Mascouche", "2464", "services", 60, 6, "refused"),
    DemoEmployer("Marché Saint-Charles", "2461", "retail", 33, 15, "changes_requested"),
    DemoEmployer("Auberge de Saint-Zénon", "2462", "accommodation", 14, 5, "under_review"),
    DemoEmployer("Clinique dentaire Repentigny", "2460", "health", 11, 2, "submitted"),
    DemoEmployer("Ferme maraîchère Sainte-Julienne", "2463", "agriculture", 25, 9, "submitted"),
    DemoEmployer("Atelier d'usinage Lavaltrie", "2452", "manufacturing", 42, 4, "draft"),
    DemoEmployer("Librairie des Moulins", "2464", "retail", 9, 3, "draft", "bronze"),
]


def _slug(name: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch if ch.isalnum() else "." for ch in plain.lower()).strip(".")


async def _program(settings: Settings) -> Program:
    plan_items = ["5.1.2"] if await PlanItem.exists(code="5.1.2") else []
    return await programs.create_program(
        SYSTEM,
        ProgramIn.model_validate(
            {
                "name": PROGRAM_NAME,
                "description_fr": "La certification régionale reconnaît les employeurs qui "
                "soutiennent la conciliation études-travail de leurs employés aux études "
                "(plan d'action, action 5.1.2). Trois niveaux : Bronze, Argent et Or.",
                "description_en": "The regional certification recognizes employers who "
                "support the work-study balance of their student employees.",
                "validity_months": 24,
                "renewal_window_days": 90,
                "criteria": CRITERIA,
                "levels": LEVELS,
                "plan_items": plan_items,
            }
        ),
    )


async def _apply(program: Program, employer: DemoEmployer, settings: Settings) -> Application:
    email = f"rh@{_slug(employer.name)}.exemple.qc.ca"
    data = ApplicationIn.model_validate(
        {
            "program_id": program.id,
            "employer": {
                "legal_name": employer.name,
                "sector": employer.sector,
                "territory": employer.territory,
                "employees": employer.employees,
                "student_employees": employer.students,
            },
            "contact": {
                "first_name": "Responsable",
                "last_name": "des ressources humaines",
                "email": email,
                "consent": True,
            },
            "answers": {
                c["code"]: {
                    "met": c["code"] in MET[employer.level],
                    "evidence": "Politique interne affichée au babillard."
                    if c.get("evidence_asked") and c["code"] in MET[employer.level]
                    else "",
                }
                for c in CRITERIA
            },
            "publish_in_directory": employer.publish,
        }
    )
    application, _created = await applications.create_application(data, settings=settings)
    return application


async def _walk(
    application: Application, employer: DemoEmployer, settings: Settings, now: datetime
) -> None:
    """Moves the application along the workflow, back-dated, to the employer's state."""
    if employer.state == "draft":
        return
    certified_at = now - timedelta(days=30 * employer.months_ago)
    if employer.state == "expiring":
        certified_at = now - timedelta(days=30 * 22)
    elif employer.state in ("lapsed", "renewed"):
        certified_at = now - timedelta(days=30 * 25 if employer.state == "lapsed" else 30 * 22)
    submitted = certified_at - timedelta(days=21)
    applicant = workflow.applicant(f"rh@{_slug(employer.name)}.exemple.qc.ca")

    async def move(to: str, at: datetime, **kwargs: str) -> None:
        actor = applicant if to == "submitted" else SYSTEM
        await workflow.transition(actor, application.id, to, settings=settings, now=at, **kwargs)

    await move("submitted", submitted)
    if employer.state == "submitted":
        return
    await move("under_review", submitted + timedelta(days=3))
    if employer.state == "under_review":
        return
    if employer.state == "changes_requested":
        await move(
            "changes_requested",
            submitted + timedelta(days=8),
            message="Pouvez-vous préciser comment les horaires sont adaptés pendant les "
            "examens de juin?",
        )
        return
    if employer.state == "refused":
        await move(
            "refused",
            submitted + timedelta(days=10),
            message="Les quarts de travail de semaine dépassent 10 heures pour les élèves "
            "de moins de 16 ans.",
        )
        return
    await move("certified", certified_at, level=employer.level)
    if employer.state == "revoked":
        await move(
            "revoked",
            now - timedelta(days=20),
            message="Des élèves ont été affectés à des quarts pendant les heures de classe.",
        )


async def _renew(application: Application, settings: Settings, now: datetime) -> None:
    """The expiring certification of `application` renewed at the Or level last week."""
    token = workflow.resume_token(settings, application.id)
    renewal = await applications.start_renewal(settings, token)
    applicant = workflow.applicant("renouvellement@exemple.qc.ca")
    at = now - timedelta(days=10)
    await workflow.transition(applicant, renewal.id, "submitted", settings=settings, now=at)
    await workflow.transition(
        SYSTEM, renewal.id, "under_review", settings=settings, now=at + timedelta(days=1)
    )
    await workflow.transition(
        SYSTEM, renewal.id, "certified", level="or", settings=settings, now=at + timedelta(days=3)
    )


async def load_demo_certification(settings: Settings) -> str:
    """The demo program and its 20 employers; a short French summary."""
    if await Program.exists(name=PROGRAM_NAME):
        return "certification déjà chargée"
    now = datetime.now(UTC)
    program = await _program(settings)
    made: list[tuple[Application, DemoEmployer]] = []
    for employer in EMPLOYERS:
        application = await _apply(program, employer, settings)
        await _walk(application, employer, settings, now)
        made.append((application, employer))
    # The upkeep: certifications inside their renewal window become "expiring", those
    # past their end "lapsed" (what the worker would have done on its rounds).
    await renewals.run_renewals(settings, now=now)
    for application, employer in made:
        if employer.state == "renewed":
            await _renew(application, settings, now)
    certified = await Application.filter(
        program_id=program.id,
        status__in=[ApplicationStatus.CERTIFIED, ApplicationStatus.EXPIRING],
    ).count()
    return f"1 programme de certification, {len(EMPLOYERS)} employeurs dont {certified} certifiés"
