"""A person's export holds their linked evaluation responses; erasure cuts the link and
drops their written answers, the counts stay."""

from __future__ import annotations

from evaluations import answering, sending
from evaluations.models import Answer, Response
from evaluations.results import evaluation_summary
from people.privacy import erase_person, export_person
from tests.evaluations.factories import SYSTEM, make_form, past_event, registrant, token_for


async def test_export_and_erasure_cover_linked_responses(settings):
    event = await past_event()
    await make_form(event, anonymous=False)
    reg = await registrant(event, attended=True, clientele="youth")
    await sending.send_now(SYSTEM, settings, event.id)
    token = await token_for(settings, reg)
    await answering.save_answers(
        settings, token, {"satisfaction": 5, "mot": "Merci Julie Tremblay"}, complete=True
    )

    exported = await export_person(SYSTEM, reg.person_id)
    (response,) = exported["evaluation_responses"]
    assert response["event"]["id"] == event.id
    assert {"question": "mot", "value": "Merci Julie Tremblay"} in response["answers"]

    await erase_person(SYSTEM, reg.person_id)
    stored = await Response.get()
    assert stored.registration_id is None
    assert stored.clientele_id is not None  # the breakdown keeps its count
    assert await Answer.filter(text__not_isnull=True).count() == 0
    summary = await evaluation_summary(event.id)
    assert summary is not None and summary.responses == 1 and summary.mean_satisfaction == 5
