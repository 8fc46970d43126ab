"""Renewals: the upkeep moves certifications into the renewal window (with the renewal
invitation), lapses unrenewed ones at expiry, and is idempotent; a renewal application
starts pre-filled, and certifying it renews the previous certification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.certification import applications, workflow
from campaigns.certification.models import Application, Certificate
from campaigns.certification.renewals import run_renewals
from core.errors import Conflict
from core.models import AuditEntry, OutboundMessage
from tests.certification.factories import apply, make_program, walk


async def certified(program, **overrides):
    return await walk(await apply(program, **overrides), "under_review", "certified")


async def ends_in(application: Application, days: int) -> Certificate:
    certificate = await Certificate.get(application_id=application.id)
    certificate.valid_until = datetime.now(UTC) + timedelta(days=days)
    await certificate.save()
    return certificate


async def test_window_then_renewal_then_idempotent(db, settings):
    program = await make_program()
    application = await certified(program)
    far = await certified(program, employer={"legal_name": "Garage Lépine", "neq": "2260000000"})
    old = await ends_in(application, 60)
    await ends_in(far, 200)
    assert await run_renewals(settings) == 1
    assert (await Application.get(id=application.id)).status == "expiring"
    assert (await Application.get(id=far.id)).status == "certified"
    assert (await Certificate.get(id=old.id)).status == "expiring"
    invitation = await OutboundMessage.get(
        dedupe_key__startswith=f"certification:{application.id}:expiring:"
    )
    renew = workflow.renew_url(settings, application.id)
    assert renew in invitation.text_body
    assert await run_renewals(settings) == 0
    assert await OutboundMessage.filter(dedupe_key__contains=":expiring:").count() == 1

    token = renew.rsplit("/", 1)[1]
    renewal = await applications.start_renewal(settings, token)
    assert renewal.status == "draft" and renewal.previous_id == application.id
    assert renewal.answers == application.answers
    assert (await applications.start_renewal(settings, token)).id == renewal.id
    renewal = await workflow.transition(
        workflow.applicant("x@exemple.qc.ca"), renewal.id, "submitted", settings=settings
    )
    renewal = await walk(renewal, "under_review", "certified")
    assert (await Application.get(id=application.id)).status == "renewed"
    assert (await Certificate.get(id=old.id)).status == "renewed"
    new = await Certificate.get(application_id=renewal.id)
    # Renewed before expiry: the new period continues from the old end.
    assert new.valid_until.date() == workflow.add_months(old.valid_until, 24).date()
    assert await run_renewals(settings) == 0


async def test_unrenewed_certification_lapses_at_expiry(db, settings):
    program = await make_program()
    application = await certified(program)
    await ends_in(application, -1)
    assert await run_renewals(settings) == 1
    assert (await Application.get(id=application.id)).status == "lapsed"
    assert (await Certificate.get(application_id=application.id)).status == "lapsed"
    assert await AuditEntry.filter(action="certification.lapsed").count() == 1
    assert await run_renewals(settings) == 0
    token = workflow.resume_token(settings, application.id)
    with pytest.raises(Conflict) as refused:
        await applications.start_renewal(settings, token)
    assert "échue" in refused.value.message


async def test_a_revoked_certification_cannot_be_renewed(client, settings):
    program = await make_program()
    application = await walk(await certified(program), "revoked")
    token = workflow.resume_token(settings, application.id)
    page = await client.get(f"/certification/renew/{token}")
    assert page.status_code == 200
    assert "ne peut pas être renouvelée" in page.text
    with pytest.raises(Conflict) as refused:
        await applications.start_renewal(settings, token)
    assert refused.value.code == "illegal_transition"
    assert await Application.all().count() == 1
