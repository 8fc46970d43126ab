"""The registration e-mails as a registrant receives them, over a real SMTP server.

The confirmation is rendered before the registering transaction (for the status the seat
counter then allows) and its QR image is made by the worker from the signed payload: what
arrives must still be the right message, with a QR that decodes to the ticket and the
event's calendar file attached.
"""

# ruff: noqa: F811 - the SMTP fixtures come from tests.mail
from __future__ import annotations

import io

import zxingcpp
from icalendar import Calendar
from PIL import Image

from core.mail.worker import MailWorker
from core.models import OutboundMessage
from registrations import limits, manage_links, notices, service
from registrations.models import RegistrationSource, RegistrationStatus
from tests.mail import mail_settings, smtp_server  # noqa: F401
from tests.registrations.helpers import person, published_event


async def deliver(settings) -> None:
    worker = MailWorker(settings)
    try:
        while await worker.run_once():
            pass
    finally:
        await worker.close()


def parts(message):
    return {part.get_content_type(): part for part in message.walk()}


async def test_confirmation_carries_a_decodable_qr_and_the_calendar_file(
    mail_settings, smtp_server
):
    event = await published_event(capacity=1, waitlist=True)
    first = await service.register(event.id, person(1), settings=mail_settings)
    second = await service.register(event.id, person(2), settings=mail_settings)
    assert first.registration.status == RegistrationStatus.CONFIRMED
    assert second.registration.status == RegistrationStatus.WAITLISTED
    queued = await OutboundMessage.all().order_by("id")
    assert [m.cause_id for m in queued] == [
        str(first.registration.id),
        str(second.registration.id),
    ]
    assert queued[0].person_id == first.registration.person_id  # type: ignore[attr-defined]
    await deliver(mail_settings)

    confirmation = smtp_server.sink.to("personne1@exemple.qc.ca")[0].message
    assert "Colloque régional" in str(confirmation["Subject"])
    found = parts(confirmation)
    text = found["text/plain"].get_content()
    assert first.registration.ticket_code in text
    assert manage_links.manage_url(mail_settings, first.registration) in text
    html = found["text/html"].get_content()
    assert 'src="cid:billet-qr"' in html
    image = found["image/png"]
    assert image["Content-ID"] == "<billet-qr>"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
    expected = await notices.ticket_payload(mail_settings, first.registration)
    assert {r.text for r in decoded} == {expected}
    calendar = Calendar.from_ical(found["text/calendar"].get_content())
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == event.uid
    assert str(calendar["METHOD"]) == "PUBLISH"

    waitlisted = smtp_server.sink.to("personne2@exemple.qc.ca")[0].message
    body = parts(waitlisted)["text/plain"].get_content()
    assert "liste d'attente, en position 1." in " ".join(body.split())
    assert "image/png" not in parts(waitlisted)


async def test_a_full_event_between_draft_and_transaction_gets_the_waitlist_message(
    mail_settings, smtp_server
):
    """The draft was made for `confirmed`; the seat counter says otherwise: the message
    queued is the waitlist one (rendered inside the transaction)."""
    event = await published_event(capacity=1, waitlist=True)
    # Another process takes the last place after this one read the event row.
    stale = await service._registering_event(event.id, None, RegistrationSource.FORM)
    data = person(3)
    draft = await notices.draft_registration(
        mail_settings, stale[0], data, RegistrationSource.FORM, False
    )
    assert draft.status == RegistrationStatus.CONFIRMED and draft.message is not None
    await service.register(event.id, person(4), settings=mail_settings)
    from tortoise.transactions import in_transaction

    async with in_transaction():
        registration, _created = await service._register_in_transaction(
            stale[0],
            data,
            settings=mail_settings,
            source=RegistrationSource.FORM,
            actor=None,
            force_confirm=False,
            clientele=stale[1][0] if stale[1] else await _schools(),
            territory=None,
            answers={},
            consents=set(),
            draft=draft,
            channel=limits.Channel(public=True),
        )
    assert registration.status == RegistrationStatus.WAITLISTED
    message = await OutboundMessage.get(cause_id=str(registration.id))
    assert message.dedupe_key.startswith("registration_waitlisted:")
    assert not message.attachments


async def _schools():
    from people.models import Clientele

    return await Clientele.get(code="schools")
