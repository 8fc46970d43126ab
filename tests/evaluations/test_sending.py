"""Who gets the evaluation and when: attendees (or every confirmed registrant when the door
had no check-in), one message per person however often it runs, the thank-you replaced
by the invitation, a reminder only to those who have not answered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns import automatic
from core.errors import Conflict
from core.models import OutboundMessage
from evaluations import answering, sending
from evaluations.models import Invitation
from registrations.models import CheckIn, RegistrationStatus
from tests.evaluations.factories import (
    SYSTEM,
    link_in,
    make_form,
    past_event,
    registrant,
    token_for,
)


async def addresses(template_part: str) -> list[str]:
    rows = await OutboundMessage.filter(dedupe_key__startswith=template_part).order_by("to_address")
    return [m.to_address for m in rows]


async def test_only_those_who_attended_get_the_evaluation(settings):
    event = await past_event()
    await make_form(event)
    came = [
        await registrant(event, attended=True, email=f"venu{i}@exemple.qc.ca") for i in range(2)
    ]
    await registrant(event, email="absent@exemple.qc.ca")
    undone = await registrant(event, attended=True, email="annule@exemple.qc.ca")
    await CheckIn.filter(registration_id=undone.id).update(undone_at=datetime.now(UTC))

    assert await sending.send_now(SYSTEM, settings, event.id) == 2
    assert await addresses("evaluation:") == ["venu0@exemple.qc.ca", "venu1@exemple.qc.ca"]
    # Again: nobody new, nothing queued twice.
    assert await sending.send_now(SYSTEM, settings, event.id) == 0
    assert await sending.send_due(settings) == 0
    assert await OutboundMessage.filter(dedupe_key__startswith="evaluation:").count() == 2
    # A late check-in is invited at the next run.
    late = await registrant(event, attended=True, email="retard@exemple.qc.ca")
    assert await sending.send_due(settings) == 1
    assert await Invitation.filter(registration_id=late.id).exists()
    message = await OutboundMessage.get(to_address="venu0@exemple.qc.ca")
    assert f"{settings.base_url}/evaluation/" in message.text_body
    assert "anonyme" in message.text_body
    assert came


async def test_without_door_checkin_every_confirmed_registrant_gets_it(settings):
    event = await past_event()
    await make_form(event)
    await registrant(event, email="a@exemple.qc.ca")
    await registrant(event, email="b@exemple.qc.ca")
    await registrant(event, email="cancelled@exemple.qc.ca", status=RegistrationStatus.CANCELLED)
    await registrant(event, email="wait@exemple.qc.ca", status=RegistrationStatus.WAITLISTED)
    assert await sending.send_due(settings) == 2
    assert await addresses("evaluation:") == ["a@exemple.qc.ca", "b@exemple.qc.ca"]


async def test_nothing_goes_before_the_end_nor_for_an_event_without_form(settings):
    soon = await past_event(ended_ago=timedelta(minutes=30))  # within the thank-you delay
    await make_form(soon)
    await registrant(soon, attended=True)
    bare = await past_event("Sans questionnaire")
    await registrant(bare, attended=True)
    assert await sending.send_due(settings) == 0
    with pytest.raises(Conflict) as raised:
        await sending.send_now(SYSTEM, settings, bare.id)
    assert raised.value.code == "no_form"


async def test_the_invitation_is_the_thank_you_for_an_event_with_a_form(settings):
    with_form = await past_event("Avec questionnaire")
    await make_form(with_form)
    await registrant(with_form, attended=True, email="eval@exemple.qc.ca")
    without = await past_event("Sans questionnaire")
    await registrant(without, attended=True, email="merci@exemple.qc.ca")

    assert await automatic.send_due_thanks(settings) == 1
    assert await addresses("event_thanks:") == ["merci@exemple.qc.ca"]
    assert await sending.send_due(settings) == 1
    assert await addresses("evaluation:") == ["eval@exemple.qc.ca"]
    message = await OutboundMessage.get(to_address="eval@exemple.qc.ca")
    assert "Merci d'avoir participé" in message.text_body
    # The event is marked thanked: no generic thank-you later either.
    assert await automatic.send_due_thanks(settings) == 0


async def test_a_reminder_goes_once_and_only_to_those_who_have_not_answered(settings):
    event = await past_event()
    await make_form(event, reminder_days=3)
    answered = await registrant(event, attended=True, email="repondu@exemple.qc.ca")
    await registrant(event, attended=True, email="silence@exemple.qc.ca")
    assert await sending.send_now(SYSTEM, settings, event.id) == 2
    await answering.save_answers(
        settings, await token_for(settings, answered), {"satisfaction": 4}, complete=True
    )
    assert await sending.send_due_reminders(settings) == 0  # not yet due
    later = datetime.now(UTC) + timedelta(days=3, minutes=1)
    assert await sending.send_due_reminders(settings, later) == 1
    assert await addresses("evaluation_reminder:") == ["silence@exemple.qc.ca"]
    assert await sending.send_due_reminders(settings, later + timedelta(days=1)) == 0
    reminder = await OutboundMessage.get(dedupe_key__startswith="evaluation_reminder:")
    first = await OutboundMessage.get(
        to_address="silence@exemple.qc.ca", dedupe_key__startswith="evaluation:"
    )
    assert link_in(reminder) == link_in(first)  # the same personal link


async def test_no_reminder_once_the_form_is_closed(settings):
    event = await past_event()
    closes = datetime.now(UTC) + timedelta(days=2)
    await make_form(event, reminder_days=3, closes_at=closes.isoformat())
    await registrant(event, attended=True)
    assert await sending.send_now(SYSTEM, settings, event.id) == 1
    assert await sending.send_due_reminders(settings, datetime.now(UTC) + timedelta(days=4)) == 0


async def test_an_editions_shared_form_invites_each_activity_and_compares_them(settings):
    from evaluations.results import edition_comparison, evaluation_summary

    edition = await past_event("JPS 2027", ended_ago=timedelta(hours=3))
    await make_form(edition, anonymous=False, shared_with_children=True)
    first = await past_event("Atelier A", parent=edition)
    second = await past_event("Atelier B", parent=edition)
    a = [await registrant(first, attended=True) for _ in range(2)]
    b = [await registrant(second, attended=True) for _ in range(4)]
    assert await sending.send_due(settings) == 6
    invitation = await Invitation.get(registration_id=b[0].id)
    assert invitation.event_id == second.id
    await answering.save_answers(
        settings, await token_for(settings, a[0]), {"satisfaction": 5}, complete=True
    )
    await answering.save_answers(
        settings, await token_for(settings, b[0]), {"satisfaction": 2}, complete=True
    )
    await answering.save_answers(
        settings, await token_for(settings, b[1]), {"satisfaction": 3}, complete=True
    )

    rows = {row.event.title: row.summary for row in await edition_comparison(edition)}
    assert rows["Atelier A"].responses == 1 and rows["Atelier A"].invited == 2
    assert rows["Atelier A"].mean_satisfaction == 5
    assert rows["Atelier B"].responses == 2 and rows["Atelier B"].response_rate == 0.5
    assert rows["Atelier B"].mean_satisfaction == 2.5
    whole = await evaluation_summary(edition.id)
    assert whole is not None and whole.responses == 3 and whole.invited == 6
    # One activity's results (linked form): its own breakdown only.
    from evaluations.results import results_for_event

    _event, found = await results_for_event(SYSTEM, second.id)
    assert found.summary.responses == 2
    assert [(g.code, g.responses) for g in found.by_clientele or []] == [("schools", 2)]


async def test_concurrent_runs_invite_each_person_once(settings):
    import asyncio

    event = await past_event()
    await make_form(event)
    for i in range(12):
        await registrant(event, attended=True, email=f"c{i}@exemple.qc.ca")
    counts = await asyncio.gather(
        sending.send_due(settings),
        sending.send_due(settings),
        sending.send_now(SYSTEM, settings, event.id),
    )
    assert sum(counts) == 12
    assert await Invitation.all().count() == 12
    assert await OutboundMessage.filter(dedupe_key__startswith="evaluation:").count() == 12


async def test_a_closed_form_neither_sends_nor_holds_back_the_thank_you(settings):
    event = await past_event()
    await make_form(event, closes_at=(datetime.now(UTC) - timedelta(minutes=5)).isoformat())
    await registrant(event, attended=True, email="merci@exemple.qc.ca")
    assert await sending.send_due(settings) == 0
    with pytest.raises(Conflict) as raised:
        await sending.send_now(SYSTEM, settings, event.id)
    assert raised.value.code == "form_closed"
    assert await automatic.send_due_thanks(settings) == 1
    assert await addresses("event_thanks:") == ["merci@exemple.qc.ca"]


async def test_the_upkeep_runs_the_invitations_and_the_reminders(settings):
    from core.maintenance import TASKS, run_tasks_once

    assert {"evaluations.invitations", "evaluations.reminders"} <= set(TASKS)
    event = await past_event()
    await make_form(event)
    await registrant(event, attended=True, email="upkeep@exemple.qc.ca")
    done = await run_tasks_once()
    assert done["evaluations.invitations"] == 1
    assert done["campaigns.event_thanks"] == 0  # the invitation is the thank-you
    assert await addresses("evaluation:") == ["upkeep@exemple.qc.ca"]
    assert await addresses("event_thanks:") == []
