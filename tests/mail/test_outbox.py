"""Queueing mail: rendering, dedupe, Message-ID, attachments, bulk headers, header safety."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from tortoise.transactions import in_transaction

from core.errors import ValidationFailed
from core.mail.outbox import build_mime, mime_bytes, queue_mail, send_test_mail
from core.models import MessageStatus, OutboundMessage

NOW = datetime(2027, 2, 16, 14, 0, tzinfo=UTC)


async def queue(settings, key="k1", **kw):
    values = {
        "to_address": "alice@exemple.qc.ca",
        "template": "test",
        "context": {"queued_at": NOW},
        "dedupe_key": key,
        "settings": settings,
    }
    values.update(kw)
    return await queue_mail(**values)


async def test_rendered_in_french_with_sender_identification(settings):
    message = await queue(settings, to_name="Alice Tremblay")
    assert message.status == MessageStatus.QUEUED
    assert message.subject == "Courriel d'essai de Rassembleur : vérification de l'envoi"
    assert "Bonjour Alice Tremblay," in message.text_body
    assert "mardi 16 février 2027, 9 h" in message.text_body  # America/Toronto, fr_CA
    assert settings.mail_sender_address in message.text_body
    assert settings.mail_sender_address in message.html_body
    assert "<html" in message.html_body
    assert re.fullmatch(r"<[0-9a-f]{32}@rassembleur\.local>", message.message_id)
    assert message.next_attempt_at <= datetime.now(UTC)


async def test_language_is_the_recipients(settings):
    message = await queue(settings, language="en")
    assert message.language == "en"
    # No English catalog entry needed: what matters is that rendering ran with "en".
    assert message.subject


async def test_html_body_is_escaped_and_text_is_not(settings):
    message = await queue(settings, to_name="Ann <b>&</b>")
    assert "Ann &lt;b&gt;&amp;&lt;/b&gt;" in message.html_body
    assert "Bonjour Ann <b>&</b>," in message.text_body


async def test_same_dedupe_key_twice_gives_one_message(settings):
    first = await queue(settings, key="registration:42:confirmation")
    second = await queue(settings, key="registration:42:confirmation", to_address="b@exemple.qc.ca")
    assert second.id == first.id
    assert second.message_id == first.message_id
    assert await OutboundMessage.filter(dedupe_key="registration:42:confirmation").count() == 1


async def test_concurrent_dedupe_gives_one_message(settings):
    results = await asyncio.gather(*(queue(settings, key="race") for _ in range(5)))
    assert len({m.id for m in results}) == 1
    assert await OutboundMessage.all().count() == 1


async def test_dedupe_inside_callers_transaction_keeps_it_usable(settings):
    await queue(settings, key="dup")
    async with in_transaction():
        again = await queue(settings, key="dup")
        other = await queue(settings, key="other")
    assert again.id != other.id
    assert await OutboundMessage.all().count() == 2


async def test_queued_in_callers_transaction_rolls_back_with_it(settings):
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await queue(settings, key="rolled-back")
            raise RuntimeError("the caller's operation failed")
    assert await OutboundMessage.filter(dedupe_key="rolled-back").count() == 0


async def test_header_injection_is_neutralized(settings):
    message = await queue(
        settings,
        to_name="Eve\r\nBcc: x@y",
        context={"queued_at": NOW, "note": "urgent\r\nBcc: z@y"},
        headers={"X-Campaign": "c1\r\nBcc: w@y"},
    )
    assert message.to_name == "Eve Bcc: x@y"
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.headers == {"X-Campaign": "c1 Bcc: w@y"}
    raw = mime_bytes(build_mime(message, settings))
    parsed = message_from_bytes(raw, policy=default_policy)
    assert parsed["Bcc"] is None
    assert parsed["To"].addresses[0].addr_spec == "alice@exemple.qc.ca"
    assert parsed["To"].addresses[0].display_name == "Eve Bcc: x@y"
    assert len(parsed["To"].addresses) == 1
    assert str(parsed["X-Campaign"]) == "c1 Bcc: w@y"
    assert not re.search(rb"^Bcc:", raw, re.MULTILINE | re.IGNORECASE)


async def test_address_with_line_break_is_refused(settings):
    with pytest.raises(ValidationFailed):
        await queue(settings, to_address="alice@exemple.qc.ca\r\nBcc: x@y")
    with pytest.raises(ValidationFailed):
        await queue(settings, to_address="pas-une-adresse")
    assert await OutboundMessage.all().count() == 0


async def test_reserved_headers_cannot_be_set(settings):
    for name in ("Bcc", "From", "Subject", "Message-ID", "X-Bad\r\nBcc"):
        with pytest.raises(ValidationFailed):
            await queue(settings, key=f"h-{name}", headers={name: "x"})


async def test_bulk_with_unsubscribe_gets_one_click_headers_and_footer_links(settings):
    url = "https://evenements.exemple.qc.ca/desabonnement/abc"
    prefs = "https://evenements.exemple.qc.ca/preferences/abc"
    message = await queue(
        settings,
        category="bulk",
        context={"queued_at": NOW, "unsubscribe_url": url, "preferences_url": prefs},
    )
    assert message.headers["List-Unsubscribe"] == f"<{url}>"
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.text_body and prefs in message.text_body
    assert f'href="{url}"' in message.html_body
    parsed = message_from_bytes(mime_bytes(build_mime(message, settings)), policy=default_policy)
    assert str(parsed["List-Unsubscribe"]) == f"<{url}>"
    assert str(parsed["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


async def test_bulk_unsubscribe_given_as_header(settings):
    url = "https://evenements.exemple.qc.ca/u/xyz"
    message = await queue(settings, category="bulk", headers={"List-Unsubscribe": f"<{url}>"})
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.text_body


async def test_transactional_has_no_unsubscribe_headers(settings):
    message = await queue(settings, context={"queued_at": NOW, "unsubscribe_url": "https://x/u"})
    assert "List-Unsubscribe-Post" not in message.headers
    assert "List-Unsubscribe" not in message.headers


async def test_attachments_stored_and_built_inline_and_attached(settings):
    png = b"\x89PNG\r\n\x1a\nfake"
    message = await queue(
        settings,
        attachments=[
            {"filename": "billet.pdf", "content_type": "application/pdf", "data": b"%PDF-1.4"},
            {
                "filename": "logo.png",
                "content_type": "image/png",
                "data": png,
                "content_id": "logo",
            },
        ],
    )
    assert message.attachments[0]["content_id"] is None
    assert message.attachments[1]["content_id"] == "logo"
    parsed = message_from_bytes(mime_bytes(build_mime(message, settings)), policy=default_policy)
    assert parsed.get_content_type() == "multipart/mixed"
    types = [part.get_content_type() for part in parsed.walk()]
    assert "multipart/alternative" in types and "multipart/related" in types
    files = {part.get_filename(): part for part in parsed.walk() if part.get_filename()}
    assert files["billet.pdf"].get_content() == b"%PDF-1.4"
    assert files["logo.png"]["Content-ID"] == "<logo>"
    assert files["logo.png"].get_content() == png


async def test_send_test_mail(settings):
    first = await send_test_mail(settings, "admin@exemple.qc.ca")
    second = await send_test_mail(settings, "admin@exemple.qc.ca")
    assert first.id != second.id
    assert first.to_address == "admin@exemple.qc.ca"
    assert first.cause_type == "test"
    assert settings.mail_sender_address in first.text_body


async def test_calendar_attachment_keeps_its_method(settings):
    from core.mail.outbox import build_mime, queue_mail

    message = await queue_mail(
        to_address="a@exemple.qc.ca",
        template="test",
        context={},
        dedupe_key="ics-method",
        attachments=[
            {
                "filename": "annulation.ics",
                "content_type": "text/calendar; method=CANCEL",
                "data": b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                "content_id": None,
            }
        ],
        settings=settings,
    )
    mime = build_mime(message, settings).as_string()
    assert 'Content-Type: text/calendar; method="CANCEL"' in mime or "method=CANCEL" in mime


async def test_attachment_made_by_a_registered_maker_at_build_time(settings):
    from core.mail.outbox import attachment_bytes, attachment_maker

    calls: list[str] = []

    def shout(source: str) -> bytes:
        calls.append(source)
        return source.upper().encode()

    attachment_maker.connect(shout, key="test_shout")
    try:
        message = await queue(
            settings,
            attachments=[
                {
                    "filename": "cri.txt",
                    "content_type": "text/plain",
                    "maker": "test_shout",
                    "source": "bonjour",
                }
            ],
        )
        stored = message.attachments[0]
        assert stored["maker"] == "test_shout" and "data" not in stored
        assert calls == []  # nothing drawn while queuing
        raw = mime_bytes(build_mime(message, settings))
        parsed = message_from_bytes(raw, policy=default_policy)
        (part,) = [p for p in parsed.walk() if p.get_filename() == "cri.txt"]
        assert part.get_content() == "BONJOUR"
        assert attachment_bytes(stored) == b"BONJOUR"
        with pytest.raises(ValidationFailed):
            await queue(
                settings,
                key="k2",
                attachments=[{"filename": "x", "maker": "inconnu", "source": "x"}],
            )
    finally:
        attachment_maker.disconnect(key="test_shout")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Votre inscription",
        "a" * 68,  # "Subject: " + 68 = 78: the longest line written as is
        "a" * 69,  # one more: folded by compat32
        "mots " * 20,
        "tab\there  and  double  spaces ",
        "=?utf-8?b?w4lsb2RpZQ==?= Gagnon <elodie@exemple.qc.ca>",
        "fin de ligne\n",
        "retour\r\nInjected: oui",
        "Élodie",
        "\x00\x1b",
    ],
)
def test_wire_policy_writes_headers_exactly_as_compat32(value):
    from email.policy import compat32

    from core.mail.outbox import _WIRE_POLICY

    def folded(policy):
        try:
            return policy.fold_binary("Subject", value)
        except Exception as exc:  # noqa: BLE001 - an embedded header is refused by both
            return repr(exc)

    assert folded(_WIRE_POLICY) == folded(compat32.clone(linesep="\r\n", max_line_length=78))
