"""JPS activity submissions: public form, moderation queue, e-mails, bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from core.auth import Principal
from core.errors import Conflict, Forbidden, ValidationFailed
from core.models import AuditEntry, OutboundMessage, Role
from events import service, submissions
from events.models import ActivitySubmission, Event, EventKind, EventStatus, SubmissionStatus
from events.schemas import EventIn
from tests.conftest import csrf_from, login, make_user

SYSTEM = Principal.system("tests")
SCRIPT = "<script>alert('xss')</script>"
SCRIPT_ESCAPED = "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;"


def edition_monday() -> date:
    """A Monday in February of next year: the edition is always in the future."""
    day = date(datetime.now(UTC).year + 1, 2, 15)
    return day + timedelta(days=(7 - day.weekday()) % 7)


async def jps_edition(*, publish: bool = True, territory: str = "14") -> Event:
    monday = edition_monday()
    friday = monday + timedelta(days=4)
    edition = await service.create_event(
        SYSTEM,
        EventIn.model_validate(
            {
                "title": f"JPS {monday.year}",
                "kind": "perseverance_days",
                "starts_at": f"{monday}T00:00",
                "ends_at": f"{friday}T23:59",
                "territory": territory,
                "venue_name": "Lanaudière",
            }
        ),
    )
    if publish:
        edition = await service.publish_event(SYSTEM, edition.id)
    return edition


def form_data(**overrides: Any) -> dict[str, Any]:
    tuesday = edition_monday() + timedelta(days=1)
    values: dict[str, Any] = {
        "title": "Déjeuner de la persévérance",
        "description": "Un déjeuner pour encourager les élèves de 4e et 5e secondaire.",
        "starts_at": f"{tuesday}T08:00",
        "ends_at": f"{tuesday}T09:30",
        "venue_name": "École secondaire Barthélemy-Joliette",
        "address": "1150, boulevard Base-de-Roc, Joliette",
        "territory": "2461",
        "clienteles": ["youth", "schools"],
        "organization_name": "Centre de services scolaire des Samares",
        "contact_name": "Julie Tremblay",
        "contact_email": "julie.tremblay@exemple.qc.ca",
        "contact_phone": "450 555-0101",
        "expected_participants": "120",
        "wants_registration": "1",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


async def post_submission(client: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    page = await client.get("/jps/proposer")
    assert page.status_code == 200, page.text
    data = form_data(**overrides)
    data["csrf_token"] = csrf_from(page.text)
    return await client.post("/jps/proposer", data=data)


async def nothing_stored() -> None:
    assert await ActivitySubmission.all().count() == 0
    assert await OutboundMessage.all().count() == 0
    assert not await AuditEntry.filter(action__startswith="jps_submission").exists()


async def organizer() -> Principal:
    return Principal.for_user(await make_user(Role.ORGANIZER, "orga@exemple.qc.ca"))


async def pending_submission(**overrides: Any) -> ActivitySubmission:
    edition = await Event.get(kind=EventKind.PERSEVERANCE_DAYS)
    data = form_data(**overrides)
    data.pop("csrf_token", None)
    return await submissions.submit_activity(edition.id, data, settings=_settings())


def other_client(app: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.2", 50001))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _settings() -> Any:
    from tests.conftest import make_settings

    return make_settings()


# --------------------------------------------------------------------------- public form


async def test_form_page_lists_the_edition_mrcs_and_clienteles(client):
    await jps_edition()
    page = await client.get("/jps/proposer")
    assert page.status_code == 200
    assert "Proposer une activité" in page.text
    assert 'value="2461"' in page.text  # Joliette, an MRC of Lanaudière
    assert 'value="2448"' not in page.text  # Acton is in Montérégie
    assert 'name="clienteles" value="youth"' in page.text


async def test_no_open_edition_gives_a_friendly_closed_page(client):
    page = await client.get("/jps/proposer")
    assert page.status_code == 200
    assert "Les propositions d'activités sont fermées" in page.text
    await jps_edition(publish=False)  # a draft edition does not open the form
    page = await client.get("/jps/proposer")
    assert "Les propositions d'activités sont fermées" in page.text
    assert 'name="title"' not in page.text


async def test_valid_submission_is_pending_and_acknowledged(client):
    edition = await jps_edition()
    response = await post_submission(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/jps/proposer/merci"
    submission = await ActivitySubmission.get().select_related("territory")
    assert submission.status == SubmissionStatus.PENDING
    assert submission.edition_id == edition.id
    assert submission.territory.code == "2461"
    assert submission.clientele_codes == ["youth", "schools"]
    assert submission.expected_participants == 120
    assert submission.wants_registration is True
    assert submission.starts_at == datetime.combine(
        edition_monday() + timedelta(days=1), datetime.min.time(), tzinfo=UTC
    ) + timedelta(hours=13)  # 8:00 in Toronto (EST) is 13:00 UTC
    assert len(submission.token) >= 40
    message = await OutboundMessage.get()
    assert message.to_address == "julie.tremblay@exemple.qc.ca"
    assert message.cause_type == "events.ActivitySubmission"
    assert "Proposition reçue" in message.subject
    assert f"http://testserver/jps/proposer/{submission.token}" in message.text_body
    entry = await AuditEntry.get(action="jps_submission.created")
    assert entry.actor_id is None and entry.actor_label == "système"
    thanks = await client.get("/jps/proposer/merci")
    assert thanks.status_code == 200
    assert "Déjeuner de la persévérance" in thanks.text
    assert "Joliette" in thanks.text


async def test_end_before_start_is_refused(client):
    await jps_edition()
    tuesday = edition_monday() + timedelta(days=1)
    response = await post_submission(
        client, starts_at=f"{tuesday}T10:00", ends_at=f"{tuesday}T09:00"
    )
    assert response.status_code == 422
    assert "La fin doit être après le début." in response.text
    assert 'aria-describedby="e-ends_at"' in response.text
    assert 'value="Déjeuner de la persévérance"' in response.text  # values kept
    await nothing_stored()


async def test_date_outside_the_edition_week_is_refused(client):
    await jps_edition()
    saturday = edition_monday() + timedelta(days=5)
    response = await post_submission(
        client, starts_at=f"{saturday}T10:00", ends_at=f"{saturday}T12:00"
    )
    assert response.status_code == 422
    assert "L&#39;activité doit avoir lieu pendant l&#39;édition" in response.text
    assert 'id="e-starts_at"' in response.text
    await nothing_stored()


async def test_missing_contact_email_is_refused(client):
    await jps_edition()
    response = await post_submission(client, contact_email="")
    assert response.status_code == 422
    assert "L&#39;adresse courriel de la personne-ressource est obligatoire." in response.text
    assert 'aria-describedby="e-contact_email"' in response.text
    await nothing_stored()
    response = await post_submission(client, contact_email="pas-une-adresse")
    assert response.status_code == 422
    assert "Adresse courriel invalide." in response.text
    await nothing_stored()


async def test_every_error_is_reported_at_once(client):
    await jps_edition()
    response = await post_submission(
        client,
        title="",
        venue_name="",
        address="",
        territory="2448",
        clienteles=None,
        contact_email="",
        expected_participants="200000",
    )
    assert response.status_code == 422
    for message in (
        "Ce champ est obligatoire.",
        "Indiquez le nom du lieu ou son adresse.",
        "Choisissez une MRC de la liste.",
        "Choisissez au moins une clientèle visée.",
        "L&#39;adresse courriel de la personne-ressource est obligatoire.",
        "La valeur doit être d&#39;au plus 100000.",
    ):
        assert message in response.text
    assert 'aria-describedby="e-clienteles"' in response.text
    await nothing_stored()


async def test_ten_megabyte_description_is_refused_by_the_size_limit(client):
    await jps_edition()
    response = await post_submission(client, description="x" * (10 * 1024 * 1024))
    assert response.status_code == 413
    await nothing_stored()


async def test_too_long_description_gets_a_field_error(client):
    await jps_edition()
    response = await post_submission(client, description="é" * 6000)
    assert response.status_code == 422
    assert "Ce texte est trop long (5000 caractères au maximum)." in response.text
    assert 'aria-describedby="e-description h-description"' in response.text
    await nothing_stored()


async def test_html_is_stored_as_typed_and_always_escaped(app, client):
    edition = await jps_edition()
    description = "<b>Gras</b> & <img src=x onerror=alert(1)>"
    response = await post_submission(
        client, title=SCRIPT, description=description, organization_name="<i>Org</i>"
    )
    assert response.status_code == 303
    submission = await ActivitySubmission.get()
    assert submission.title == SCRIPT
    assert submission.description == description
    # The thank-you page
    thanks = await client.get("/jps/proposer/merci")
    assert SCRIPT_ESCAPED in thanks.text
    assert SCRIPT not in thanks.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in thanks.text
    assert "<img src=x" not in thanks.text
    # The acknowledgement e-mail (HTML body escaped, text body as typed)
    message = await OutboundMessage.get()
    assert SCRIPT_ESCAPED in message.html_body
    assert SCRIPT not in message.html_body
    assert SCRIPT in message.text_body
    # The moderation queue
    await login(client, Role.ORGANIZER)
    queue = await client.get(f"/admin/events/{edition.id}/submissions")
    assert queue.status_code == 200
    assert SCRIPT_ESCAPED in queue.text and SCRIPT not in queue.text
    assert "&lt;i&gt;Org&lt;/i&gt;" in queue.text
    # Approval: the published activity keeps the text as typed, pages escape it
    approved = await client.post(
        f"/admin/events/submissions/{submission.id}/approve", data={"message": ""}
    )
    assert approved.status_code == 303
    await submission.refresh_from_db()
    event = await Event.get(id=submission.event_id)
    assert event.title == SCRIPT
    mail = await OutboundMessage.get(dedupe_key__contains=":approved:")
    assert SCRIPT_ESCAPED in mail.html_body and SCRIPT not in mail.html_body
    async with other_client(app) as anonymous:
        public = await anonymous.get(f"/events/{event.id}")
    if public.status_code != 404:  # the public event page belongs to another package
        assert public.status_code == 200
        assert SCRIPT_ESCAPED in public.text
        assert SCRIPT not in public.text


async def test_public_post_needs_the_csrf_token(client):
    await jps_edition()
    await client.get("/jps/proposer")
    response = await client.post("/jps/proposer", data=form_data())
    assert response.status_code == 403
    assert "Le formulaire a expiré" in response.text
    await nothing_stored()


async def test_public_form_is_rate_limited_per_address(app, client):
    await jps_edition()
    page = await client.get("/jps/proposer")
    data = form_data(contact_email="")
    data["csrf_token"] = csrf_from(page.text)
    for _attempt in range(10):
        response = await client.post("/jps/proposer", data=data)
        assert response.status_code == 422
    response = await client.post(
        "/jps/proposer", data=form_data() | {"csrf_token": data["csrf_token"]}
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "Trop de tentatives" in response.text
    await nothing_stored()
    async with other_client(app) as elsewhere:  # another address is not held back
        response = await post_submission(elsewhere)
        assert response.status_code == 303
    assert await ActivitySubmission.all().count() == 1


# --------------------------------------------------------------------------- service


async def test_service_refuses_bad_input_with_french_fields_and_saves_nothing(db):
    edition = await jps_edition()
    with pytest.raises(ValidationFailed) as err:
        await submissions.submit_activity(
            edition.id,
            form_data(ends_at=form_data()["starts_at"], clienteles=["aliens"], contact_email=""),
            settings=_settings(),
        )
    fields = err.value.fields
    assert fields["ends_at"] == "La fin doit être après le début."
    assert fields["clienteles"] == "Choisissez des clientèles de la liste."
    assert "obligatoire" in fields["contact_email"]
    await nothing_stored()


async def test_service_refuses_a_closed_edition(db):
    edition = await jps_edition(publish=False)
    with pytest.raises(Conflict):
        await submissions.submit_activity(edition.id, form_data(), settings=_settings())
    await nothing_stored()


async def test_decisions_need_the_edit_right(db):
    await jps_edition()
    submission = await pending_submission()
    reviewer = Principal.for_user(await make_user(Role.REVIEWER))
    assert len(await submissions.list_submissions(reviewer, submission.edition_id)) == 1
    with pytest.raises(Forbidden):
        await submissions.approve(reviewer, submission.id, settings=_settings())
    await submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PENDING


async def test_approval_is_all_or_nothing(db):
    edition = await jps_edition()
    submission = await pending_submission()
    # The edition moved a week later since: the activity no longer fits, nothing changes.
    await Event.filter(id=edition.id).update(
        starts_at=edition.starts_at + timedelta(days=7), ends_at=edition.ends_at + timedelta(days=7)
    )
    with pytest.raises(ValidationFailed) as err:
        await submissions.approve(await organizer(), submission.id, settings=_settings())
    assert "Demandez des modifications" in err.value.message
    await submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PENDING
    assert submission.event_id is None and submission.decided_at is None
    assert await Event.filter(parent_id=edition.id).count() == 0
    assert not await AuditEntry.filter(action="jps_submission.approved").exists()
    assert await AuditEntry.filter(action="event.created").count() == 1  # the edition's
    assert await OutboundMessage.all().count() == 1  # the acknowledgement only


async def test_concurrent_approvals_create_one_activity(db):
    edition = await jps_edition()
    submission = await pending_submission()
    actor = await organizer()
    results = await asyncio.gather(
        *(submissions.approve(actor, submission.id, settings=_settings()) for _ in range(4)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, ActivitySubmission) for r in results) == 1
    assert all(isinstance(r, ActivitySubmission | Conflict) for r in results)
    assert await Event.filter(parent_id=edition.id).count() == 1
    assert await OutboundMessage.filter(dedupe_key__contains=":approved:").count() == 1


# --------------------------------------------------------------------------- moderation


async def test_approve_publishes_a_child_activity_and_mails_the_submitter(client):
    edition = await jps_edition()
    submission = await pending_submission()
    user = await login(client, Role.ORGANIZER)
    response = await client.post(
        f"/admin/events/submissions/{submission.id}/approve",
        data={"message": "Merci, belle initiative!"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/admin/events/{edition.id}/submissions")
    await submission.refresh_from_db()
    assert submission.status == SubmissionStatus.APPROVED
    assert submission.decided_by_id == user.id
    event = await Event.get(id=submission.event_id).select_related("territory")
    await event.fetch_related("clienteles")
    assert event.parent_id == edition.id
    assert event.kind == EventKind.ACTIVITY
    assert event.status == EventStatus.PUBLISHED
    assert event.territory.code == "2461"
    assert sorted(c.code for c in event.clienteles) == ["schools", "youth"]
    assert event.registration_enabled is True
    assert event.expected_participants == 120
    assert event.contact_email == "julie.tremblay@exemple.qc.ca"
    assert (event.starts_at, event.ends_at) == (submission.starts_at, submission.ends_at)
    mail = await OutboundMessage.get(dedupe_key__contains=":approved:")
    assert mail.to_address == "julie.tremblay@exemple.qc.ca"
    assert f"http://testserver/events/{event.id}" in mail.text_body
    assert "Merci, belle initiative!" in mail.text_body
    entry = await AuditEntry.get(action="jps_submission.approved")
    assert entry.details["from"] == "pending" and entry.details["to"] == "approved"
    assert entry.actor_id == user.id
    queue = await client.get(response.headers["location"])
    assert "L&#39;activité a été acceptée et publiée au calendrier." in queue.text


async def test_request_changes_then_the_submitter_edits_through_the_link(app, client):
    await jps_edition()
    submission = await pending_submission()
    async with other_client(app) as staff:
        await login(staff, Role.ORGANIZER)
        response = await staff.post(
            f"/admin/events/submissions/{submission.id}/changes", data={"message": "  "}
        )
        assert response.status_code == 422
        assert "Expliquez au partenaire ce qu&#39;il doit modifier." in response.text
        await submission.refresh_from_db()
        assert submission.status == SubmissionStatus.PENDING
        response = await staff.post(
            f"/admin/events/submissions/{submission.id}/changes",
            data={"message": "Précisez le local, s'il vous plaît."},
        )
        assert response.status_code == 303
    await submission.refresh_from_db()
    assert submission.status == SubmissionStatus.CHANGES_REQUESTED
    mail = await OutboundMessage.get(dedupe_key__contains=":changes:")
    link = f"http://testserver/jps/proposer/{submission.token}"
    assert link in mail.text_body and link in mail.html_body
    assert "Précisez le local" in mail.text_body
    # The submitter (no account) follows the link
    page = await client.get(f"/jps/proposer/{submission.token}")
    assert page.status_code == 200
    assert "Précisez le local, s&#39;il vous plaît." in page.text
    assert 'value="Déjeuner de la persévérance"' in page.text
    token = csrf_from(page.text)
    bad = await client.post(
        f"/jps/proposer/{submission.token}",
        data=form_data(contact_email="", csrf_token=token),
    )
    assert bad.status_code == 422
    assert "obligatoire" in bad.text
    await submission.refresh_from_db()
    assert submission.status == SubmissionStatus.CHANGES_REQUESTED
    good = await client.post(
        f"/jps/proposer/{submission.token}",
        data=form_data(venue_name="École Barthélemy-Joliette, local B-12", csrf_token=token),
    )
    assert good.status_code == 303
    await submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PENDING
    assert submission.venue_name == "École Barthélemy-Joliette, local B-12"
    entry = await AuditEntry.get(action="jps_submission.resubmitted")
    assert (entry.details["from"], entry.details["to"]) == ("changes_requested", "pending")
    # Once pending again, the link shows the status and refuses edits
    page = await client.get(good.headers["location"])
    assert "nouvelle lecture" in page.text and 'name="title"' not in page.text
    again = await client.post(f"/jps/proposer/{submission.token}", data=form_data(csrf_token=token))
    assert again.status_code == 409


async def test_refuse_mails_the_submitter(client):
    await jps_edition()
    submission = await pending_submission()
    await login(client, Role.ADMIN)
    response = await client.post(
        f"/admin/events/submissions/{submission.id}/refuse",
        data={"message": "Cette activité a lieu hors de la région."},
    )
    assert response.status_code == 303
    await submission.refresh_from_db()
    assert submission.status == SubmissionStatus.REFUSED
    mail = await OutboundMessage.get(dedupe_key__contains=":refused:")
    assert "Proposition non retenue" in mail.subject
    assert "hors de la région" in mail.text_body
    entry = await AuditEntry.get(action="jps_submission.refused")
    assert (entry.details["from"], entry.details["to"]) == ("pending", "refused")
    assert await Event.filter(kind=EventKind.ACTIVITY).count() == 0


async def test_decisions_on_a_decided_submission_are_refused(client):
    edition = await jps_edition()
    submission = await pending_submission()
    await login(client, Role.ORGANIZER)
    await client.post(f"/admin/events/submissions/{submission.id}/refuse", data={"message": ""})
    for decision in ("approve", "changes", "refuse"):
        response = await client.post(
            f"/admin/events/submissions/{submission.id}/{decision}", data={"message": "Encore"}
        )
        assert response.status_code == 303
        queue = await client.get(response.headers["location"])
        assert "déjà été traitée" in queue.text
    await submission.refresh_from_db()
    assert submission.status == SubmissionStatus.REFUSED
    assert await Event.filter(parent_id=edition.id).count() == 0
    assert await OutboundMessage.filter(dedupe_key__contains=":refused:").count() == 1
    with pytest.raises(Conflict) as err:
        await submissions.approve(await organizer(), submission.id, settings=_settings())
    assert err.value.status_code == 409


async def test_queue_groups_by_status_with_every_detail(client):
    edition = await jps_edition()
    first = await pending_submission(title="Première activité")
    await pending_submission(title="Deuxième activité")
    await submissions.refuse(await organizer(), first.id, "Non", settings=_settings())
    await login(client, Role.REVIEWER)
    page = await client.get(f"/admin/events/{edition.id}/submissions")
    assert page.status_code == 200
    assert "En attente de modération (1)" in page.text
    assert "Refusée (1)" in page.text
    assert page.text.index("Deuxième activité") < page.text.index("Première activité")
    for detail in (
        "Julie Tremblay",
        "julie.tremblay@exemple.qc.ca",
        "450 555-0101",
        "Joliette",
        "Centre de services scolaire des Samares",
        "120",
    ):
        assert detail in page.text
    assert "Accepter et publier" not in page.text  # a reviewer sees, does not decide


async def test_queue_access_rules(client):
    edition = await jps_edition()
    anonymous = await client.get(f"/admin/events/{edition.id}/submissions")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    await login(client, Role.CHECKIN)
    denied = await client.get(f"/admin/events/{edition.id}/submissions")
    assert denied.status_code == 403


async def test_decision_needs_the_csrf_token(client):
    await jps_edition()
    submission = await pending_submission()
    await login(client, Role.ORGANIZER)
    del client.headers["x-csrf-token"]
    response = await client.post(
        f"/admin/events/submissions/{submission.id}/approve", data={"message": ""}
    )
    assert response.status_code == 403
    await submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PENDING
