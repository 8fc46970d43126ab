"""The employer's side: saving an application (draft or submitted), resuming it from the
signed link, starting a renewal. No HTTP here.

Nothing is half-saved: the employer, the contact, the application, its audit entry, the
mail and (when submitted) the move to `submitted` are written in one transaction. Two
identical requests (a double tap on "Submit") carry the same form nonce
(`idempotency_key`): the database keeps one application and the second request gets it.
An employer has at most one open application per program (`open_key`, unique).

Text is stored as typed; pages and mails escape it (Jinja autoescape).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from campaigns.certification import programs, verification, workflow
from campaigns.certification.models import (
    Application,
    ApplicationStatus,
    Certificate,
    Criterion,
    Employer,
    Level,
    Program,
    ReviewNote,
)
from campaigns.certification.schemas import ApplicationIn, ApplicationOut
from core.audit import audit
from core.auth import Principal
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import _
from core.mail.outbox import queue_mail
from core.settings import Settings
from people.models import Territory, TerritoryKind
from people.service import name_key, upsert_person

S = ApplicationStatus
SYSTEM = Principal.system("certification")


def employer_key(legal_name: str, neq: str | None) -> str:
    return f"neq:{neq}" if neq else f"name:{name_key(legal_name)[:200]}"


def check_answers(
    criteria: list[Criterion], answers: dict[str, Any], *, submitting: bool
) -> dict[str, str]:
    """Field errors of the answers: unknown criteria; on submit, every criterion answered
    and every required one met."""
    errors: dict[str, str] = {}
    codes = {c.code for c in criteria}
    for code in answers:
        if code not in codes:
            errors[f"answers.{code}"] = _("Critère inconnu pour ce programme.")
    if submitting:
        for criterion in criteria:
            answer = answers.get(criterion.code)
            if answer is None:
                errors[f"answers.{criterion.code}.met"] = _("Répondez par oui ou par non.")
            elif criterion.required and not answer.met:
                errors[f"answers.{criterion.code}.met"] = _(
                    "Cet engagement est obligatoire pour obtenir la certification."
                )
    return errors


async def _checked(program: Program, data: ApplicationIn) -> tuple[Territory, dict[str, Any]]:
    """The employer's MRC and the stored answers; every problem as a field error."""
    criteria = await programs.criteria_of(program.id)
    errors = check_answers(criteria, data.answers, submitting=data.submit)
    territory = await Territory.get_or_none(code=data.employer.territory, kind=TerritoryKind.MRC)
    if territory is None:
        errors["employer.territory"] = _("Choisissez la MRC de l'entreprise.")
    if errors:
        raise ValidationFailed(fields=errors)
    assert territory is not None
    answers = {
        code: {"met": answer.met, "evidence": answer.evidence}
        for code, answer in data.answers.items()
    }
    return territory, answers


def employer_data(data: ApplicationIn) -> dict[str, Any]:
    """What the applicant typed about the employer, with the directory consent's wording
    as they saw it (kept with the employer when certified)."""
    return {
        **data.employer.model_dump(),
        "publish_in_directory": data.publish_in_directory,
        "directory_wording": _(workflow.DIRECTORY_WORDING) if data.publish_in_directory else "",
        "contact": data.contact.model_dump(exclude={"consent"}),
    }


async def _open_program(program_id: int) -> tuple[Program, int | None]:
    program = await Program.get_or_none(id=program_id)
    if program is None:
        raise ValidationFailed(fields={"program_id": _("Programme inconnu.")})
    is_open, cohort = await programs.accepts_applications(program)
    if not is_open:
        raise Conflict(
            _("Ce programme n'accepte pas de demandes en ce moment."), code="applications_closed"
        )
    return program, cohort.id if cohort else None


async def _contact(data: ApplicationIn) -> Any:
    person, _created = await upsert_person(
        SYSTEM,
        first_name=data.contact.first_name,
        last_name=data.contact.last_name,
        email=data.contact.email,
        language=data.language,
        phone=data.contact.phone,
        overwrite=False,
    )
    return person


async def create_application(
    data: ApplicationIn,
    *,
    settings: Settings,
    ip: str = "",
    campaign_id: int | None = None,
) -> tuple[Application, bool]:
    """A new application (draft, or submitted when `data.submit`); (application, created).

    The same `idempotency_key` again returns the first application (created False). Another
    open application of the same employer is a 409 and its link is mailed again to its
    contact (never shown to whoever typed the employer's name).
    """
    program, cohort_id = await _open_program(data.program_id)
    territory, answers = await _checked(program, data)
    criteria = await programs.criteria_of(program.id)
    key = employer_key(data.employer.legal_name, data.employer.neq)
    actor = workflow.applicant(data.contact.email, ip)
    now = datetime.now(UTC)
    if campaign_id is not None:
        from campaigns.models import Campaign

        if not await Campaign.filter(id=campaign_id).exists():
            campaign_id = None
    try:
        async with in_transaction():
            employer = await Employer.get_or_none(key=key)
            if employer is None:
                employer = await Employer.create(
                    key=key,
                    legal_name=data.employer.legal_name,
                    neq=data.employer.neq,
                    sector=data.employer.sector,
                    address=data.employer.address,
                    territory=territory,
                    employees=data.employer.employees,
                    student_employees=data.employer.student_employees,
                )
            person = await _contact(data)
            application = await Application.create(
                program=program,
                cohort_id=cohort_id,
                employer=employer,
                contact=person,
                contact_consent_at=now,
                status=S.DRAFT,
                employer_data=employer_data(data),
                language=data.language,
                answers=answers,
                points=programs.points_of(criteria, answers),
                open_key=f"{program.id}:{employer.id}",
                form_nonce=data.idempotency_key,
                campaign_id=campaign_id,
            )
            await audit(
                actor,
                "certification.application_created",
                application,
                {"program": program.id, "employer": employer.legal_name},
            )
            if data.submit:
                application = await workflow.transition(
                    actor, application.id, S.SUBMITTED, settings=settings, now=now
                )
            else:
                await _mail_draft_link(application, settings)
    except IntegrityError:
        return await _existing(data, key, program.id, settings), False
    return application, True


async def _existing(
    data: ApplicationIn, key: str, program_id: int, settings: Settings
) -> Application:
    """After a unique-key clash: the same form sent twice, or another open application."""
    if data.idempotency_key:
        twin = await Application.get_or_none(form_nonce=data.idempotency_key)
        if twin is not None:
            return twin
    employer = await Employer.get_or_none(key=key)
    other = (
        await Application.get_or_none(open_key=f"{program_id}:{employer.id}")
        if employer is not None
        else None
    )
    if other is None:
        raise Conflict(_("La demande n'a pas pu être enregistrée; réessayez."))
    await _mail_draft_link(other, settings, again=True)
    raise Conflict(
        _(
            "Une demande est déjà en cours pour cette entreprise. Le lien pour la reprendre "
            "vient d'être envoyé à sa personne-ressource."
        ),
        code="application_in_progress",
    )


async def _mail_draft_link(
    application: Application, settings: Settings, *, again: bool = False
) -> None:
    address = await workflow.contact_address(application)
    if not address:
        return
    context = await workflow.mail_context(application, settings)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H") if again else "first"
    await queue_mail(
        to_address=address,
        template="certification_draft",
        context=context,
        language=application.language,
        dedupe_key=f"certification:{application.id}:draft:{stamp}",
        to_name=context["to_name"],
        person_id=application.contact_id,
        cause=(workflow.TARGET, application.id),
        settings=settings,
    )


async def by_token(settings: Settings, token: str) -> Application:
    application_id = workflow.application_id_of(settings, token)
    application = (
        await Application.get_or_none(id=application_id) if application_id is not None else None
    )
    if application is None:
        raise NotFound()
    return application


async def update_application(
    settings: Settings, token: str, data: ApplicationIn, *, ip: str = ""
) -> Application:
    """The employer's changes to a draft (or after changes were requested); submitted when
    `data.submit`."""
    application = await by_token(settings, token)
    if application.status not in workflow.EDITABLE:
        raise Conflict(
            _(
                "Cette demande est « %(status)s » : elle ne peut plus être modifiée.",
                status=workflow.status_label(application.status),
            ),
            code="application_locked",
        )
    program = await Program.get(id=application.program_id)
    data = data.model_copy(update={"program_id": program.id})
    _territory, answers = await _checked(program, data)
    criteria = await programs.criteria_of(program.id)
    actor = workflow.applicant(data.contact.email, ip)
    async with in_transaction():
        person = await _contact(data)
        updated = await Application.filter(
            id=application.id, status__in=list(workflow.EDITABLE)
        ).update(
            employer_data=employer_data(data),
            answers=answers,
            points=programs.points_of(criteria, answers),
            contact_id=person.id,
            language=data.language,
            updated_at=datetime.now(UTC),
        )
        if not updated:
            raise Conflict(
                _("Cette demande ne peut plus être modifiée."), code="application_locked"
            )
        if data.submit:
            application = await workflow.transition(
                actor, application.id, S.SUBMITTED, settings=settings
            )
        else:
            await application.refresh_from_db()
    return application


async def start_renewal(settings: Settings, token: str, *, ip: str = "") -> Application:
    """A renewal draft pre-filled from a current certification (its open one if any)."""
    previous = await by_token(settings, token)
    if previous.status not in workflow.CURRENT:
        raise Conflict(
            _(
                "Seule une certification en vigueur peut être renouvelée; celle-ci est "
                "« %(status)s ». Présentez une nouvelle demande.",
                status=workflow.status_label(previous.status),
            ),
            code="illegal_transition",
        )
    open_key = f"{previous.program_id}:{previous.employer_id}"
    existing = await Application.get_or_none(open_key=open_key)
    if existing is not None:
        return existing
    contact = (previous.employer_data or {}).get("contact")
    contact_email = str(contact.get("email", "")) if isinstance(contact, dict) else ""
    try:
        async with in_transaction():
            application = await Application.create(
                program_id=previous.program_id,
                employer_id=previous.employer_id,
                contact_id=previous.contact_id,
                contact_consent_at=previous.contact_consent_at,
                status=S.DRAFT,
                employer_data=previous.employer_data,
                language=previous.language,
                answers=previous.answers,
                points=previous.points,
                open_key=open_key,
                previous_id=previous.id,
            )
            await audit(
                workflow.applicant(contact_email, ip),
                "certification.renewal_started",
                application,
                {"previous": previous.id},
            )
    except IntegrityError:
        existing = await Application.get_or_none(open_key=open_key)
        if existing is None:
            raise
        return existing
    return application


# --------------------------------------------------------------------------- views


async def certificate_of(application: Application) -> Certificate | None:
    return await Certificate.get_or_none(application_id=application.id)


async def application_out(application: Application, settings: Settings) -> dict[str, Any]:
    data = application.employer_data or {}
    levels = await programs.levels_of(application.program_id)
    suggested = programs.suggested_level(levels, application.points)
    certificate = await certificate_of(application)
    certificate_out = None
    if certificate is not None:
        level = await Level.get(id=certificate.level_id)
        certificate_out = {
            "code": certificate.code,
            "level": level.code,
            "level_name": level.name_fr,
            "status": str(certificate.status.value),
            "issued_at": certificate.issued_at,
            "valid_until": certificate.valid_until,
            "verify_url": verification.verify_url(settings.base_url, certificate.code),
        }
    return ApplicationOut.model_validate(
        {
            "id": application.id,
            "program_id": application.program_id,
            "status": application.status.value,
            "employer": {
                "legal_name": str(data.get("legal_name", "")),
                "neq": data.get("neq") or None,
                "sector": str(data.get("sector", "")),
                "address": str(data.get("address", "")),
                "territory": data.get("territory") or None,
                "employees": int(str(data.get("employees") or 0)),
                "student_employees": int(str(data.get("student_employees") or 0)),
            },
            "points": application.points,
            "suggested_level": suggested.code if suggested else None,
            "previous_id": application.previous_id,
            "submitted_at": application.submitted_at,
            "certificate": certificate_out,
        }
    ).model_dump(mode="json")


async def messages_to_employer(application: Application) -> list[ReviewNote]:
    return list(
        await ReviewNote.filter(application_id=application.id, to_employer=True).order_by(
            "created_at", "id"
        )
    )


async def get_application(actor: Principal, application_id: int) -> Application:
    from core.auth import authorize

    authorize(actor, "certification.review")
    application = await Application.get_or_none(id=application_id)
    if application is None:
        raise NotFound()
    return application
