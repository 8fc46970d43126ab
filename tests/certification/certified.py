"""Certified employers made directly in the database (tests of the directory, the
verification, the certificates and the stats; the workflow has its own tests)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from campaigns.certification.models import (
    Application,
    ApplicationStatus,
    Certificate,
    CertificateStatus,
    Employer,
    Level,
    Program,
)
from people.models import Person, PlanItem, PlanLevel, Territory
from people.plans import default_plan

_numbers = itertools.count(1)
LEVELS = (
    ("bronze", "Bronze", "Bronze", 0),
    ("argent", "Argent", "Silver", 10),
    ("or", "Or", "Gold", 20),
)


async def program(name: str = "Employeur engagé pour la réussite éducative", **kwargs) -> Program:
    created = await Program.create(name=name, **kwargs)
    for position, (code, fr, en, points) in enumerate(LEVELS):
        await Level.create(
            program=created, code=code, name_fr=fr, name_en=en, min_points=points, position=position
        )
    return created


async def tag(program_: Program, code: str = "5.1.2") -> PlanItem:
    plan = await default_plan()
    item = await PlanItem.get_or_none(plan=plan, code=code)
    if item is None:
        item = await PlanItem.create(
            plan=plan, code=code, level=PlanLevel.ACTION, title="Reconnaître les employeurs engagés"
        )
    await program_.plan_items.add(item)
    return item


async def certified(
    program_: Program,
    name: str,
    *,
    territory: str | None = "2461",
    sector: str = "retail",
    level: str = "argent",
    students: int = 3,
    publish: bool = True,
    status: CertificateStatus = CertificateStatus.VALID,
    issued_at: datetime | None = None,
    valid_until: datetime | None = None,
    revoked_at: datetime | None = None,
    employer: Employer | None = None,
    previous: Application | None = None,
    code: str | None = None,
) -> Certificate:
    n = next(_numbers)
    now = datetime.now(UTC)
    issued_at = issued_at or now - timedelta(days=30)
    valid_until = valid_until or issued_at + timedelta(days=730)
    if employer is None:
        place = await Territory.get(code=territory) if territory else None
        employer = await Employer.create(
            key=f"employeur-{n}",
            legal_name=name,
            sector=sector,
            territory=place,
            employees=students * 4,
            student_employees=students,
            publish_in_directory=publish,
            directory_consent_at=now if publish else None,
        )
    contact = await Person.create(
        first_name="Contact",
        last_name=f"Employeur {n}",
        email=f"contact{n}@exemple.qc.ca",
        email_key=f"contact{n}@exemple.qc.ca",
    )
    application_status = {
        CertificateStatus.VALID: ApplicationStatus.CERTIFIED,
        CertificateStatus.EXPIRING: ApplicationStatus.EXPIRING,
        CertificateStatus.RENEWED: ApplicationStatus.RENEWED,
        CertificateStatus.LAPSED: ApplicationStatus.LAPSED,
        CertificateStatus.REVOKED: ApplicationStatus.REVOKED,
    }[status]
    application = await Application.create(
        program=program_,
        employer=employer,
        contact=contact,
        status=application_status,
        previous=previous,
        certified_at=issued_at,
    )
    return await Certificate.create(
        application=application,
        code=code or f"TEST{n:04d}",
        level=await Level.get(program=program_, code=level),
        issued_at=issued_at,
        valid_until=valid_until,
        status=status,
        revoked_at=revoked_at,
        revoked_reason="Engagements non respectés" if revoked_at else "",
    )
