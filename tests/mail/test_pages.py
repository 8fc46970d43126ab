"""Back-office outbox pages: access rules, list, message view, sandboxed HTML, retry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from markupsafe import escape

from core.auth import Principal
from core.errors import Forbidden
from core.mail.outbox import queue_mail
from core.mail.retry import retry_dead_messages
from core.models import AuditEntry, MessageStatus, OutboundMessage, Role
from tests.conftest import login


async def queue(settings, key, **kw):
    values = {
        "to_address": f"{key}@exemple.qc.ca",
        "to_name": "Élodie Gagnon",
        "template": "test",
        "context": {"queued_at": datetime(2027, 2, 16, 14, tzinfo=UTC)},
        "dedupe_key": key,
        "settings": settings,
    }
    values.update(kw)
    return await queue_mail(**values)


async def test_anonymous_is_sent_to_login(client, settings):
    message = await queue(settings, "a")
    for url in ("/admin/outbox", f"/admin/outbox/{message.id}", f"/admin/outbox/{message.id}/html"):
        response = await client.get(url)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


async def test_checkin_role_is_refused(client, settings):
    message = await queue(settings, "a")
    await login(client, Role.CHECKIN)
    assert (await client.get("/admin/outbox")).status_code == 403
    assert (await client.get(f"/admin/outbox/{message.id}")).status_code == 403
    response = await client.post(f"/admin/outbox/{message.id}/retry", data={"x": "1"})
    assert response.status_code == 403


async def test_organizer_sees_list_with_counts_and_filter(client, settings):
    first = await queue(settings, "premier")
    second = await queue(settings, "second")
    await OutboundMessage.filter(id=second.id).update(
        status=MessageStatus.DEAD, last_error="451 4.3.0 Mailbox busy"
    )
    await login(client, Role.ORGANIZER)
    page = await client.get("/admin/outbox")
    assert page.status_code == 200
    assert "Boîte d'envoi" in page.text
    assert "premier@exemple.qc.ca" in page.text and "second@exemple.qc.ca" in page.text
    assert 'data-status-count="queued">1<' in page.text
    assert 'data-status-count="dead">1<' in page.text
    assert "SMTP_URL" in page.text  # no SMTP server configured in tests
    dead_only = await client.get("/admin/outbox?status=dead")
    assert "second@exemple.qc.ca" in dead_only.text
    assert "premier@exemple.qc.ca" not in dead_only.text
    assert f"/admin/outbox/{first.id}" not in dead_only.text
    searched = await client.get("/admin/outbox?q=premier")
    assert "premier@exemple.qc.ca" in searched.text and "second@" not in searched.text


async def test_list_is_paginated(client, settings):
    for i in range(55):
        await queue(settings, f"p{i:02d}")
    await login(client, Role.ORGANIZER)
    first = await client.get("/admin/outbox")
    assert first.text.count('<a href="/admin/outbox/') == 50
    assert 'rel="next"' in first.text
    second = await client.get("/admin/outbox?page=2")
    assert second.text.count('<a href="/admin/outbox/') == 5
    assert "p00@exemple.qc.ca" in second.text  # oldest last


async def test_message_page_and_sandboxed_html(client, settings):
    pdf = {"filename": "billet.pdf", "content_type": "application/pdf", "data": b"%PDF"}
    logo = {"filename": "logo.png", "content_type": "image/png", "data": b"PNG", "content_id": "l"}
    message = await queue(settings, "vue", attachments=[pdf, logo])
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/outbox/{message.id}")
    assert page.status_code == 200
    assert str(escape(message.subject)) in page.text
    assert f'src="/admin/outbox/{message.id}/html" sandbox=""' in page.text
    assert "Bonjour Élodie Gagnon," in page.text  # the text body
    assert "Message-ID" in page.text and str(escape(message.message_id)) in page.text
    assert "billet.pdf" in page.text and "logo.png" in page.text
    assert "Renvoyer" not in page.text  # only failed or dead messages can be retried
    html = await client.get(f"/admin/outbox/{message.id}/html")
    assert html.status_code == 200
    assert html.headers["content-security-policy"].startswith("sandbox;")
    assert "script-src" not in html.headers["content-security-policy"]
    assert html.headers["x-frame-options"] == "SAMEORIGIN"
    assert settings.mail_sender_address in html.text
    download = await client.get(f"/admin/outbox/{message.id}/attachments/0")
    assert download.content == b"%PDF"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert (await client.get(f"/admin/outbox/{message.id}/attachments/9")).status_code == 404
    assert (await client.get("/admin/outbox/999999")).status_code == 404


async def test_retry_dead_message_is_audited(client, settings):
    message = await queue(settings, "mort")
    await OutboundMessage.filter(id=message.id).update(
        status=MessageStatus.DEAD, attempts=8, last_error="451 4.3.0 Mailbox busy"
    )
    user = await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/outbox/{message.id}")
    assert "Renvoyer ce message" in page.text
    response = await client.post(f"/admin/outbox/{message.id}/retry", data={"x": "1"})
    assert response.status_code == 303
    await message.refresh_from_db()
    assert message.status == MessageStatus.QUEUED
    assert message.attempts == 0
    assert message.next_attempt_at <= datetime.now(UTC)
    entry = await AuditEntry.get(action="outbox.retry")
    assert entry.actor_id == user.id
    assert entry.target_id == str(message.id)
    assert entry.details["previous_status"] == "dead"
    follow = await client.get(response.headers["location"])
    assert str(escape("Le message est remis dans la file d'envoi.")) in follow.text


async def test_retry_of_a_sent_message_is_refused(client, settings):
    message = await queue(settings, "envoye")
    await OutboundMessage.filter(id=message.id).update(status=MessageStatus.SENT, attempts=1)
    await login(client, Role.ORGANIZER)
    response = await client.post(f"/admin/outbox/{message.id}/retry", data={"x": "1"})
    assert response.status_code == 303
    await message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 1
    assert await AuditEntry.filter(action="outbox.retry").count() == 0
    follow = await client.get(response.headers["location"])
    assert "Seuls les messages refusés ou abandonnés peuvent être renvoyés." in follow.text


async def test_retry_without_csrf_is_refused(client, settings):
    message = await queue(settings, "csrf")
    await OutboundMessage.filter(id=message.id).update(status=MessageStatus.FAILED)
    await login(client, Role.ORGANIZER)
    del client.headers["x-csrf-token"]
    response = await client.post(f"/admin/outbox/{message.id}/retry", data={"x": "1"})
    assert response.status_code == 403
    await message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert await AuditEntry.filter(action="outbox.retry").count() == 0


async def test_message_page_shows_the_headers_heading_once(client, settings):
    message = await queue(settings, "en-tetes")
    await login(client, Role.ORGANIZER)
    page = await client.get(f"/admin/outbox/{message.id}")
    assert page.status_code == 200
    assert page.text.count("En-têtes") == 1
    assert "Message-ID" in page.text


async def test_retry_all_dead_requeues_every_dead_message_once_audited(client, settings):
    dead = [await queue(settings, f"mort{i}") for i in range(3)]
    refused = await queue(settings, "refuse")
    sent = await queue(settings, "parti")
    await OutboundMessage.filter(id__in=[m.id for m in dead]).update(
        status=MessageStatus.DEAD, attempts=8, last_error="SMTPConnectError: refused"
    )
    await OutboundMessage.filter(id=refused.id).update(status=MessageStatus.FAILED, attempts=1)
    await OutboundMessage.filter(id=sent.id).update(status=MessageStatus.SENT, attempts=1)
    user = await login(client, Role.ORGANIZER)
    page = await client.get("/admin/outbox")
    assert 'action="/admin/outbox/retry-dead"' in page.text
    assert "Renvoyer les 3 messages abandonnés" in page.text
    response = await client.post("/admin/outbox/retry-dead", data={"x": "1"})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/outbox"
    for message in dead:
        await message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED
        assert message.attempts == 0
        assert message.next_attempt_at <= datetime.now(UTC)
    await refused.refresh_from_db()
    await sent.refresh_from_db()
    assert refused.status == MessageStatus.FAILED  # refused for good: retried one by one
    assert sent.status == MessageStatus.SENT
    entry = await AuditEntry.get(action="outbox.retry_dead")
    assert entry.actor_id == user.id and entry.details == {"count": 3}
    follow = await client.get("/admin/outbox")
    assert str(escape("3 messages abandonnés sont remis dans la file d'envoi.")) in follow.text
    assert 'action="/admin/outbox/retry-dead"' not in follow.text  # none left
    again = await client.post("/admin/outbox/retry-dead", data={"x": "1"})
    assert again.status_code == 303
    assert await AuditEntry.filter(action="outbox.retry_dead").count() == 1
    follow = await client.get("/admin/outbox")
    assert str(escape("Aucun message abandonné à renvoyer.")) in follow.text


async def test_retry_all_dead_needs_csrf_and_the_permission(client, settings):
    message = await queue(settings, "mort")
    await OutboundMessage.filter(id=message.id).update(status=MessageStatus.DEAD, attempts=8)
    await login(client, Role.CHECKIN)
    assert (await client.post("/admin/outbox/retry-dead", data={"x": "1"})).status_code == 403
    client.cookies.clear()
    await login(client, Role.ORGANIZER)
    del client.headers["x-csrf-token"]
    assert (await client.post("/admin/outbox/retry-dead", data={"x": "1"})).status_code == 403
    await message.refresh_from_db()
    assert message.status == MessageStatus.DEAD
    assert await AuditEntry.filter(action="outbox.retry_dead").count() == 0


async def test_retry_all_dead_checks_the_permission_in_the_service(settings):
    message = await queue(settings, "mort")
    await OutboundMessage.filter(id=message.id).update(status=MessageStatus.DEAD)
    volunteer = Principal(user_id=None, email="b@exemple.qc.ca", role=Role.CHECKIN, via="session")
    with pytest.raises(Forbidden):
        await retry_dead_messages(volunteer)
    await message.refresh_from_db()
    assert message.status == MessageStatus.DEAD
    organizer = Principal(user_id=None, email="o@exemple.qc.ca", role=Role.ORGANIZER, via="session")
    assert await retry_dead_messages(organizer) == 1
