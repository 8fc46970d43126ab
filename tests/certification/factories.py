"""Certification test data: a program like Lanaudière's (Bronze, Argent, Or), application
bodies, and a helper that walks an application to a given state."""

from __future__ import annotations

import copy
from typing import Any

from campaigns.certification import applications, programs, workflow
from campaigns.certification.models import Application, Program
from campaigns.certification.schemas import ApplicationIn, ProgramIn
from core.auth import Principal
from tests.conftest import make_settings

SYSTEM = Principal.system("tests")
JOLIETTE = "2461"
MATAWINIE = "2462"

PROGRAM: dict[str, Any] = {
    "name": "Employeur engagé envers la réussite éducative",
    "description_fr": "Reconnaître les employeurs qui favorisent la conciliation études-travail.",
    "validity_months": 24,
    "renewal_window_days": 90,
    "criteria": [
        {
            "code": "heures",
            "text": "Au plus 17 heures de travail par semaine pendant l'année scolaire",
            "required": True,
            "points": 30,
        },
        {
            "code": "horaire",
            "text": "Aucun quart de travail pendant les heures de classe",
            "required": True,
            "points": 20,
        },
        {
            "code": "examens",
            "text": "Horaire flexible pendant les périodes d'examens",
            "evidence_asked": True,
            "points": 20,
        },
        {"code": "diplome", "text": "Valoriser l'obtention d'un premier diplôme", "points": 15},
        {"code": "initiatives", "text": "Participer à des initiatives éducatives", "points": 15},
    ],
    "levels": [
        {"code": "bronze", "name": "Bronze", "name_en": "Bronze", "min_points": 50},
        {"code": "argent", "name": "Argent", "name_en": "Silver", "min_points": 70},
        {"code": "or", "name": "Or", "name_en": "Gold", "min_points": 90},
    ],
}


async def make_program(**overrides: Any) -> Program:
    data = copy.deepcopy(PROGRAM)
    data.update(overrides)
    return await programs.create_program(SYSTEM, ProgramIn.model_validate(data))


def application_body(program_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "program_id": program_id,
        "employer": {
            "legal_name": "Boulangerie du Vieux-Joliette inc.",
            "neq": "1171234567",
            "sector": "food_service",
            "address": "123, rue Notre-Dame, Joliette",
            "territory": JOLIETTE,
            "employees": 25,
            "student_employees": 9,
        },
        "contact": {
            "first_name": "Geneviève",
            "last_name": "Lafortune",
            "email": "genevieve@boulangerie.exemple.qc.ca",
            "consent": True,
        },
        "answers": {
            "heures": {"met": True},
            "horaire": {"met": True},
            "examens": {"met": True, "evidence": "Congé sur demande pendant les examens."},
            "diplome": {"met": False},
            "initiatives": {"met": False},
        },
        "publish_in_directory": True,
        "submit": True,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


async def apply(program: Program, **overrides: Any) -> Application:
    data = ApplicationIn.model_validate(application_body(program.id, **overrides))
    application, _created = await applications.create_application(data, settings=make_settings())
    return application


async def walk(application: Application, *states: str, level: str = "argent") -> Application:
    settings = make_settings()
    for state in states:
        actor = SYSTEM
        application = await workflow.transition(
            actor,
            application.id,
            state,
            level=level if state == "certified" else None,
            message="Motif" if state in ("changes_requested", "revoked") else "",
            settings=settings,
        )
    return application
