"""The review workflow: the one function that changes an application's state.

    draft ─▶ submitted ─▶ under_review ─▶ certified (with a level) ─▶ expiring ─▶ renewed
               ▲                │  │            │   │                   │     └─▶ lapsed
               └ changes_requested ◀┘  └▶ refused │   └──────────────▶ revoked ◀┘
                                                └─▶ lapsed / renewed

`transition` is the only code that writes `Application.status` (and the certificate's
status with it). Each move is a conditional UPDATE on the expected current states, so
two reviewers (or a reviewer and the upkeep) cannot both move one application; anything
else is a 409 `illegal_transition` that says, in French, what the application can
become. Every move writes an audit entry and mails the employer's contact through the
outbox, in the same transaction.

Who may do what: reviewers (`certification.review`) the review decisions and revocation;
the applicant (a principal made from the resume link, `applicant`) the submission; the
upkeep (system) expiring, lapsed and renewed.
"""

from __future__ import annotations

import calendar
import secrets
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from campaigns.certification import programs, verification
from campaigns.certification.models import (
    Application,
    ApplicationStatus,
    Certificate,
    CertificateStatus,
    Employer,
    Level,
    Program,
    ReviewNote,
)
from campaigns.certification.schemas import MAX_MESSAGE
from core.audit import audit
from core.auth import Principal, authorize
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.i18n import N_, _
from core.mail.outbox import queue_mail
from core.models import Role
from core.security import signature
from core.settings import Settings, load_settings

S = ApplicationStatus
TARGET = "campaigns.Application"
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
DIRECTORY_WORDING = N_(
    "J'accepte que le nom de l'entreprise, sa MRC, son secteur et son niveau de certification "
    "paraissent dans le répertoire public des employeurs certifiés."
)

STATUS_LABELS: dict[str, str] = {
    S.DRAFT: N_("brouillon"),
    S.SUBMITTED: N_("soumise"),
    S.UNDER_REVIEW: N_("à l'étude"),
    S.CHANGES_REQUESTED: N_("modifications demandées"),
    S.CERTIFIED: N_("certifiée"),
    S.REFUSED: N_("refusée"),
    S.EXPIRING: N_("à renouveler"),
    S.RENEWED: N_("renouvelée"),
    S.LAPSED: N_("échue"),
    S.REVOKED: N_("révoquée"),
}

# (from, to) -> audit action. Anything else is refused.
TRANSITIONS: dict[tuple[ApplicationStatus, ApplicationStatus], str] = {
    (S.DRAFT, S.SUBMITTED): "certification.submitted",
    (S.CHANGES_REQUESTED, S.SUBMITTED): "certification.resubmitted",
    (S.SUBMITTED, S.UNDER_REVIEW): "certification.review_started",
    (S.UNDER_REVIEW, S.CERTIFIED): "certification.certified",
    (S.UNDER_REVIEW, S.CHANGES_REQUESTED): "certification.changes_requested",
    (S.UNDER_REVIEW, S.REFUSED): "certification.refused",
    (S.CERTIFIED, S.EXPIRING): "certification.expiring",
    (S.CERTIFIED, S.RENEWED): "certification.renewed",
    (S.EXPIRING, S.RENEWED): "certification.renewed",
    (S.CERTIFIED, S.LAPSED): "certification.lapsed",
    (S.EXPIRING, S.LAPSED): "certification.lapsed",
    (S.CERTIFIED, S.REVOKED): "certification.revoked",
    (S.EXPIRING, S.REVOKED): "certification.revoked",
}
REVIEWER_TARGETS = frozenset(
    {S.UNDER_REVIEW, S.CERTIFIED, S.CHANGES_REQUESTED, S.REFUSED, S.REVOKED}
)
SYSTEM_TARGETS = frozenset({S.EXPIRING, S.LAPSED, S.RENEWED})
# The states in which the application is open (one per employer and program).
OPEN = frozenset({S.DRAFT, S.SUBMITTED, S.UNDER_REVIEW, S.CHANGES_REQUESTED})
EDITABLE = frozenset({S.DRAFT, S.CHANGES_REQUESTED})
# Certified states (a current certificate).
CURRENT = frozenset({S.CERTIFIED, S.EXPIRING})
CERTIFICATE_STATUS = {
    S.EXPIRING: CertificateStatus.EXPIRING,
    S.RENEWED: CertificateStatus.RENEWED,
    S.LAPSED: CertificateStatus.LAPSED,
    S.REVOKED: CertificateStatus.REVOKED,
}


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (the month's last day when it has fewer days)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def next_states(status: str) -> list[ApplicationStatus]:
    return [to for (frm, to) in TRANSITIONS if frm == status]


def applicant(email: str, ip: str = "") -> Principal:
    """The employer's contact acting through their resume link (no staff rights)."""
    return Principal(user_id=None, email=email[:254], role=None, via="applicant", ip=ip)


def resume_token(settings: Settings, application_id: int) -> str:
    return f"{application_id}.{signature(settings.secret_key, f'certification:{application_id}')}"


def resume_url(settings: Settings, application_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/certification/applications/" + resume_token(
        settings, application_id
    )


def application_id_of(settings: Settings, token: str) -> int | None:
    """The application id a resume token opens, or None (wrong or forged token)."""
    head, _dot, sig = token[:80].partition(".")
    if not head.isascii() or not head.isdigit() or len(head) > 10:
        return None
    if not secrets.compare_digest(sig, signature(settings.secret_key, f"certification:{head}")):
        return None
    return int(head)


def illegal(status: str, to: str) -> Conflict:
    allowed = [status_label(s) for s in next_states(status)]
    if allowed:
        hint = _("Elle peut seulement devenir : %(states)s.", states=", ".join(allowed))
    else:
        hint = _("Elle ne peut plus changer d'état.")
    return Conflict(
        _(
            "Passage impossible : la demande est « %(status)s », elle ne peut pas devenir "
            "« %(to)s ». %(hint)s",
            status=status_label(status),
            to=status_label(to),
            hint=hint,
        ),
        code="illegal_transition",
    )


def _authorize(actor: Principal | None, to: ApplicationStatus) -> None:
    if to in REVIEWER_TARGETS:
        authorize(actor, "certification.review")
    elif to == S.SUBMITTED:
        if actor is None or actor.via not in ("applicant", "system"):
            raise Forbidden()
    elif actor is None or actor.via != "system":
        raise Forbidden(_("Cet état est réservé au traitement automatique."))


def _message_field(message: str, *, required: bool, what: str) -> str:
    text = message.strip()
    if len(text) > MAX_MESSAGE:
        raise ValidationFailed(
            fields={
                "message": _(
                    "Ce texte est trop long (%(max_length)s caractères au maximum).",
                    max_length=MAX_MESSAGE,
                )
            }
        )
    if required and not text:
        raise ValidationFailed(fields={"message": what})
    return text


async def new_certificate_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if not await Certificate.filter(code=code).exists():
            return code


async def transition(
    actor: Principal | None,
    application_id: int,
    to: ApplicationStatus | str,
    *,
    level: str | None = None,
    message: str = "",
    note: str = "",
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Application:
    """Move one application to `to` (see the module docstring); the application after."""
    settings = settings or load_settings()
    try:
        target = ApplicationStatus(to)
    except ValueError:
        raise ValidationFailed(fields={"to": _("Valeur non permise.")}) from None
    _authorize(actor, target)
    now = now or datetime.now(UTC)
    message = _message_field(
        message,
        required=target in (S.CHANGES_REQUESTED, S.REVOKED),
        what=_("Expliquez la raison à l'employeur : le message lui est envoyé.")
        if target == S.REVOKED
        else _("Expliquez à l'employeur ce qu'il doit modifier."),
    )
    note = _message_field(note, required=False, what="")
    application = await Application.get_or_none(id=application_id)
    if application is None:
        raise NotFound()
    if target in REVIEWER_TARGETS and actor is not None:
        await programs.check_reviewer(actor, application.program_id)
    sources = [frm for (frm, dest) in TRANSITIONS if dest == target]
    if application.status not in sources:
        raise illegal(application.status, target)
    chosen: Level | None = None
    if target == S.CERTIFIED:
        if not level:
            raise ValidationFailed(fields={"level": _("Choisissez le niveau de certification.")})
        chosen = await Level.get_or_none(program_id=application.program_id, code=level)
        if chosen is None:
            raise ValidationFailed(fields={"level": _("Niveau inconnu pour ce programme.")})
    async with in_transaction():
        application = await _move(actor, application, target, now, message=message, note=note)
        certificate = None
        if target == S.CERTIFIED:
            assert chosen is not None
            certificate = await _certify(actor, application, chosen, now, settings)
        elif target in CERTIFICATE_STATUS:
            certificate = await _close_certificate(application, target, now, message)
        await _mail(application, target, settings, now, message, certificate)
    return application


async def _move(
    actor: Principal | None,
    application: Application,
    target: ApplicationStatus,
    now: datetime,
    *,
    message: str = "",
    note: str = "",
) -> Application:
    """The conditional UPDATE, its audit entry and the reviewer's note and message."""
    sources = [frm for (frm, dest) in TRANSITIONS if dest == target]
    values: dict[str, Any] = {"status": target, "status_changed_at": now, "updated_at": now}
    if target not in OPEN:
        values["open_key"] = None
    if target == S.SUBMITTED:
        values["submitted_at"] = now
    if target == S.CERTIFIED:
        values["certified_at"] = now
    updated = await Application.filter(id=application.id, status__in=sources).update(**values)
    if not updated:
        await application.refresh_from_db()
        raise illegal(application.status, target)
    previous = application.status
    await application.refresh_from_db()
    author = actor.user_id if actor is not None else None
    if note:
        await ReviewNote.create(application=application, author_id=author, body=note)
    if message:
        await ReviewNote.create(
            application=application, author_id=author, body=message, to_employer=True
        )
    details: dict[str, Any] = {"from": str(previous), "to": target.value}
    if message:
        details["message"] = message[:500]
    await audit(actor, TRANSITIONS[(ApplicationStatus(previous), target)], application, details)
    return application


async def _certify(
    actor: Principal | None,
    application: Application,
    level: Level,
    now: datetime,
    settings: Settings,
) -> Certificate:
    """The certificate; the employer's public record; the renewed previous application."""
    program = await Program.get(id=application.program_id)
    start = now
    if application.previous_id is not None:
        previous = await Application.get(id=application.previous_id)
        old = await Certificate.get_or_none(application_id=previous.id)
        if previous.status in CURRENT:
            # A renewal before expiry continues from the old certificate's end.
            if old is not None and old.valid_until > now:
                start = old.valid_until
            await _move(actor, previous, S.RENEWED, now)
            await _close_certificate(previous, S.RENEWED, now, "")
    try:
        certificate = await Certificate.create(
            application=application,
            code=await new_certificate_code(),
            level=level,
            issued_at=now,
            valid_until=add_months(start, program.validity_months),
        )
    except IntegrityError:
        raise Conflict(code="illegal_transition") from None
    await _publish_employer(application, now)
    return certificate


async def _publish_employer(application: Application, now: datetime) -> None:
    """The reviewed application's employer data becomes the employer's record."""
    from people.models import Territory

    data = application.employer_data or {}
    employer = await Employer.get(id=application.employer_id)
    territory = await Territory.get_or_none(code=str(data.get("territory") or ""))
    employer.legal_name = str(data.get("legal_name") or employer.legal_name)[:200]
    employer.neq = (str(data["neq"]) if data.get("neq") else None) or employer.neq
    employer.sector = str(data.get("sector") or employer.sector)[:32]
    employer.address = str(data.get("address") or "")[:300]
    if territory is not None:
        employer.territory = territory
    employer.employees = int(str(data.get("employees") or 0))
    employer.student_employees = int(str(data.get("student_employees") or 0))
    publish = bool(data.get("publish_in_directory"))
    if publish and not employer.publish_in_directory:
        employer.directory_consent_at = now
        employer.directory_consent_wording = str(
            data.get("directory_wording") or _(DIRECTORY_WORDING)
        )
    employer.publish_in_directory = publish
    await employer.save()


async def _close_certificate(
    application: Application, target: ApplicationStatus, now: datetime, reason: str
) -> Certificate | None:
    certificate = await Certificate.get_or_none(application_id=application.id)
    if certificate is None:
        return None
    certificate.status = CERTIFICATE_STATUS[target]
    if target == S.REVOKED:
        certificate.revoked_at = now
        certificate.revoked_reason = reason
    await certificate.save()
    return certificate


async def mail_context(
    application: Application, settings: Settings, **extra: Any
) -> dict[str, Any]:
    program = await Program.get(id=application.program_id)
    data = application.employer_data or {}
    contact = data.get("contact") if isinstance(data.get("contact"), dict) else {}
    assert isinstance(contact, dict)
    return {
        "application": application,
        "program_name": program.name,
        "employer_name": str(data.get("legal_name") or ""),
        "to_name": f"{contact.get('first_name', '')} {contact.get('last_name', '')}".strip(),
        "resume_url": resume_url(settings, application.id),
        "base_url": settings.base_url,
        **extra,
    }


async def contact_address(application: Application) -> str:
    from people.models import Person

    person = await Person.get(id=application.contact_id)
    return person.email or ""


async def _mail(
    application: Application,
    target: ApplicationStatus,
    settings: Settings,
    now: datetime,
    message: str,
    certificate: Certificate | None,
) -> None:
    address = await contact_address(application)
    if not address:
        return
    extra: dict[str, Any] = {"to": target.value, "message": message}
    if certificate is not None:
        level = await Level.get(id=certificate.level_id)
        extra.update(
            level_name=programs.level_name(level, application.language),
            valid_until=certificate.valid_until,
            verify_url=verification.verify_url(settings.base_url, certificate.code),
        )
    if target == S.EXPIRING:
        extra["renew_url"] = renew_url(settings, application.id)
    context = await mail_context(application, settings, **extra)
    await queue_mail(
        to_address=address,
        template="certification_status",
        context=context,
        language=application.language,
        dedupe_key=f"certification:{application.id}:{target.value}:{now.isoformat()}",
        to_name=context["to_name"],
        person_id=application.contact_id,
        cause=(TARGET, application.id),
        settings=settings,
    )


def renew_url(settings: Settings, application_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/certification/renew/" + resume_token(
        settings, application_id
    )


# --------------------------------------------------------------------------- notes


async def add_note(
    actor: Principal,
    application_id: int,
    body: str,
    *,
    to_employer: bool = False,
    settings: Settings | None = None,
) -> ReviewNote:
    """An internal note, or a message mailed to the employer's contact (no state change)."""
    authorize(actor, "certification.review")
    settings = settings or load_settings()
    text = _message_field(body, required=True, what=_("Écrivez le texte."))
    application = await Application.get_or_none(id=application_id)
    if application is None:
        raise NotFound()
    await programs.check_reviewer(actor, application.program_id)
    async with in_transaction():
        note = await ReviewNote.create(
            application=application, author_id=actor.user_id, body=text, to_employer=to_employer
        )
        if to_employer:
            await audit(actor, "certification.message_sent", application, {"message": text[:500]})
            address = await contact_address(application)
            if address:
                context = await mail_context(application, settings, message=text)
                await queue_mail(
                    to_address=address,
                    template="certification_message",
                    context=context,
                    language=application.language,
                    dedupe_key=f"certification:{application.id}:message:{note.id}",
                    to_name=context["to_name"],
                    person_id=application.contact_id,
                    cause=(TARGET, application.id),
                    settings=settings,
                )
    return note


def is_reviewer(actor: Principal | None) -> bool:
    return actor is not None and actor.role in (Role.ADMIN, Role.REVIEWER)
