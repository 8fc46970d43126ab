"""The review workflow: every transition, the illegal ones, audit, mail, permissions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.certification import workflow
from campaigns.certification.models import (
    Application,
    Certificate,
    CertificateStatus,
    Employer,
    ReviewNote,
)
from core.auth import Principal
from core.errors import Conflict, Forbidden, ValidationFailed
from core.models import AuditEntry, OutboundMessage, Role
from tests.certification.factories import SYSTEM, apply, make_program, walk
from tests.conftest import make_settings, make_user


async def reviewer() -> Principal:
    return Principal.for_user(await make_user(Role.REVIEWER))


async def mails_of(application_id: int) -> list[OutboundMessage]:
    return list(
        await OutboundMessage.filter(
            dedupe_key__startswith=f"certification:{application_id}:"
        ).order_by("id")
    )


async def test_walk_through_review_to_certified_with_certificate(db):
    program = await make_program()
    application = await apply(program, submit=False)
    assert application.status == "draft"
    actor = await reviewer()
    with pytest.raises(Conflict) as refused:
        await workflow.transition(actor, application.id, "certified", level="argent")
    assert refused.value.code == "illegal_transition"
    assert "brouillon" in refused.value.message and "soumise" in refused.value.message
    settings = make_settings()
    application = await workflow.transition(
        workflow.applicant("x@exemple.qc.ca"), application.id, "submitted", settings=settings
    )
    assert application.status == "submitted" and application.submitted_at is not None
    application = await workflow.transition(actor, application.id, "under_review")
    application = await workflow.transition(
        actor, application.id, "certified", level="argent", note="Dossier complet"
    )
    assert application.status == "certified" and application.open_key is None
    certificate = await Certificate.get(application_id=application.id)
    assert certificate.status == CertificateStatus.VALID
    assert len(certificate.code) == 8
    months = (certificate.valid_until.year - certificate.issued_at.year) * 12 + (
        certificate.valid_until.month - certificate.issued_at.month
    )
    assert months == 24
    employer = await Employer.get(id=application.employer_id)
    assert employer.publish_in_directory and employer.directory_consent_at is not None
    assert await ReviewNote.filter(application_id=application.id, to_employer=False).count() == 1
    actions = [
        e.action
        for e in await AuditEntry.filter(
            target_type="campaigns.Application", target_id=str(application.id)
        ).order_by("id")
        if e.action.startswith("certification.")
    ]
    assert actions == [
        "certification.application_created",
        "certification.submitted",
        "certification.review_started",
        "certification.certified",
    ]
    mails = await mails_of(application.id)
    # draft link, acknowledgement, review started, certified
    assert [m.dedupe_key.split(":")[2] for m in mails] == [
        "draft",
        "submitted",
        "under_review",
        "certified",
    ]
    assert "certifiée au niveau Argent" in mails[-1].text_body
    assert f"/certification/verify/{certificate.code}" in mails[-1].text_body
    assert mails[-1].to_address == "genevieve@boulangerie.exemple.qc.ca"


async def test_changes_requested_then_resubmitted_then_refused(db):
    program = await make_program()
    application = await apply(program)
    application = await walk(application, "under_review", "changes_requested")
    assert application.status == "changes_requested"
    note = await ReviewNote.get(application_id=application.id, to_employer=True)
    assert note.body == "Motif"
    application = await workflow.transition(
        workflow.applicant("x@exemple.qc.ca"), application.id, "submitted"
    )
    application = await walk(application, "under_review", "refused")
    assert application.status == "refused" and application.open_key is None
    assert not await Certificate.filter(application_id=application.id).exists()
    entry = await AuditEntry.filter(action="certification.resubmitted").first()
    assert entry is not None and entry.details["from"] == "changes_requested"


async def test_revoke_then_renewing_the_revoked_one_is_refused(db):
    program = await make_program()
    application = await walk(await apply(program), "under_review", "certified")
    actor = await reviewer()
    with pytest.raises(ValidationFailed) as missing_reason:
        await workflow.transition(actor, application.id, "revoked")
    assert "message" in missing_reason.value.fields
    application = await workflow.transition(
        actor, application.id, "revoked", message="Quarts de travail pendant les cours."
    )
    certificate = await Certificate.get(application_id=application.id)
    assert certificate.status == "revoked"
    assert certificate.revoked_reason == "Quarts de travail pendant les cours."
    with pytest.raises(Conflict) as renew:
        await workflow.transition(SYSTEM, application.id, "renewed")
    assert renew.value.code == "illegal_transition"
    assert "révoquée" in renew.value.message and "ne peut plus changer" in renew.value.message


async def test_certify_needs_a_level_of_the_program(db):
    program = await make_program()
    application = await walk(await apply(program), "under_review")
    actor = await reviewer()
    with pytest.raises(ValidationFailed) as no_level:
        await workflow.transition(actor, application.id, "certified")
    assert no_level.value.fields["level"] == "Choisissez le niveau de certification."
    with pytest.raises(ValidationFailed):
        await workflow.transition(actor, application.id, "certified", level="platine")
    assert (await Application.get(id=application.id)).status == "under_review"


async def test_permissions(db):
    program = await make_program()
    application = await apply(program)
    organizer = Principal.for_user(await make_user(Role.ORGANIZER))
    with pytest.raises(Forbidden):
        await workflow.transition(organizer, application.id, "under_review")
    with pytest.raises(Forbidden):
        await workflow.transition(await reviewer(), application.id, "lapsed")
    with pytest.raises(Forbidden):
        await workflow.transition(
            workflow.applicant("x@exemple.qc.ca"), application.id, "under_review"
        )


async def test_concurrent_reviewers_one_wins(db):
    import asyncio

    program = await make_program()
    application = await walk(await apply(program), "under_review")
    actor = await reviewer()
    results = await asyncio.gather(
        workflow.transition(actor, application.id, "certified", level="argent"),
        workflow.transition(actor, application.id, "refused"),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Application) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert await Certificate.filter(application_id=application.id).count() in (0, 1)


async def test_message_to_employer_is_mailed_and_kept(db):
    program = await make_program()
    application = await apply(program)
    actor = await reviewer()
    await workflow.add_note(
        actor, application.id, "Une question sur vos horaires.", to_employer=True
    )
    await workflow.add_note(actor, application.id, "Appeler la semaine prochaine.")
    mail = await OutboundMessage.get(dedupe_key__contains=":message:")
    assert "Une question sur vos horaires." in mail.text_body
    assert await ReviewNote.filter(application_id=application.id).count() == 2
    assert datetime.now(UTC) >= mail.created_at


async def test_a_program_with_named_reviewers(db):
    from campaigns.certification.programs import create_program
    from campaigns.certification.schemas import ProgramIn
    from tests.certification.factories import PROGRAM

    named = await make_user(Role.REVIEWER, email="nommee@exemple.qc.ca")
    other = Principal.for_user(await make_user(Role.REVIEWER, email="autre@exemple.qc.ca"))
    organizer = await make_user(Role.ORGANIZER, email="orga@exemple.qc.ca")
    with pytest.raises(ValidationFailed) as not_reviewer:
        await create_program(
            SYSTEM, ProgramIn.model_validate({**PROGRAM, "reviewers": [organizer.email]})
        )
    assert "n'est pas un compte examinateur actif" in not_reviewer.value.fields["reviewers"]
    program = await create_program(
        SYSTEM, ProgramIn.model_validate({**PROGRAM, "reviewers": ["Nommee@exemple.qc.ca"]})
    )
    application = await apply(program)
    with pytest.raises(Forbidden):
        await workflow.transition(other, application.id, "under_review")
    with pytest.raises(Forbidden):
        await workflow.add_note(other, application.id, "Note")
    moved = await workflow.transition(Principal.for_user(named), application.id, "under_review")
    assert moved.status == "under_review"
    admin = Principal.for_user(await make_user(Role.ADMIN, email="admin@exemple.qc.ca"))
    assert (await workflow.transition(admin, application.id, "refused")).status == "refused"
