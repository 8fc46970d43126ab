"""Unsubscribe (RFC 8058 one-click and the confirmation page), the preferences page and
the mailto: each effective at once and written to the consent ledger with its source."""

# ruff: noqa: F811 - the SMTP fixtures come from tests.mail
from __future__ import annotations

from email.message import EmailMessage

import pytest

from campaigns import preferences
from core.mail.outbox import queue_mail
from core.mail.worker import MailWorker
from core.models import AuditEntry
from people.consents import has_consent
from people.models import Consent, ConsentPurpose, Person
from tests.conftest import csrf_from
from tests.mail import mail_settings, smtp_server  # noqa: F401


async def subscriber(n: int = 1, *purposes: ConsentPurpose) -> Person:
    person = await Person.create(
        first_name=f"Prénom{n}",
        last_name=f"Nom{n}",
        email=f"personne{n}@exemple.qc.ca",
        email_key=f"personne{n}@exemple.qc.ca",
    )
    for purpose in purposes or (ConsentPurpose.NEWSLETTER, ConsentPurpose.EVENT_COMMUNICATIONS):
        await Consent.create(
            person=person, purpose=purpose, granted=True, source="import", wording="oui"
        )
    return person


def path(url: str) -> str:
    return url.removeprefix("http://testserver")


def tampered(url: str) -> list[str]:
    """The URL with one character of its token changed, at several places."""
    head, token = url.rsplit("/", 1)
    out = []
    for i in (0, len(token) // 2, len(token) - 1):
        swap = "B" if token[i] != "B" else "C"
        if token[i].isdigit():
            swap = "9" if token[i] != "9" else "8"
        out.append(f"{head}/{token[:i]}{swap}{token[i + 1 :]}")
    return out


async def test_one_click_post_unsubscribes_at_once_and_the_ledger_shows_it(client, settings):
    person = await subscriber()
    url = preferences.unsubscribe_url(settings, person.id, "newsletter")
    assert url.startswith("http://testserver/unsubscribe/")

    response = await client.post(path(url), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert response.content == b""
    assert not await has_consent(person.id, ConsentPurpose.NEWSLETTER)
    assert await has_consent(person.id, ConsentPurpose.EVENT_COMMUNICATIONS)  # untouched
    latest = await Consent.filter(person_id=person.id).order_by("-id").first()
    assert (latest.purpose, latest.granted, latest.source) == ("newsletter", False, "unsubscribe")
    assert await AuditEntry.filter(action="consent.withdrawn").count() == 1

    again = await client.post(path(url), data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert await Consent.filter(person_id=person.id, granted=False).count() == 1  # idempotent


async def test_one_click_works_multipart_and_without_any_session(client, settings):
    person = await subscriber()
    url = preferences.unsubscribe_url(settings, person.id, "event_communications")
    response = await client.post(path(url), files={"List-Unsubscribe": (None, "One-Click")})
    assert response.status_code == 200
    assert not await has_consent(person.id, ConsentPurpose.EVENT_COMMUNICATIONS)


async def test_a_token_with_one_character_changed_is_a_404(client, settings):
    person = await subscriber()
    for bad in tampered(preferences.unsubscribe_url(settings, person.id, "newsletter")):
        got = await client.post(path(bad), data={"List-Unsubscribe": "One-Click"})
        assert got.status_code == 404, bad
        assert (await client.get(path(bad))).status_code == 404, bad
    page = await client.get(path(preferences.preferences_url(settings, person.id)))
    for bad in tampered(preferences.preferences_url(settings, person.id)):
        assert (await client.get(path(bad))).status_code == 404, bad
        got = await client.post(
            path(bad), data={"csrf_token": csrf_from(page.text), "purpose": "jps_news"}
        )
        assert got.status_code == 404, bad
    # a preferences token is not an unsubscribe token, nor the reverse
    pref = preferences.preferences_url(settings, person.id).rsplit("/", 1)[1]
    assert (await client.get(f"/unsubscribe/{pref}")).status_code == 404
    assert await has_consent(person.id, ConsentPurpose.NEWSLETTER)
    assert await Consent.filter(granted=False).count() == 0


async def test_get_shows_a_confirmation_and_changes_nothing_until_the_button(client, settings):
    person = await subscriber()
    url = path(preferences.unsubscribe_url(settings, person.id, "newsletter"))
    page = await client.get(url)
    assert page.status_code == 200
    assert "Me désabonner" in page.text
    assert await has_consent(person.id, ConsentPurpose.NEWSLETTER)

    forged = await client.post(url, data={"csrf_token": "faux"})
    assert forged.status_code == 403
    assert await has_consent(person.id, ConsentPurpose.NEWSLETTER)

    done = await client.post(url, data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 200
    assert "C'est fait" in done.text
    assert "/preferences/" in done.text
    assert not await has_consent(person.id, ConsentPurpose.NEWSLETTER)


async def test_preferences_page_turns_each_purpose_on_or_off(client, settings):
    person = await subscriber(1, ConsentPurpose.NEWSLETTER)
    url = path(preferences.preferences_url(settings, person.id))
    page = await client.get(url)
    assert page.status_code == 200
    for purpose in ("newsletter", "event_communications", "jps_news"):
        assert f'value="{purpose}"' in page.text
    assert 'value="newsletter" checked' in page.text

    saved = await client.post(
        url,
        data={"csrf_token": csrf_from(page.text), "purpose": ["jps_news", "event_communications"]},
    )
    assert saved.status_code == 200
    assert not await has_consent(person.id, ConsentPurpose.NEWSLETTER)
    assert await has_consent(person.id, ConsentPurpose.JPS_NEWS)
    assert await has_consent(person.id, ConsentPurpose.EVENT_COMMUNICATIONS)
    entries = await Consent.filter(person_id=person.id, source="preferences").order_by("id")
    assert sorted((e.purpose, e.granted) for e in entries) == [
        ("event_communications", True),
        ("jps_news", True),
        ("newsletter", False),
    ]
    assert all(e.wording for e in entries)


async def test_an_erased_person_has_no_page(client, settings):
    person = await subscriber()
    url = path(preferences.preferences_url(settings, person.id))
    await Person.filter(id=person.id).update(erased_at=person.created_at, email=None)
    assert (await client.get(url)).status_code == 404


async def test_public_writes_are_rate_limited(client, settings, app):
    app.state.limiter.enabled = True
    person = await subscriber()
    url = path(preferences.unsubscribe_url(settings, person.id, "newsletter"))
    codes = [
        (await client.post(url, data={"List-Unsubscribe": "One-Click"})).status_code
        for _ in range(125)
    ]
    assert codes.count(429) >= 5


async def test_the_mailto_unsubscribes_too(settings):
    person = await subscriber()
    mailto = preferences.unsubscribe_mailto(settings, person.id, "newsletter")
    assert mailto.startswith("mailto:unsubscribe@")
    message = EmailMessage()
    message["From"] = "personne1@exemple.qc.ca"
    message["To"] = mailto.removeprefix("mailto:").split("?")[0]
    from urllib.parse import unquote

    message["Subject"] = "Re: " + unquote(mailto.split("subject=")[1])
    target = await preferences.unsubscribe_by_mail(settings, bytes(message))
    assert target is not None and target.person_id == person.id
    assert not await has_consent(person.id, ConsentPurpose.NEWSLETTER)
    latest = await Consent.filter(person_id=person.id).order_by("-id").first()
    assert latest.source == "unsubscribe_mail"

    forged = EmailMessage()
    forged["Subject"] = "unsubscribe " + mailto.split("%20")[1][:-1] + "A"
    assert await preferences.unsubscribe_by_mail(settings, bytes(forged)) in (None, target)


async def test_bulk_messages_carry_both_list_unsubscribe_entries(mail_settings, smtp_server):
    person = await subscriber()
    await queue_mail(
        to_address=person.email,
        to_name="Prénom1 Nom1",
        template="test",
        context={
            "queued_at": person.created_at,
            "smtp_configured": True,
            "unsubscribe_url": preferences.unsubscribe_url(mail_settings, person.id, "newsletter"),
            "unsubscribe_mailto": preferences.unsubscribe_mailto(
                mail_settings, person.id, "newsletter"
            ),
            "preferences_url": preferences.preferences_url(mail_settings, person.id),
        },
        category="bulk",
        dedupe_key="bulk-test:1",
        settings=mail_settings,
    )
    worker = MailWorker(mail_settings)
    try:
        while await worker.run_once():
            pass
    finally:
        await worker.close()
    (received,) = smtp_server.sink.received
    header = str(received.message["List-Unsubscribe"])
    https, mailto = (part.strip().strip("<>") for part in header.split(","))
    assert https == preferences.unsubscribe_url(mail_settings, person.id, "newsletter")
    assert mailto.startswith("mailto:unsubscribe@")
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_tokens_are_personal_and_bound_to_their_purpose(settings):
    a = preferences.unsubscribe_token(settings, 1, "newsletter")
    b = preferences.unsubscribe_token(settings, 2, "newsletter")
    c = preferences.unsubscribe_token(settings, 1, "jps_news")
    assert len({a, b, c}) == 3
    forged = a.replace("1.newsletter.", "1.jps_news.")
    with pytest.raises(Exception) as caught:
        preferences.verify_unsubscribe_token(settings, forged)
    assert caught.value.__class__.__name__ == "NotFound"
    with pytest.raises(ValueError):
        preferences.unsubscribe_token(settings, 1, "photos")  # not a mailing purpose


def test_the_unsubscribe_mail_command_applies_a_message_piped_by_the_mail_server(tmp_path):
    """`rassembleur unsubscribe-mail` as a mail server runs it: a real process, the
    message on stdin, its own database."""
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path
    from urllib.parse import unquote

    from tests.conftest import make_settings

    root = Path(__file__).resolve().parents[2]
    secret = "secret-du-serveur-de-courriel-" + "y" * 20
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SMTP_URL", "ENV"}}
    env.update(
        DATABASE_URL=f"sqlite://{tmp_path}/mail.sqlite3",
        VAR_DIR=str(tmp_path / "var"),
        SECRET_KEY=secret,
    )

    def run(*args: str, stdin: bytes = b"") -> str:
        result = subprocess.run(
            [sys.executable, "-m", "cli", *args],
            input=stdin,
            capture_output=True,
            cwd=root,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()

    run("migrate")
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("first_name,last_name,email\nAude,Lavoie,aude@exemple.qc.ca\n")
    run("import-people", str(csv_file))
    mailto = preferences.unsubscribe_mailto(make_settings(secret_key=secret), 1, "newsletter")
    message = EmailMessage()
    message["From"] = "aude@exemple.qc.ca"
    message["To"] = mailto.removeprefix("mailto:").split("?")[0]
    message["Subject"] = unquote(mailto.split("subject=")[1])
    assert "désabonnée : newsletter" in run("unsubscribe-mail", stdin=bytes(message))
    forged = EmailMessage()
    forged["Subject"] = "unsubscribe 1.newsletter." + "A" * 24
    assert "rien n'est changé" in run("unsubscribe-mail", stdin=bytes(forged))

    with sqlite3.connect(tmp_path / "mail.sqlite3") as conn:
        rows = conn.execute("SELECT purpose, granted, source FROM people_consent").fetchall()
    assert rows == [("newsletter", 0, "unsubscribe_mail")]


async def test_a_post_that_is_not_one_click_nor_the_page_changes_nothing(client, settings):
    person = await subscriber()
    url = path(preferences.unsubscribe_url(settings, person.id, "newsletter"))
    for kwargs in (
        {"json": {"List-Unsubscribe": "One-Click"}},
        {"data": {"List-Unsubscribe": "Two-Clicks"}},
        {"content": b""},
    ):
        response = await client.post(url, **kwargs)
        assert 400 <= response.status_code < 500, kwargs
    assert await has_consent(person.id, ConsentPurpose.NEWSLETTER)


async def test_one_click_excludes_the_person_from_the_next_campaign(client, settings):
    """Acceptance: the one-click POST from a newsletter leaves the person out of the next
    newsletter's audience, counted as "unsubscribed"; the other subscriber stays."""
    from campaigns import audiences
    from campaigns.schemas import AudienceIn
    from core.auth import Principal

    leaving, staying = await subscriber(1), await subscriber(2)
    audience = await audiences.create_audience(Principal.system("tests"), AudienceIn(name="Tous"))
    before = await audiences.summarize(audience, "newsletter")
    assert (before.count, before.excluded["unsubscribed"]) == (2, 0)

    url = preferences.unsubscribe_url(settings, leaving.id, "newsletter")
    assert (await client.post(path(url), data={"List-Unsubscribe": "One-Click"})).status_code == 200

    after = await audiences.summarize(audience, "newsletter")
    assert (after.count, after.excluded["unsubscribed"]) == (1, 1)
    people = await audiences.recipients_query(audience, "newsletter").values_list("id", flat=True)
    assert list(people) == [staying.id]
