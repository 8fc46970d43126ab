"""Automatic messages per event, delivered to a real SMTP server: change notices (ICS with
a higher SEQUENCE, METHOD:CANCEL), the reminder to confirmed registrants, the thank-you
to attendees; each switch off sends nothing; re-running the upkeep sends nothing twice."""

# ruff: noqa: F811 - the SMTP fixtures come from tests.mail
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from campaigns import automatic
from core.mail.worker import MailWorker
from core.maintenance import TASKS, run_tasks_once
from core.models import OutboundMessage
from events import service as events
from events.models import Event
from events.schemas import EventPatch
from registrations import service
from registrations.models import CheckIn, RegistrationStatus
from tests.mail import mail_settings, smtp_server  # noqa: F401
from tests.registrations.helpers import SYSTEM, person, published_event


async def deliver(settings) -> None:
    worker = MailWorker(settings)
    try:
        while await worker.run_once():
            pass
    finally:
        await worker.close()


def calendar_of(message) -> Calendar:
    (part,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_payload(decode=True))


async def change(event: Event, **fields) -> Event:
    data = await events.merge_patch(event, EventPatch(**fields))
    await events.update_event(SYSTEM, event.id, data)
    return await Event.get(id=event.id)


async def registrants(settings, event: Event, n: int, **overrides):
    return [
        (await service.register(event.id, person(i, **overrides), settings=settings)).registration
        for i in range(1, n + 1)
    ]


def addresses(sink, subject_part: str) -> list[str]:
    return sorted(r.rcpt_tos[0] for r in sink.received if subject_part in str(r.message["Subject"]))


# --------------------------------------------------------------------------- change notices


async def test_moving_the_date_sends_each_active_registrant_one_notice_with_a_higher_sequence(
    mail_settings, smtp_server
):
    event = await published_event(capacity=2, waitlist=True)
    first, second, third = await registrants(mail_settings, event, 3)
    assert third.status == RegistrationStatus.WAITLISTED
    await service.cancel(mail_settings, second.id)  # third promoted; second no longer active
    before = (await Event.get(id=event.id)).sequence
    await deliver(mail_settings)
    smtp_server.sink.received.clear()

    moved = await change(event, starts_at="2030-02-17T13:00", ends_at="2030-02-17T15:00")
    await change(moved, title="Colloque régional 2030")  # not a change of date or place
    await run_tasks_once()
    await deliver(mail_settings)

    notices = [r for r in smtp_server.sink.received if "horaire" in str(r.message["Subject"])]
    assert sorted(r.rcpt_tos[0] for r in notices) == [
        "personne1@exemple.qc.ca",
        "personne3@exemple.qc.ca",
    ]
    assert len(smtp_server.sink.received) == 2  # nothing else, nothing twice
    for received in notices:
        calendar = calendar_of(received.message)
        (vevent,) = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(vevent["UID"]) == event.uid
        assert int(vevent["SEQUENCE"]) == moved.sequence > before
        assert vevent.decoded("DTSTART").astimezone(UTC) == moved.starts_at.astimezone(UTC)
        assert received.message["List-Unsubscribe"] is None  # transactional


async def test_changing_the_place_then_the_date_sends_two_notices_each(mail_settings, smtp_server):
    event = await published_event()
    await registrants(mail_settings, event, 2)
    await deliver(mail_settings)
    smtp_server.sink.received.clear()

    event = await change(event, venue_name="Salle municipale", address="1, rue Principale")
    event = await change(event, starts_at="2030-03-01T09:00", ends_at="2030-03-01T11:00")
    await deliver(mail_settings)

    place = addresses(smtp_server.sink, "lieu")
    dates = addresses(smtp_server.sink, "horaire")
    assert place == dates == ["personne1@exemple.qc.ca", "personne2@exemple.qc.ca"]
    sequences = sorted(
        int(calendar_of(r.message).walk("VEVENT")[0]["SEQUENCE"])
        for r in smtp_server.sink.to("personne1@exemple.qc.ca")
        if "Changement" in str(r.message["Subject"])
    )
    assert sequences == [event.sequence - 1, event.sequence]


async def test_cancelling_sends_one_method_cancel_and_nothing_else(mail_settings, smtp_server):
    event = await published_event()
    await registrants(mail_settings, event, 2)
    await deliver(mail_settings)
    smtp_server.sink.received.clear()

    _event, notified = await events.cancel_event(SYSTEM, event.id, "Tempête de neige")
    await deliver(mail_settings)

    assert notified == 2
    assert sorted(r.rcpt_tos[0] for r in smtp_server.sink.received) == [
        "personne1@exemple.qc.ca",
        "personne2@exemple.qc.ca",
    ]  # one message each: the registrations package no longer sends its own
    calendar = calendar_of(smtp_server.sink.received[0].message)
    (vevent,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(vevent["STATUS"]) == "CANCELLED"
    assert int(vevent["SEQUENCE"]) == (await Event.get(id=event.id)).sequence


async def test_change_notices_switched_off_send_nothing(mail_settings, smtp_server):
    event = await published_event(send_change_notices=False)
    await registrants(mail_settings, event, 2)
    await OutboundMessage.all().delete()

    event = await change(event, starts_at="2030-03-01T09:00", ends_at="2030-03-01T11:00")
    await events.cancel_event(SYSTEM, event.id, "")
    assert await OutboundMessage.all().count() == 0


async def test_a_name_with_cr_lf_cannot_add_a_header(mail_settings, smtp_server):
    event = await published_event()
    await service.register(
        event.id,
        person(1, first_name="Ève\r\nBcc: victime@exemple.com", last_name="Nom\nX-Evil: 1"),
        settings=mail_settings,
    )
    await deliver(mail_settings)
    smtp_server.sink.received.clear()
    await change(event, starts_at="2030-03-01T09:00", ends_at="2030-03-01T11:00")
    await deliver(mail_settings)
    (received,) = smtp_server.sink.received
    assert received.rcpt_tos == ["personne1@exemple.qc.ca"]
    assert received.message["Bcc"] is None and received.message["X-Evil"] is None
    assert "\n" not in str(received.message["To"])


# --------------------------------------------------------------------------- reminders


async def test_reminder_goes_once_to_confirmed_registrants_with_ticket_and_ics(
    mail_settings, smtp_server
):
    event = await published_event(capacity=1, waitlist=True, reminder_days_before=3)
    confirmed, waitlisted = await registrants(mail_settings, event, 2)
    assert waitlisted.status == RegistrationStatus.WAITLISTED
    await deliver(mail_settings)
    smtp_server.sink.received.clear()

    too_early = event.starts_at - timedelta(days=3, minutes=1)
    assert await automatic.send_due_reminders(mail_settings, too_early) == 0
    due = event.starts_at - timedelta(days=2)
    assert await automatic.send_due_reminders(mail_settings, due) == 1
    assert await automatic.send_due_reminders(mail_settings, due + timedelta(hours=1)) == 0
    await deliver(mail_settings)

    (received,) = smtp_server.sink.received
    assert received.rcpt_tos == ["personne1@exemple.qc.ca"]
    assert "Rappel" in str(received.message["Subject"])
    types = {p.get_content_type() for p in received.message.walk()}
    assert {"image/png", "text/calendar"} <= types
    assert confirmed.ticket_code in received.message.get_body(("plain",)).get_content()


async def test_two_upkeep_runs_at_once_send_each_reminder_once(mail_settings, smtp_server):
    event = await published_event()
    await registrants(mail_settings, event, 3)
    await OutboundMessage.all().delete()
    due = event.starts_at - timedelta(days=1)

    results = await asyncio.gather(
        *(automatic.send_due_reminders(mail_settings, due) for _ in range(4))
    )
    assert sum(results) == 3
    assert await OutboundMessage.filter(dedupe_key__startswith="event_reminder:").count() == 3


async def test_moving_the_date_allows_a_new_reminder_before_the_new_date(
    mail_settings, smtp_server
):
    event = await published_event()
    await registrants(mail_settings, event, 1)
    assert await automatic.send_due_reminders(mail_settings, event.starts_at - timedelta(1)) == 1
    moved = await change(event, starts_at="2030-04-01T09:00", ends_at="2030-04-01T11:00")
    assert await automatic.send_due_reminders(mail_settings, moved.starts_at - timedelta(1)) == 1


async def test_reminder_switched_off_sends_nothing(mail_settings, smtp_server):
    event = await published_event(send_reminder=False)
    await registrants(mail_settings, event, 2)
    assert await automatic.send_due_reminders(mail_settings, event.starts_at - timedelta(1)) == 0


async def test_the_upkeep_runs_the_automatic_messages(mail_settings, smtp_server):
    assert {"campaigns.event_reminders", "campaigns.event_thanks"} <= set(TASKS)
    now = datetime.now(UTC)
    event = await published_event(
        starts_at=(now + timedelta(days=1)).isoformat(),
        ends_at=(now + timedelta(days=1, hours=2)).isoformat(),
    )
    await registrants(mail_settings, event, 2)
    await deliver(mail_settings)
    smtp_server.sink.received.clear()

    first = await run_tasks_once()
    second = await run_tasks_once()
    await deliver(mail_settings)
    assert first["campaigns.event_reminders"] == 2
    assert second["campaigns.event_reminders"] == 0
    assert len(smtp_server.sink.received) == 2


# --------------------------------------------------------------------------- thank-yous


async def attend(registration) -> None:
    await CheckIn.create(
        event_id=registration.event_id,
        registration_id=registration.id,
        day=datetime(2030, 2, 16).date(),
        active_key=f"{registration.id}:2030-02-16",
        checked_in_at=datetime(2030, 2, 16, 14, 5, tzinfo=UTC),
    )


async def test_thanks_go_once_to_attendees_with_the_evaluation_link(mail_settings, smtp_server):
    url = "https://sondage.exemple.qc.ca/colloque-2030"
    event = await published_event(evaluation_url=url)
    came, _absent, undone = await registrants(mail_settings, event, 3)
    await attend(came)
    await attend(undone)
    await CheckIn.filter(registration_id=undone.id).update(
        undone_at=datetime(2030, 2, 16, 14, 6, tzinfo=UTC), active_key=None
    )
    await deliver(mail_settings)
    smtp_server.sink.received.clear()

    assert await automatic.send_due_thanks(mail_settings, event.ends_at) == 0  # too soon
    after = event.ends_at + timedelta(hours=3)
    assert await automatic.send_due_thanks(mail_settings, after) == 1
    assert await automatic.send_due_thanks(mail_settings, after + timedelta(hours=1)) == 0
    await deliver(mail_settings)

    (received,) = smtp_server.sink.received
    assert received.rcpt_tos == ["personne1@exemple.qc.ca"]
    assert url in received.message.get_body(("plain",)).get_content()


async def test_thanks_switched_off_send_nothing(mail_settings, smtp_server):
    event = await published_event(send_thanks=False)
    (came,) = await registrants(mail_settings, event, 1)
    await attend(came)
    assert await automatic.send_due_thanks(mail_settings, event.ends_at + timedelta(1)) == 0


async def test_the_switches_are_in_the_events_api(client, settings):
    from tests.conftest import token_for

    token = await token_for()
    headers = {"Authorization": f"Bearer {token}"}
    created = await client.post(
        "/api/v1/events",
        headers=headers,
        json={
            "title": "Atelier",
            "kind": "training",
            "starts_at": "2030-05-01T09:00",
            "ends_at": "2030-05-01T12:00",
            "send_thanks": False,
            "reminder_days_before": 5,
            "evaluation_url": "https://sondage.exemple.qc.ca/a",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["send_reminder"], body["reminder_days_before"], body["send_thanks"]) == (
        True,
        5,
        False,
    )
    assert body["send_change_notices"] is True
    bad = await client.post(
        "/api/v1/events",
        headers=headers,
        json={
            "title": "Atelier",
            "kind": "training",
            "starts_at": "2030-05-01T09:00",
            "ends_at": "2030-05-01T12:00",
            "evaluation_url": "javascript:alert(1)",
        },
    )
    assert bad.status_code == 422
    assert "evaluation_url" in bad.json()["error"]["fields"]


async def test_the_switches_are_in_the_back_office_form(client, settings):
    from tests.conftest import login
    from tests.events.test_backoffice import form

    await login(client, "organizer")
    page = await client.get("/admin/events/new")
    for name in ("send_reminder", "send_thanks", "send_change_notices"):
        assert f'name="{name}" checked' in page.text
    assert 'name="reminder_days_before"' in page.text and 'value="2"' in page.text

    response = await client.post(
        "/admin/events/new",
        data=form(
            send_reminder="on",
            send_change_notices="on",
            reminder_days_before="4",
            evaluation_url="https://sondage.exemple.qc.ca/x",
        ),
    )
    assert response.status_code == 303, response.text
    event = await Event.get(title="Colloque régional 2027")
    assert (event.send_reminder, event.send_thanks, event.send_change_notices) == (
        True,
        False,
        True,
    )
    assert event.reminder_days_before == 4
    assert event.evaluation_url == "https://sondage.exemple.qc.ca/x"
    edit = await client.get(f"/admin/events/{event.id}/edit")
    assert 'name="send_thanks" checked' not in edit.text
    assert 'value="4"' in edit.text

    bad = await client.post(f"/admin/events/{event.id}/edit", data=form(reminder_days_before="99"))
    assert bad.status_code == 422


async def test_an_unsubscribed_registrant_still_gets_the_change_notice(mail_settings, smtp_server):
    from campaigns import preferences
    from people.consents import has_consent
    from people.models import ConsentPurpose

    event = await published_event()
    (registration,) = await registrants(mail_settings, event, 1)
    for purpose in preferences.PREFERENCE_PURPOSES:
        token = preferences.unsubscribe_token(mail_settings, registration.person_id, purpose)
        await preferences.withdraw(mail_settings, token)
    assert not await has_consent(registration.person_id, ConsentPurpose.EVENT_COMMUNICATIONS)
    await deliver(mail_settings)
    smtp_server.sink.received.clear()

    await change(event, starts_at="2030-03-01T09:00", ends_at="2030-03-01T11:00")
    await deliver(mail_settings)
    assert addresses(smtp_server.sink, "horaire") == ["personne1@exemple.qc.ca"]
